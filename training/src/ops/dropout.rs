//! Dropout whose mask is a hash of a seed and each element's place: one
//! pass forward, one backward, no mask kept in between. candle's `Dropout`
//! draws a random tensor, compares, casts and multiplies twice, each a
//! tensor of its own.

use std::cell::RefCell;

use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Tensor};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::kernels::{
    by_dtype, on_cpu_kernel, output, slice, storage_dtype, tensor, with_data, Real,
};

thread_local! {
    /// The seeds of this thread's dropout masks: a training loop runs its
    /// forward passes on one thread, so a seeded run draws one sequence of
    /// masks (as `torch.manual_seed` seeds PyTorch's).
    static MASK_SEEDS: RefCell<ChaCha8Rng> = RefCell::new(ChaCha8Rng::from_os_rng());
}

/// Starts this thread's dropout masks from `seed`: the masks of a run's
/// steps follow from its seed (on the CPU kernels; the composed path of
/// other devices and dtypes draws candle's own).
pub fn seed_dropout(seed: u64) {
    MASK_SEEDS.with(|seeds| *seeds.borrow_mut() = crate::seeded::stream(seed, "dropout"));
}

/// Which elements a dropout keeps: element `i` is zeroed with probability
/// `rate`, by a hash of `seed` and `i`, so a backward pass redraws the
/// same mask.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DropoutMask {
    pub rate: f32,
    pub seed: u64,
}

impl DropoutMask {
    /// A fresh mask, for one training step, from this thread's stream of
    /// masks ([`seed_dropout`]); None for a rate of 0.
    pub fn draw(rate: f32) -> Option<Self> {
        (rate > 0.0).then(|| DropoutMask {
            rate,
            seed: MASK_SEEDS.with(|seeds| seeds.borrow_mut().random()),
        })
    }

    /// One 64-bit hash decides four elements, 16 bits each (the rate is
    /// kept to 1/65536).
    #[inline]
    fn hash(&self, block: u64) -> u64 {
        // splitmix64's finalizer.
        let mut z = self.seed ^ block.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    #[inline]
    fn threshold(&self) -> u64 {
        (self.rate as f64 * 65536.0).round() as u64
    }

    #[cfg(test)]
    pub(crate) fn keeps(&self, index: u64) -> bool {
        (self.hash(index / 4) >> (16 * (index % 4))) & 0xffff >= self.threshold()
    }

    /// `x` masked and scaled by 1 / (1 − rate), in place; `first` is the
    /// index of `x[0]` in the whole tensor.
    pub(crate) fn apply<T: Real>(&self, x: &mut [T], first: usize) {
        let keep_scale = T::of(1.0 / (1.0 - self.rate as f64));
        let threshold = self.threshold();
        let factor = |bits: u64| {
            if bits & 0xffff >= threshold {
                keep_scale
            } else {
                T::ZERO
            }
        };
        // Up to the next multiple of four, then four elements a hash.
        let head = ((4 - first % 4) % 4).min(x.len());
        let (start, rest) = x.split_at_mut(head);
        for (i, v) in start.iter_mut().enumerate() {
            let index = first + i;
            *v *= factor(self.hash(index as u64 / 4) >> (16 * (index % 4)));
        }
        let block0 = (first + head) as u64 / 4;
        let tail_block = block0 + (rest.len() / 4) as u64;
        let mut blocks = rest.chunks_exact_mut(4);
        for (b, block) in (&mut blocks).enumerate() {
            let bits = self.hash(block0 + b as u64);
            for (lane, v) in block.iter_mut().enumerate() {
                *v *= factor(bits >> (16 * lane));
            }
        }
        let bits = self.hash(tail_block);
        for (lane, v) in blocks.into_remainder().iter_mut().enumerate() {
            *v *= factor(bits >> (16 * lane));
        }
    }

    fn masked<T: Real>(&self, x: &[T]) -> Vec<T> {
        // Chunks small enough to stay in cache between the copy and the mask.
        const CHUNK: usize = 1 << 14;
        let mut y = vec![T::ZERO; x.len()];
        y.par_chunks_mut(CHUNK)
            .zip(x.par_chunks(CHUNK))
            .enumerate()
            .for_each(|(i, (out, x))| {
                out.copy_from_slice(x);
                self.apply(out, i * CHUNK);
            });
        y
    }
}

struct Dropout(DropoutMask);

impl CustomOp1 for Dropout {
    fn name(&self) -> &'static str {
        "dropout"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        super::profile::timed(self.name(), false, || {
            let shape = layout.shape().clone();
            Ok(by_dtype!(storage_dtype(storage), T => output(
                self.0.masked(slice::<T>(self.name(), storage, layout)?),
                shape,
            )))
        })
    }

    fn bwd(&self, x: &Tensor, _y: &Tensor, dy: &Tensor) -> Result<Option<Tensor>> {
        super::profile::timed(self.name(), true, || {
            // The same mask and scale: dropout is linear in x.
            let dx = by_dtype!(x.dtype(), T => with_data::<T, _>(dy, |g| {
                tensor(self.0.masked(g), dy.shape().clone())
            }))?;
            Ok(Some(dx))
        })
    }
}

/// `x` with each element zeroed at `mask`'s rate and the rest scaled by
/// 1 / (1 − rate); `x` itself where `mask` is None.
pub fn dropout(x: &Tensor, mask: Option<DropoutMask>) -> Result<Tensor> {
    let Some(mask) = mask else {
        return Ok(x.clone());
    };
    if on_cpu_kernel(&[x]) {
        x.contiguous()?.apply_op1(Dropout(mask))
    } else {
        candle_nn::ops::dropout(x, mask.rate)
    }
}

/// A dropout layer: a fresh mask each training call, none in evaluation.
#[derive(Debug, Clone, Copy)]
pub struct DropoutLayer {
    rate: f32,
}

impl DropoutLayer {
    pub fn new(rate: f32) -> Self {
        DropoutLayer { rate }
    }

    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        dropout(
            x,
            if train {
                DropoutMask::draw(self.rate)
            } else {
                None
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use candle_core::Device;

    use super::*;
    use crate::ops::finite_difference::check_gradients;

    #[test]
    fn keeps_about_one_minus_its_rate_scaled_and_gradients_follow_the_mask() {
        let mask = DropoutMask {
            rate: 0.25,
            seed: 42,
        };
        let kept = (0..100_000u64).filter(|i| mask.keeps(*i)).count();
        assert!((74_000..76_000).contains(&kept), "{kept}");
        let x = Tensor::ones(10_000, candle_core::DType::F32, &Device::Cpu).unwrap();
        let y: Vec<f32> = dropout(&x, Some(mask)).unwrap().to_vec1().unwrap();
        assert!(y
            .iter()
            .all(|v| *v == 0.0 || (*v - 1.0 / 0.75).abs() < 1e-6));
        // Any start and length mask as element-wise `keeps` says.
        let mut ones = vec![1f32; 23];
        mask.apply(&mut ones, 7);
        for (i, v) in ones.iter().enumerate() {
            assert_eq!(*v != 0.0, mask.keeps(7 + i as u64), "element {i}");
        }
        let x = Tensor::randn(0f64, 1., (4, 9), &Device::Cpu).unwrap();
        check_gradients(&[x], |v| dropout(&v[0], Some(mask)));
        assert_eq!(
            DropoutLayer::new(0.5)
                .forward(
                    &Tensor::ones(5, candle_core::DType::F32, &Device::Cpu).unwrap(),
                    false
                )
                .unwrap()
                .to_vec1::<f32>()
                .unwrap(),
            vec![1.0; 5]
        );
    }
}
