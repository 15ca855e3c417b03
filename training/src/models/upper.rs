//! The paper's upper Transformer for expression: it reads the backbone's
//! embeddings of the 200 segments of a 40 kb window as a sequence, adds a
//! learned position per segment, and runs post-norm encoder layers with a
//! ReLU FFN (PyTorch's `TransformerEncoderLayer`); the mean over segments
//! goes to a linear head with one output per sample.

use candle_core::{Module, Result, Tensor, D};
use candle_nn::{ops, Dropout, Init, Linear, VarBuilder};

use super::linear::linear;
use super::transformer::Norm;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UpperTransformerConfig {
    /// Segments per example and features per segment: the input.
    pub segments: usize,
    pub features: usize,
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub ffn: usize,
    pub dropout: f32,
    pub outputs: usize,
}

impl Default for UpperTransformerConfig {
    /// The paper's sizes: 4 layers, 512 hidden, 8 heads.
    fn default() -> Self {
        UpperTransformerConfig {
            segments: 200,
            features: 1024,
            hidden: 512,
            layers: 4,
            heads: 8,
            ffn: 2048,
            dropout: 0.1,
            outputs: 218,
        }
    }
}

#[derive(Debug)]
struct EncoderLayer {
    qkv: Linear,
    out: Linear,
    norm1: Norm,
    ffn_in: Linear,
    ffn_out: Linear,
    norm2: Norm,
}

#[derive(Debug)]
pub struct UpperTransformer {
    input: Linear,
    positions: Tensor,
    layers: Vec<EncoderLayer>,
    head: Linear,
    dropout: Dropout,
    cfg: UpperTransformerConfig,
}

impl UpperTransformer {
    pub fn new(vb: VarBuilder, cfg: &UpperTransformerConfig) -> Result<Self> {
        if cfg.heads == 0 || !cfg.hidden.is_multiple_of(cfg.heads) {
            candle_core::bail!(
                "upper transformer config: hidden {} must split into {} heads",
                cfg.hidden,
                cfg.heads
            );
        }
        let positions = vb.get_with_hints(
            (cfg.segments, cfg.hidden),
            "positions",
            Init::Randn {
                mean: 0.0,
                stdev: 0.02,
            },
        )?;
        let mut layers = Vec::new();
        for i in 0..cfg.layers {
            let vb = vb.pp(format!("layer{i}"));
            layers.push(EncoderLayer {
                qkv: linear(cfg.hidden, 3 * cfg.hidden, vb.pp("qkv"))?,
                out: linear(cfg.hidden, cfg.hidden, vb.pp("out"))?,
                norm1: Norm::new(vb.pp("norm1"), cfg.hidden)?,
                ffn_in: linear(cfg.hidden, cfg.ffn, vb.pp("ffn_in"))?,
                ffn_out: linear(cfg.ffn, cfg.hidden, vb.pp("ffn_out"))?,
                norm2: Norm::new(vb.pp("norm2"), cfg.hidden)?,
            });
        }
        Ok(UpperTransformer {
            input: linear(cfg.features, cfg.hidden, vb.pp("input"))?,
            positions,
            layers,
            head: linear(cfg.hidden, cfg.outputs, vb.pp("head"))?,
            dropout: Dropout::new(cfg.dropout),
            cfg: cfg.clone(),
        })
    }

    /// `(batch, segments, features)` in, `(batch, outputs)` out.
    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let (batch, segments, _) = x.dims3()?;
        let mut h = self
            .input
            .forward(x)?
            .broadcast_add(&self.positions.narrow(0, 0, segments)?)?;
        let heads = self.cfg.heads;
        let size = self.cfg.hidden / heads;
        for layer in &self.layers {
            let qkv = layer.qkv.forward(&h)?;
            let split = |i: usize| -> Result<Tensor> {
                qkv.narrow(D::Minus1, i * self.cfg.hidden, self.cfg.hidden)?
                    .reshape((batch, segments, heads, size))?
                    .transpose(1, 2)?
                    .contiguous()
            };
            let (q, k, v) = (split(0)?, split(1)?, split(2)?);
            let scores = (q.matmul(&k.t()?)? / (size as f64).sqrt())?;
            let attended = ops::softmax_last_dim(&scores)?
                .matmul(&v)?
                .transpose(1, 2)?
                .reshape((batch, segments, self.cfg.hidden))?;
            let attended = self
                .dropout
                .forward(&layer.out.forward(&attended)?, train)?;
            h = layer.norm1.forward(&(h + attended)?)?;
            let ffn = layer.ffn_out.forward(&layer.ffn_in.forward(&h)?.relu()?)?;
            h = layer
                .norm2
                .forward(&(h + self.dropout.forward(&ffn, train)?)?)?;
        }
        self.head.forward(&h.mean(1)?)
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{DType, Device};
    use candle_nn::VarMap;

    use super::*;

    #[test]
    fn shapes_and_gradients() {
        let cfg = UpperTransformerConfig {
            segments: 5,
            features: 6,
            hidden: 8,
            layers: 2,
            heads: 2,
            ffn: 16,
            dropout: 0.0,
            outputs: 3,
        };
        let map = VarMap::new();
        let model = UpperTransformer::new(
            VarBuilder::from_varmap(&map, DType::F32, &Device::Cpu),
            &cfg,
        )
        .unwrap();
        let x = Tensor::randn(0f32, 1f32, (4, 5, 6), &Device::Cpu).unwrap();
        let y = model.forward(&x, true).unwrap();
        assert_eq!(y.dims(), &[4, 3]);
        let grads = y.sqr().unwrap().sum_all().unwrap().backward().unwrap();
        for var in map.all_vars() {
            let g = grads.get(&var).expect("a gradient for every parameter");
            let g: Vec<f32> = g.flatten_all().unwrap().to_vec1().unwrap();
            assert!(g.iter().all(|v| v.is_finite()));
            assert!(g.iter().any(|v| *v != 0.0), "{:?}", var.dims());
        }
    }
}
