//! CNN+FC (DeepSEA/Basset-like) over one-hot sequence.
//!
//! The first convolution (kernel 25) and its max-pool (kernel 5, stride 4)
//! are the learned tokenizer; further convolutions follow, each with ReLU
//! (the paper's with stride 4 and "same" padding), then flatten, the FC
//! representation layer (the paper's 4096 → 512), dropout and the task's
//! head ([`HeadKind`]). With `global_pool` the last convolution is
//! max-pooled over all positions instead of flattened: each channel says
//! whether its motif occurs anywhere, which a few hundred examples can teach
//! where a position-wise flatten would be memorized.

use super::linear::{linear, Linear};
use super::task_head::{paper_head_hidden, HeadKind, TaskHead};
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
    /// Stride of each convolution; empty for 1 everywhere.
    #[serde(default)]
    pub strides: Vec<usize>,
    /// `valid` (no padding) or `same` (⌈length / stride⌉ positions out).
    #[serde(default)]
    pub padding: ConvPadding,
    pub pool_kernel: usize,
    pub pool_stride: usize,
    pub dropout: f32,
    pub outputs: usize,
    /// Max over positions before the head instead of flattening.
    #[serde(default)]
    pub global_pool: bool,
    /// Width of the linear layer between the flattened convolutions and
    /// the head (the representation a downstream task embeds); 0 for none.
    #[serde(default)]
    pub fc: usize,
    #[serde(default)]
    pub head: HeadKind,
    /// Width of an `mlp` head's dense layer.
    #[serde(default = "paper_head_hidden")]
    pub head_hidden: usize,
}

/// How a convolution pads its input.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConvPadding {
    #[default]
    Valid,
    Same,
}

impl CnnConfig {
    /// The paper's code (`config/default_convolution_config.json`): 4→128
    /// (k 25), max-pool 5/4, 128→256 (k 11), 256→512 (k 7), 512→1024 (k 5),
    /// the last three at stride 4 and every one "same"-padded, so 1024 bp
    /// flatten to 4 × 1024; then a 512-wide FC layer, dropout 0.3 and the
    /// MLP head (FC 2048, GELU, FC).
    pub fn paper(length: usize, outputs: usize) -> Self {
        CnnConfig {
            length,
            channels: vec![128, 256, 512, 1024],
            kernels: vec![25, 11, 7, 5],
            strides: vec![1, 4, 4, 4],
            padding: ConvPadding::Same,
            pool_kernel: 5,
            pool_stride: 4,
            dropout: 0.3,
            outputs,
            global_pool: false,
            fc: 512,
            head: HeadKind::Mlp,
            head_hidden: paper_head_hidden(),
        }
    }

    /// Convolutions of `channels` and `kernels` at stride 1, unpadded, no
    /// pool, no FC layer and a linear head: the base the small models of
    /// tests and benches override.
    pub fn plain(length: usize, channels: Vec<usize>, kernels: Vec<usize>, outputs: usize) -> Self {
        CnnConfig {
            length,
            channels,
            kernels,
            strides: vec![],
            padding: ConvPadding::Valid,
            pool_kernel: 1,
            pool_stride: 1,
            dropout: 0.0,
            outputs,
            global_pool: false,
            fc: 0,
            head: HeadKind::Linear,
            head_hidden: paper_head_hidden(),
        }
    }

    /// The stride of convolution `i`.
    fn stride(&self, i: usize) -> usize {
        self.strides.get(i).copied().unwrap_or(1).max(1)
    }

    /// Positions out of convolution `i` over `len` positions, or None when
    /// they are too few for its kernel.
    fn conv_length(&self, i: usize, len: usize) -> Option<usize> {
        let stride = self.stride(i);
        match self.padding {
            ConvPadding::Same => (len > 0).then(|| len.div_ceil(stride)),
            ConvPadding::Valid => Some(len.checked_sub(self.kernels[i])? / stride + 1),
        }
    }

    /// Length after the convolutions and the pool, or None when the input
    /// is too short for them.
    pub fn flat_length(&self) -> Option<usize> {
        let mut len = self.conv_length(0, self.length)?;
        len = len.checked_sub(self.pool_kernel)? / self.pool_stride + 1;
        for i in 1..self.kernels.len() {
            len = self.conv_length(i, len)?;
        }
        Some(len)
    }
}

#[derive(Debug)]
pub struct CnnFc {
    convs: Vec<Conv1d>,
    fc: Option<Linear>,
    dropout: Dropout,
    head: TaskHead,
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
        if !cfg.strides.is_empty() && cfg.strides.len() != cfg.kernels.len() {
            candle_core::bail!(
                "cnn config: {} strides for {} kernels; give one per convolution, or none",
                cfg.strides.len(),
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
            let mut conv = Conv1d::new(vb.pp(format!("conv{i}")), inputs, out, k)?
                .with_relu()
                .strided(cfg.stride(i));
            if cfg.padding == ConvPadding::Same {
                conv = conv.padded(((k - 1) / 2, k / 2));
            }
            convs.push(conv);
            inputs = out;
        }
        let mut features = if cfg.global_pool {
            inputs
        } else {
            inputs * flat
        };
        let fc = if cfg.fc > 0 {
            let layer = linear(features, cfg.fc, vb.pp("fc"))?;
            features = cfg.fc;
            Some(layer)
        } else {
            None
        };
        let head = TaskHead::new(
            vb.pp("head"),
            cfg.head,
            features,
            cfg.head_hidden,
            cfg.outputs,
            linear,
        )?;
        Ok(CnnFc {
            convs,
            fc,
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
    /// length)`, `(batch, channels)` with `global_pool`, or `(batch, fc)`
    /// after the FC layer.
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
            h = crate::ops::max_pool1d(&h, positions, positions)?.squeeze(D::Minus1)?;
        } else {
            h = h.flatten_from(D::Minus2)?;
        }
        match &self.fc {
            Some(fc) => fc.forward(&h),
            None => Ok(h),
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
            // Overlapping, as the paper's 5/4: candle's own pool has no gradient for it.
            pool_kernel: 5,
            pool_stride: 4,
            dropout: 0.1,
            ..CnnConfig::plain(60, vec![8, 8], vec![9, 3], 2)
        }
    }

    #[test]
    fn shapes_follow_the_config_and_bad_configs_are_errors() {
        let map = VarMap::new();
        let vb = VarBuilder::from_varmap(&map, DType::F32, &Device::Cpu);
        let model = CnnFc::new(vb, &tiny()).unwrap();
        let x = Tensor::zeros((3, 4, 60), DType::F32, &Device::Cpu).unwrap();
        assert_eq!(model.forward(&x, false).unwrap().dims(), &[3, 2]);
        // Unpadded at stride 1: 1000 - 24 = 976; pool (976 - 5) / 4 + 1 =
        // 243; then - 10, - 6, - 4.
        let valid = CnnConfig {
            strides: vec![],
            padding: ConvPadding::Valid,
            ..CnnConfig::paper(1000, 1)
        };
        assert_eq!(valid.flat_length(), Some(223));
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
    fn the_papers_shape_strides_same_pads_and_learns_a_planted_motif_through_its_mlp_head() {
        // 1024 bp flatten to 4 positions of 1024 channels (the paper's
        // flatten_dim of 4096), 1000 bp to 4 as well.
        assert_eq!(CnnConfig::paper(1024, 1).flat_length(), Some(4));
        assert_eq!(CnnConfig::paper(1000, 1).flat_length(), Some(4));
        let cfg = CnnConfig {
            channels: vec![16, 16],
            kernels: vec![7, 3],
            strides: vec![1, 2],
            dropout: 0.1,
            fc: 16,
            head_hidden: 16,
            ..CnnConfig::paper(60, 1)
        };
        // 60 → pool (60 − 5) / 4 + 1 = 14 → ⌈14 / 2⌉ = 7.
        assert_eq!(cfg.flat_length(), Some(7));
        let aurocs = one_hot_aurocs(2e-3, 8, |vb| {
            let model = CnnFc::new(vb, &cfg).unwrap();
            assert_eq!(
                model
                    .embed(
                        &Tensor::zeros((2, 4, 60), DType::F32, &Device::Cpu).unwrap(),
                        false
                    )
                    .unwrap()
                    .dims(),
                &[2, 16],
                "the FC layer is the representation"
            );
            move |x: &Tensor, train| model.forward(x, train).unwrap()
        });
        assert!(
            aurocs.last().is_some_and(|a| *a > 0.9),
            "held-out AUROC of each start {aurocs:?}"
        );
        let bad = CnnConfig {
            strides: vec![1],
            ..cfg
        };
        let vb = VarBuilder::from_varmap(&VarMap::new(), DType::F32, &Device::Cpu);
        let err = CnnFc::new(vb, &bad).unwrap_err().to_string();
        assert!(err.contains("1 strides for 2 kernels"), "{err}");
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
