//! The paper's upper Transformer for expression: it reads the backbone's
//! embeddings of the 200 segments of a 40 kb window as a sequence, adds a
//! learned position per segment, and runs post-norm encoder layers with a
//! ReLU FFN (PyTorch's `TransformerEncoderLayer`); attention pooling over
//! segments goes to a linear head with one output per sample.
//!
//! The pooling's weights are a softmax of a learned score per segment
//! position plus one per segment's content. It starts as the mean; the
//! position scores let a few hundred genes learn that what sits near the
//! TSS (the middle segments) counts, which a mean over 40 kb holding a
//! dozen other genes' promoters hides.

use candle_core::{Module, Result, Tensor, D};
use candle_nn::{ops, Init, VarBuilder};

use crate::ops::DropoutLayer as Dropout;

use super::linear::Linear;

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
    /// Segments over which the pooling's starting weight falls by e.
    pub pool_decay: f32,
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
            pool_decay: 5.0,
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
    pool_positions: Tensor,
    /// `−|segment − middle| / decay`: the pooling starts as ExPecto's
    /// exponential decay with distance to the TSS.
    pool_prior: Tensor,
    /// `(hidden, 1)`: a score per segment's content. No bias: the softmax
    /// is blind to a constant.
    pool_content: Tensor,
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
        let pool_positions = vb.get_with_hints(cfg.segments, "pool_positions", Init::Const(0.0))?;
        let middle = (cfg.segments as f32 - 1.0) / 2.0;
        let prior: Vec<f32> = (0..cfg.segments)
            .map(|i| -(i as f32 - middle).abs() / cfg.pool_decay)
            .collect();
        let pool_prior = Tensor::from_vec(prior, cfg.segments, vb.device())?;
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
            pool_positions,
            pool_prior,
            pool_content: vb.get_with_hints(
                (cfg.hidden, 1),
                "pool_content",
                Init::Uniform {
                    lo: -1.0 / (cfg.hidden as f64).sqrt(),
                    up: 1.0 / (cfg.hidden as f64).sqrt(),
                },
            )?,
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
            let attended = ops::softmax(&scores, D::Minus1)?
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
        // (batch, segments) pooling weights, then (batch, hidden).
        let scores = h
            .broadcast_matmul(&self.pool_content)?
            .squeeze(D::Minus1)?
            .broadcast_add(&(&self.pool_positions + &self.pool_prior)?.narrow(0, 0, segments)?)?;
        let weights = ops::softmax(&scores, D::Minus1)?.unsqueeze(1)?;
        self.head.forward(&weights.matmul(&h)?.squeeze(1)?)
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
            pool_decay: 2.0,
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
        for (name, var) in map.data().lock().unwrap().iter() {
            let g = grads
                .get(var)
                .unwrap_or_else(|| panic!("no gradient for {name}"));
            // Queries, keys and values share one weight: each third must
            // learn (a fused softmax without a backward pass stops q and k).
            let parts = if name.ends_with("qkv.weight") { 3 } else { 1 };
            let rows = g.dim(0).unwrap() / parts;
            for part in 0..parts {
                let g: Vec<f32> = (g.narrow(0, part * rows, rows).unwrap())
                    .flatten_all()
                    .unwrap()
                    .to_vec1()
                    .unwrap();
                assert!(g.iter().all(|v| v.is_finite()), "{name}");
                assert!(g.iter().any(|v| *v != 0.0), "{name} part {part}");
            }
        }
    }
}
