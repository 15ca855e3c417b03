//! CNN+FC (DeepSEA/Basset-like) over one-hot sequence.
//!
//! The first convolution (kernel 25) and its max-pool (kernel 5, stride 4)
//! are the learned tokenizer; further convolutions follow, each with ReLU,
//! then flatten, dropout and one linear layer to the task's outputs.
//! With `global_pool` the last convolution is max-pooled over all positions
//! instead of flattened: each channel says whether its motif occurs anywhere,
//! which a few hundred examples can teach where a position-wise flatten
//! would be memorized.

use super::linear::{linear, Linear};
use candle_core::{DType, Module, Result, Tensor, D};
use candle_nn::VarBuilder;

use crate::ops::DropoutLayer as Dropout;

use super::conv::Conv1d;

/// Sizes of a [`CnnFc`]; [`CnnConfig::paper`] gives the benchmark's.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CnnConfig {
    /// Input length in bp.
    pub length: usize,
    /// Output channels of each convolution, the first one included.
    pub channels: Vec<usize>,
    /// Kernel of each convolution.
    pub kernels: Vec<usize>,
    pub pool_kernel: usize,
    pub pool_stride: usize,
    pub dropout: f32,
    pub outputs: usize,
    /// Max over positions before the head instead of flattening.
    #[serde(default)]
    pub global_pool: bool,
}

impl CnnConfig {
    /// The paper's code: 4→128 (k 25), max-pool 5/4, 128→256 (k 11),
    /// 256→512 (k 7), 512→1024 (k 5), flatten, dropout 0.3.
    pub fn paper(length: usize, outputs: usize) -> Self {
        CnnConfig {
            length,
            channels: vec![128, 256, 512, 1024],
            kernels: vec![25, 11, 7, 5],
            pool_kernel: 5,
            pool_stride: 4,
            dropout: 0.3,
            outputs,
            global_pool: false,
        }
    }

    /// Length after the convolutions and the pool, or None when the input
    /// is too short for them.
    pub fn flat_length(&self) -> Option<usize> {
        let mut len = self.length.checked_sub(self.kernels[0])? + 1;
        len = len.checked_sub(self.pool_kernel)? / self.pool_stride + 1;
        for k in &self.kernels[1..] {
            len = len.checked_sub(*k)? + 1;
        }
        Some(len)
    }
}

#[derive(Debug)]
pub struct CnnFc {
    convs: Vec<Conv1d>,
    dropout: Dropout,
    head: Linear,
    cfg: CnnConfig,
    /// The activations' dtype (the weights stay as built).
    compute: DType,
}

impl CnnFc {
    pub fn new(vb: VarBuilder, cfg: &CnnConfig) -> Result<Self> {
        if cfg.channels.is_empty() || cfg.channels.len() != cfg.kernels.len() {
            candle_core::bail!(
                "cnn config: {} channel counts for {} kernels; give one of each per convolution",
                cfg.channels.len(),
                cfg.kernels.len()
            );
        }
        let Some(flat) = cfg.flat_length() else {
            candle_core::bail!(
                "cnn config: input of {} bp is too short for kernels {:?} and pool {}",
                cfg.length,
                cfg.kernels,
                cfg.pool_kernel
            );
        };
        let mut convs = Vec::new();
        let mut inputs = 4;
        for (i, (&out, &k)) in cfg.channels.iter().zip(&cfg.kernels).enumerate() {
            convs.push(Conv1d::new(vb.pp(format!("conv{i}")), inputs, out, k)?.with_relu());
            inputs = out;
        }
        let features = if cfg.global_pool {
            inputs
        } else {
            inputs * flat
        };
        let head = linear(features, cfg.outputs, vb.pp("head"))?;
        Ok(CnnFc {
            convs,
            dropout: Dropout::new(cfg.dropout),
            head,
            cfg: cfg.clone(),
            compute: vb.dtype(),
        })
    }

    /// Runs the forward pass in `dtype` (bf16 over f32 weights).
    pub fn with_compute(mut self, dtype: DType) -> Self {
        self.compute = dtype;
        self
    }

    /// `(batch, 4, length)` one-hot in, `(batch, outputs)` logits out.
    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let h = self.embed(x, train)?;
        self.head.forward(&self.dropout.forward(&h, train)?)
    }

    /// The features before dropout and the head: `(batch, channels · flat
    /// length)`, or `(batch, channels)` with `global_pool`.
    pub fn embed(&self, x: &Tensor, _train: bool) -> Result<Tensor> {
        let mut h = self.convs[0].forward(&x.to_dtype(self.compute)?)?;
        h = crate::ops::max_pool1d(&h, self.cfg.pool_kernel, self.cfg.pool_stride)?;
        for conv in &self.convs[1..] {
            h = conv.forward(&h)?;
        }
        if self.cfg.global_pool {
            // One window over every position: the pool's kernel routes the
            // gradient to each channel's maximum in one pass, where candle's
            // `max` compares the whole activation to it again.
            let positions = h.dim(D::Minus1)?;
            crate::ops::max_pool1d(&h, positions, positions)?.squeeze(D::Minus1)
        } else {
            h.flatten_from(D::Minus2)
        }
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{DType, Device};
    use candle_nn::VarMap;

    use super::*;
    use crate::losses::bce_with_logits;
    use crate::models::planted::one_hot_aurocs;

    pub(crate) fn tiny() -> CnnConfig {
        CnnConfig {
            length: 60,
            channels: vec![8, 8],
            kernels: vec![9, 3],
            // Overlapping, as the paper's 5/4: candle's own pool has no gradient for it.
            pool_kernel: 5,
            pool_stride: 4,
            dropout: 0.1,
            outputs: 2,
            global_pool: false,
        }
    }

    #[test]
    fn shapes_follow_the_config_and_bad_configs_are_errors() {
        let map = VarMap::new();
        let vb = VarBuilder::from_varmap(&map, DType::F32, &Device::Cpu);
        let model = CnnFc::new(vb, &tiny()).unwrap();
        let x = Tensor::zeros((3, 4, 60), DType::F32, &Device::Cpu).unwrap();
        assert_eq!(model.forward(&x, false).unwrap().dims(), &[3, 2]);
        // 1000 - 24 = 976; pool (976 - 5) / 4 + 1 = 243; then - 10, - 6, - 4.
        assert_eq!(CnnConfig::paper(1000, 1).flat_length(), Some(223));
        let mut short = tiny();
        short.length = 10;
        let vb = VarBuilder::from_varmap(&VarMap::new(), DType::F32, &Device::Cpu);
        let err = CnnFc::new(vb, &short).unwrap_err().to_string();
        assert!(err.contains("too short"), "{err}");
    }

    #[test]
    fn every_parameter_gets_a_finite_nonzero_gradient() {
        let map = VarMap::new();
        let vb = VarBuilder::from_varmap(&map, DType::F32, &Device::Cpu);
        let model = CnnFc::new(vb, &tiny()).unwrap();
        let x = Tensor::rand(0f32, 1f32, (5, 4, 60), &Device::Cpu).unwrap();
        let y = Tensor::new(
            &[[1f32, 0.], [0., 1.], [1., 1.], [0., 0.], [1., 0.]],
            &Device::Cpu,
        )
        .unwrap();
        let loss = bce_with_logits(&model.forward(&x, true).unwrap(), &y).unwrap();
        let grads = loss.backward().unwrap();
        let vars = map.all_vars();
        assert_eq!(
            vars.len(),
            6,
            "two convolutions and the head, weights and biases"
        );
        for var in vars {
            let g = grads.get(&var).expect("a gradient for every parameter");
            let g: Vec<f32> = g.flatten_all().unwrap().to_vec1().unwrap();
            assert!(g.iter().all(|v| v.is_finite()));
            assert!(g.iter().any(|v| *v != 0.0), "{:?}", var.dims());
        }
    }

    #[test]
    fn a_tiny_cnn_learns_a_planted_motif_in_f32_and_in_bf16_over_f32_weights() {
        let mut cfg = tiny();
        cfg.outputs = 1;
        cfg.kernels = vec![7, 3];
        cfg.channels = vec![16, 8];
        for compute in [DType::F32, DType::BF16] {
            let aurocs = one_hot_aurocs(5e-3, 8, |vb| {
                let model = CnnFc::new(vb, &cfg).unwrap().with_compute(compute);
                move |x: &Tensor, train| {
                    let logits = model.forward(x, train).unwrap();
                    assert_eq!(logits.dtype(), compute);
                    logits.to_dtype(DType::F32).unwrap()
                }
            });
            assert!(
                aurocs.last().is_some_and(|a| *a > 0.9),
                "{compute:?}: held-out AUROC of each start {aurocs:?}"
            );
        }
    }
}
