//! CNN+LSTM (DanQ-like) over one-hot sequence: a convolution with ReLU and
//! max-pool finds motifs, a bidirectional LSTM reads their order, then
//! flatten (or a max over steps), a ReLU layer and the task's outputs.

use candle_core::{DType, Module, Result, Tensor, D};
use candle_nn::VarBuilder;

use crate::ops::DropoutLayer as Dropout;

use super::linear::{linear, Linear};

use super::conv::Conv1d;
use super::lstm::BiLstm;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CnnLstmConfig {
    /// Input length in bp.
    pub length: usize,
    pub channels: usize,
    pub kernel: usize,
    pub pool_kernel: usize,
    pub pool_stride: usize,
    /// Hidden size of each LSTM direction.
    pub lstm_hidden: usize,
    /// Width of the layer between the LSTM and the outputs.
    pub fc: usize,
    pub dropout: f32,
    pub outputs: usize,
    /// A max over the LSTM's steps instead of DanQ's flatten: a readout the
    /// size of one step, which a few hundred examples cannot memorize by
    /// position. Off by default: methylation, whose NRF1 sits at a set
    /// distance from the CpG, needs the positions the flatten keeps
    /// (`experiments/README.md` has both readouts' scores).
    #[serde(default)]
    pub global_pool: bool,
}

impl CnnLstmConfig {
    /// DanQ's sizes: 320 filters of 26, max-pool 13/13, BiLSTM 320,
    /// a 925-wide layer, dropout 0.2 after the pool and 0.5 after the LSTM
    /// (one rate here: 0.3).
    pub fn danq(length: usize, outputs: usize) -> Self {
        CnnLstmConfig {
            length,
            channels: 320,
            kernel: 26,
            pool_kernel: 13,
            pool_stride: 13,
            lstm_hidden: 320,
            fc: 925,
            dropout: 0.3,
            outputs,
            global_pool: false,
        }
    }

    /// LSTM steps after the convolution and the pool, or None when the
    /// input is too short for them.
    pub fn steps(&self) -> Option<usize> {
        let len = self.length.checked_sub(self.kernel)? + 1;
        Some(len.checked_sub(self.pool_kernel)? / self.pool_stride.max(1) + 1)
    }
}

#[derive(Debug)]
pub struct CnnLstm {
    conv: Conv1d,
    lstm: BiLstm,
    fc: Linear,
    head: Linear,
    dropout: Dropout,
    cfg: CnnLstmConfig,
    /// The activations' dtype (the weights stay as built).
    compute: DType,
}

impl CnnLstm {
    pub fn new(vb: VarBuilder, cfg: &CnnLstmConfig) -> Result<Self> {
        let Some(steps) = cfg.steps() else {
            candle_core::bail!(
                "cnn_lstm config: input of {} bp is too short for kernel {} and pool {}",
                cfg.length,
                cfg.kernel,
                cfg.pool_kernel
            );
        };
        Ok(CnnLstm {
            conv: Conv1d::new(vb.pp("conv"), 4, cfg.channels, cfg.kernel)?.with_relu(),
            lstm: BiLstm::new(vb.pp("lstm"), cfg.channels, cfg.lstm_hidden)?,
            fc: linear(
                if cfg.global_pool { 1 } else { steps } * 2 * cfg.lstm_hidden,
                cfg.fc,
                vb.pp("fc"),
            )?,
            head: linear(cfg.fc, cfg.outputs, vb.pp("head"))?,
            dropout: Dropout::new(cfg.dropout),
            cfg: cfg.clone(),
            compute: vb.dtype(),
        })
    }

    /// Runs the forward pass in `dtype` (bf16 over f32 weights).
    pub fn with_compute(mut self, dtype: DType) -> Self {
        self.compute = dtype;
        self
    }

    /// The layer before the outputs: `(batch, fc)`.
    pub fn embed(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let h = self.conv.forward(&x.to_dtype(self.compute)?)?;
        let h = crate::ops::max_pool1d(&h, self.cfg.pool_kernel, self.cfg.pool_stride)?;
        let h = self.dropout.forward(&h, train)?;
        let h = self.lstm.forward(&h.transpose(1, 2)?.contiguous()?)?;
        let h = if self.cfg.global_pool {
            h.max(D::Minus2)?
        } else {
            h.flatten_from(D::Minus2)?
        };
        let h = self.dropout.forward(&h, train)?;
        self.fc.forward(&h)?.relu()
    }

    /// `(batch, 4, length)` one-hot in, `(batch, outputs)` logits out.
    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        self.head.forward(&self.embed(x, train)?)
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{DType, Device};
    use candle_nn::VarMap;

    use super::*;
    use crate::losses::bce_with_logits;
    use crate::models::planted::one_hot_aurocs;

    fn tiny() -> CnnLstmConfig {
        CnnLstmConfig {
            length: 60,
            channels: 8,
            kernel: 7,
            pool_kernel: 6,
            pool_stride: 5,
            lstm_hidden: 6,
            fc: 8,
            dropout: 0.1,
            outputs: 2,
            global_pool: false,
        }
    }

    #[test]
    fn every_parameter_gets_a_finite_nonzero_gradient() {
        let map = VarMap::new();
        let vb = VarBuilder::from_varmap(&map, DType::F32, &Device::Cpu);
        let model = CnnLstm::new(vb, &tiny()).unwrap();
        let x = Tensor::rand(0f32, 1f32, (5, 4, 60), &Device::Cpu).unwrap();
        let y = Tensor::new(
            &[[1f32, 0.], [0., 1.], [1., 1.], [0., 0.], [1., 0.]],
            &Device::Cpu,
        )
        .unwrap();
        let logits = model.forward(&x, true).unwrap();
        assert_eq!(logits.dims(), &[5, 2]);
        let grads = bce_with_logits(&logits, &y).unwrap().backward().unwrap();
        let data = map.data().lock().unwrap();
        assert_eq!(
            data.len(),
            12,
            "conv 2, two directions of 3 each, fc 2, head 2"
        );
        for (name, var) in data.iter() {
            let g = grads
                .get(var)
                .unwrap_or_else(|| panic!("no gradient for {name}"));
            let g: Vec<f32> = g.flatten_all().unwrap().to_vec1().unwrap();
            assert!(g.iter().all(|v| v.is_finite()), "{name}");
            assert!(g.iter().any(|v| *v != 0.0), "zero gradient for {name}");
        }
    }

    #[test]
    fn short_inputs_are_a_config_error() {
        let mut cfg = tiny();
        cfg.length = 10;
        let vb = VarBuilder::from_varmap(&VarMap::new(), DType::F32, &Device::Cpu);
        let err = CnnLstm::new(vb, &cfg).unwrap_err().to_string();
        assert!(err.contains("too short"), "{err}");
    }

    #[test]
    fn a_tiny_cnn_lstm_learns_a_planted_motif() {
        let mut cfg = tiny();
        cfg.outputs = 1;
        cfg.dropout = 0.0;
        // 32 units behind the last ReLU, not 8: with 8, all of them died in
        // about one run of eight.
        cfg.fc = 32;
        // DanQ's flatten, and the max over steps.
        for global_pool in [false, true] {
            cfg.global_pool = global_pool;
            let aurocs = one_hot_aurocs(5e-3, 6, |vb| {
                let model = CnnLstm::new(vb, &cfg).unwrap();
                move |x: &Tensor, train| model.forward(x, train).unwrap()
            });
            assert!(
                aurocs.last().is_some_and(|a| *a > 0.9),
                "global_pool {global_pool}: held-out AUROC of each start {aurocs:?}"
            );
        }
    }
}
