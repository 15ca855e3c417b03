//! Seeded runs: the weights a model starts from, drawn from ChaCha streams
//! of our own rather than candle's unseeded device RNG.
//!
//! Each variable has its own stream, keyed by the run's seed and the
//! variable's name, so its start does not depend on the order the layers are
//! built in, and adding a layer leaves the others' starts as they were.
//! Values are drawn in f64 on the CPU and then cast and moved, so one seed
//! gives one start on every device.

use candle_core::{DType, Device, Result, Shape, Tensor, Var};
use candle_nn::init::{FanInOut, NormalOrUniform};
use candle_nn::var_builder::SimpleBackend;
use candle_nn::{Init, VarBuilder, VarMap};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A [`VarMap`] whose new variables are drawn from seeded streams.
struct SeededVarMap {
    map: VarMap,
    seed: u64,
}

/// A builder of `map`'s variables, each new one drawn from a stream of
/// `seed` and its name (a variable already in `map` is reused, as
/// candle's own builder does).
pub fn var_builder(map: &VarMap, seed: u64, dtype: DType, device: &Device) -> VarBuilder<'static> {
    let backend: Box<dyn SimpleBackend> = Box::new(SeededVarMap {
        map: map.clone(),
        seed,
    });
    VarBuilder::from_backend(backend, dtype, device.clone())
}

/// The stream of `name` in a run of `seed`.
pub fn stream(seed: u64, name: &str) -> ChaCha8Rng {
    // FNV-1a of the name, mixed with the seed.
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    for byte in name.bytes() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&hash.to_le_bytes());
    ChaCha8Rng::from_seed(key)
}

/// `count` values of `init` for a variable of `shape`.
fn draw(init: Init, shape: &Shape, rng: &mut ChaCha8Rng) -> Vec<f64> {
    let count = shape.elem_count();
    let uniform = |rng: &mut ChaCha8Rng, lo: f64, up: f64| -> Vec<f64> {
        (0..count)
            .map(|_| lo + (up - lo) * rng.random::<f64>())
            .collect()
    };
    let normal = |rng: &mut ChaCha8Rng, mean: f64, stdev: f64| -> Vec<f64> {
        (0..count)
            .map(|_| {
                // Box–Muller; 1 − u keeps the logarithm finite.
                let (u, v) = (1.0 - rng.random::<f64>(), rng.random::<f64>());
                mean + stdev * (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
            })
            .collect()
    };
    match init {
        Init::Const(value) => vec![value; count],
        Init::Uniform { lo, up } => uniform(rng, lo, up),
        Init::Randn { mean, stdev } => normal(rng, mean, stdev),
        Init::Kaiming {
            dist,
            fan,
            non_linearity,
        } => {
            let fan = match fan {
                FanInOut::FanIn => FanInOut::FanIn.for_shape(shape),
                FanInOut::FanOut => FanInOut::FanOut.for_shape(shape),
            };
            let stdev = non_linearity.gain() / (fan as f64).sqrt();
            match dist {
                NormalOrUniform::Uniform => {
                    let bound = 3f64.sqrt() * stdev;
                    uniform(rng, -bound, bound)
                }
                NormalOrUniform::Normal => normal(rng, 0.0, stdev),
            }
        }
    }
}

impl SimpleBackend for SeededVarMap {
    fn get(
        &self,
        shape: Shape,
        name: &str,
        init: Init,
        dtype: DType,
        device: &Device,
    ) -> Result<Tensor> {
        let mut vars = self.map.data().lock().expect("var map lock");
        if let Some(var) = vars.get(name) {
            if var.shape() != &shape {
                candle_core::bail!("shape mismatch on {name}: {shape:?} <> {:?}", var.shape());
            }
            return Ok(var.as_tensor().clone());
        }
        let values = draw(init, &shape, &mut stream(self.seed, name));
        let tensor = Tensor::from_vec(values, shape, &Device::Cpu)?
            .to_dtype(dtype)?
            .to_device(device)?;
        let var = Var::from_tensor(&tensor)?;
        let tensor = var.as_tensor().clone();
        vars.insert(name.to_string(), var);
        Ok(tensor)
    }

    fn get_unchecked(&self, name: &str, _dtype: DType, _device: &Device) -> Result<Tensor> {
        candle_core::bail!("{name}: a seeded variable needs its shape and init; use get")
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.map
            .data()
            .lock()
            .expect("var map lock")
            .contains_key(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(map: &VarMap, name: &str) -> Vec<f32> {
        map.data().lock().unwrap()[name]
            .as_tensor()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap()
    }

    #[test]
    fn one_seed_draws_one_start_and_another_seed_another() {
        let build = |seed: u64| {
            let map = VarMap::new();
            let vb = var_builder(&map, seed, DType::F32, &Device::Cpu);
            let normal = Init::Randn {
                mean: 0.0,
                stdev: 0.02,
            };
            vb.pp("a")
                .get_with_hints((64, 32), "weight", normal)
                .unwrap();
            vb.pp("b")
                .get_with_hints((64, 32), "weight", candle_nn::init::DEFAULT_KAIMING_NORMAL)
                .unwrap();
            vb.pp("c")
                .get_with_hints(100, "bias", Init::Uniform { lo: -0.5, up: 0.5 })
                .unwrap();
            map
        };
        let (one, again, other) = (build(1), build(1), build(2));
        for name in ["a.weight", "b.weight", "c.bias"] {
            assert_eq!(values(&one, name), values(&again, name), "{name}");
            assert_ne!(values(&one, name), values(&other, name), "{name}");
        }
        // Two variables of one shape and init in one run differ.
        let a = values(&one, "a.weight");
        assert_ne!(a, values(&one, "b.weight"));
        // The draws follow their inits.
        let mean = a.iter().sum::<f32>() / a.len() as f32;
        let sd = (a.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / a.len() as f32).sqrt();
        assert!(
            mean.abs() < 0.003 && (sd - 0.02).abs() < 0.002,
            "{mean} {sd}"
        );
        let kaiming_sd = 2f32.sqrt() / 32f32.sqrt();
        let b = values(&one, "b.weight");
        let sd = (b.iter().map(|v| v * v).sum::<f32>() / b.len() as f32).sqrt();
        assert!((sd - kaiming_sd).abs() < 0.03, "{sd} vs {kaiming_sd}");
        assert!(values(&one, "c.bias")
            .iter()
            .all(|v| (-0.5..0.5).contains(v)));
    }

    #[test]
    fn a_variable_already_in_the_map_is_reused() {
        let map = VarMap::new();
        let vb = var_builder(&map, 7, DType::F32, &Device::Cpu);
        let first = vb.get_with_hints(3, "w", Init::Const(2.0)).unwrap();
        let second = vb.get_with_hints(3, "w", Init::Const(5.0)).unwrap();
        assert_eq!(
            first.to_vec1::<f32>().unwrap(),
            second.to_vec1::<f32>().unwrap()
        );
        assert!(vb.get_with_hints(4, "w", Init::Const(2.0)).is_err());
    }
}
