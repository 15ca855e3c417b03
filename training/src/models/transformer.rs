//! The paper's Transformer: token embeddings (k-patches), an optional
//! convolution over them (kernel 7), a CLS token, pre-norm encoder layers
//! with gated-GELU feed-forward, and rotary, relative or absolute positions;
//! the CLS output, or the mean of the token outputs ([`Readout`]), feeds the
//! task head ([`HeadKind`]: linear, or the paper's FC → GELU → FC). With
//! `one_hot_conv` it reads one-hot bases through a convolution and a
//! max-pool ([`OneHotFront`]) instead of token ids.
//!
//! Layer norm, attention and the gated-GELU are dnabench's fused kernels
//! ([`crate::ops`]); candle 0.11's own fused layer norm, softmax and rope
//! have no backward pass. The input projection is cut into heads and
//! rotated in one pass ([`qkv_heads`]).

use candle_core::{DType, Device, Module, Result, Tensor, D};
use candle_nn::{embedding, ops, Embedding, Init, VarBuilder};

use super::linear::{candle_init as linear, Linear};
use super::one_hot_front::OneHotFront;
use super::task_head::{paper_head_hidden, HeadKind, TaskHead};

use super::conv::Conv1d;
use crate::ops::{attention, gated_gelu, qkv_heads, DropoutLayer as Dropout, DropoutMask};

/// How token positions enter attention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Positions {
    /// Rotary embeddings on queries and keys (RoFormer).
    Rotary,
    /// A learned bias per head and clipped relative distance.
    Relative,
    /// A learned embedding per position, added to the input.
    Absolute,
}

/// What the task head (and a downstream task's embedding) reads from the
/// last layer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Readout {
    /// The CLS token's state (BERT's). MLM pre-training never trains it:
    /// after MLM its attention over the tokens starts at random.
    #[default]
    Cls,
    /// The mean of the token states (padding excluded).
    Mean,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TransformerConfig {
    pub vocab: usize,
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub ffn: usize,
    pub dropout: f32,
    /// Longest token sequence (CLS excluded) the model takes.
    pub max_tokens: usize,
    pub positions: Positions,
    /// Kernel of the convolution over token embeddings; None for none.
    pub token_conv: Option<usize>,
    /// Relative distances beyond this share one bias.
    pub max_distance: usize,
    pub outputs: usize,
    /// Checkpoints written before readouts existed read the CLS.
    #[serde(default)]
    pub readout: Readout,
    /// Checkpoints written before heads were chosen end in a linear layer.
    #[serde(default)]
    pub head: HeadKind,
    /// Width of an `mlp` head's dense layer.
    #[serde(default = "paper_head_hidden")]
    pub head_hidden: usize,
    /// Kernel of the convolution over one-hot input (the paper's one-hot
    /// Transformer: 25); None for a model that reads token ids.
    #[serde(default)]
    pub one_hot_conv: Option<usize>,
}

impl TransformerConfig {
    /// The paper's sizes: 4 layers, 512 hidden, 8 heads of 64, FFN 2048,
    /// dropout 0.15, patch-4 vocabulary (5⁴ + 4) and a kernel-7 convolution.
    pub fn paper(max_tokens: usize, outputs: usize, positions: Positions) -> Self {
        TransformerConfig {
            vocab: 629,
            hidden: 512,
            layers: 4,
            heads: 8,
            ffn: 2048,
            dropout: 0.15,
            max_tokens,
            positions,
            token_conv: Some(7),
            max_distance: 128,
            outputs,
            readout: Readout::Cls,
            head: HeadKind::Mlp,
            head_hidden: paper_head_hidden(),
            one_hot_conv: None,
        }
    }
}

/// Layer norm over the last dimension, composed so that it has gradients.
#[derive(Debug)]
pub(crate) struct Norm {
    gamma: Tensor,
    beta: Tensor,
}

impl Norm {
    pub(crate) fn new(vb: VarBuilder, size: usize) -> Result<Self> {
        Ok(Norm {
            gamma: vb.get_with_hints(size, "weight", Init::Const(1.0))?,
            beta: vb.get_with_hints(size, "bias", Init::Const(0.0))?,
        })
    }

    pub(crate) fn forward(&self, x: &Tensor) -> Result<Tensor> {
        crate::ops::layer_norm(x, &self.gamma, &self.beta, 1e-5)
    }
}

#[derive(Debug)]
struct Layer {
    attention_norm: Norm,
    qkv: Linear,
    out: Linear,
    ffn_norm: Norm,
    ffn_in: Linear,
    ffn_out: Linear,
    relative: Option<Tensor>,
}

#[derive(Debug)]
pub struct Transformer {
    /// Token embeddings, or the one-hot front end.
    tokens: Input,
    token_conv: Option<Conv1d>,
    cls: Tensor,
    absolute: Option<Tensor>,
    layers: Vec<Layer>,
    final_norm: Norm,
    head: TaskHead,
    dropout: Dropout,
    cfg: TransformerConfig,
    /// The activations' dtype (the weights stay as built).
    compute: DType,
}

impl Transformer {
    pub fn new(vb: VarBuilder, cfg: &TransformerConfig) -> Result<Self> {
        if cfg.heads == 0
            || !cfg.hidden.is_multiple_of(cfg.heads)
            || !(cfg.hidden / cfg.heads).is_multiple_of(2)
        {
            candle_core::bail!(
                "transformer config: hidden {} must split into {} heads of an even size",
                cfg.hidden,
                cfg.heads
            );
        }
        // Same-length convolution over the token axis.
        let token_conv = match cfg.token_conv {
            Some(k) => Some(
                Conv1d::new(vb.pp("token_conv"), cfg.hidden, cfg.hidden, k)?
                    .padded(((k - 1) / 2, k / 2)),
            ),
            None => None,
        };
        let absolute = match cfg.positions {
            Positions::Absolute => Some(vb.get_with_hints(
                (cfg.max_tokens + 1, cfg.hidden),
                "positions",
                Init::Randn {
                    mean: 0.0,
                    stdev: 0.02,
                },
            )?),
            _ => None,
        };
        let mut layers = Vec::new();
        for i in 0..cfg.layers {
            let vb = vb.pp(format!("layer{i}"));
            let relative = match cfg.positions {
                Positions::Relative => Some(vb.get_with_hints(
                    (cfg.heads, 2 * cfg.max_distance + 1),
                    "relative_bias",
                    Init::Randn {
                        mean: 0.0,
                        stdev: 0.02,
                    },
                )?),
                _ => None,
            };
            layers.push(Layer {
                attention_norm: Norm::new(vb.pp("attention_norm"), cfg.hidden)?,
                qkv: linear(cfg.hidden, 3 * cfg.hidden, vb.pp("qkv"))?,
                out: linear(cfg.hidden, cfg.hidden, vb.pp("out"))?,
                ffn_norm: Norm::new(vb.pp("ffn_norm"), cfg.hidden)?,
                ffn_in: linear(cfg.hidden, 2 * cfg.ffn, vb.pp("ffn_in"))?,
                ffn_out: linear(cfg.ffn, cfg.hidden, vb.pp("ffn_out"))?,
                relative,
            });
        }
        let tokens = match cfg.one_hot_conv {
            Some(kernel) => Input::OneHot(OneHotFront::new(vb.pp("one_hot"), kernel, cfg.hidden)?),
            None => Input::Ids(embedding(cfg.vocab, cfg.hidden, vb.pp("tokens"))?),
        };
        Ok(Transformer {
            tokens,
            token_conv,
            cls: vb.get_with_hints(
                (1, 1, cfg.hidden),
                "cls",
                Init::Randn {
                    mean: 0.0,
                    stdev: 0.02,
                },
            )?,
            absolute,
            layers,
            final_norm: Norm::new(vb.pp("final_norm"), cfg.hidden)?,
            head: TaskHead::new(
                vb.pp("head"),
                cfg.head,
                cfg.hidden,
                cfg.head_hidden,
                cfg.outputs,
                linear,
            )?,
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

    /// The sequence's state after the last layer, as the config's
    /// [`Readout`] takes it: `(batch, hidden)`, what the head reads and the
    /// embedding the downstream tasks reuse.
    pub fn embed(&self, ids: &Tensor, train: bool) -> Result<Tensor> {
        let states = self.states(ids, train)?;
        match self.cfg.readout {
            Readout::Cls => states.narrow(1, 0, 1)?.squeeze(1),
            Readout::Mean if matches!(self.tokens, Input::OneHot(_)) => {
                // One-hot windows have no padding.
                states.narrow(1, 1, states.dim(1)? - 1)?.mean(1)
            }
            Readout::Mean => {
                let tokens = states.narrow(1, 1, states.dim(1)? - 1)?;
                // (batch, tokens, 1): 1 for a token, 0 for padding.
                let keep = ids
                    .ne(crate::tokenizers::Special::Pad as u32)?
                    .to_dtype(tokens.dtype())?
                    .unsqueeze(2)?;
                let count = keep.sum(1)?.clamp(1.0, f64::INFINITY)?;
                tokens.broadcast_mul(&keep)?.sum(1)?.broadcast_div(&count)
            }
        }
    }

    /// Every state after the last layer and the final norm: `(batch,
    /// 1 + tokens, hidden)`, CLS first. Padding ids ([`Special::Pad`], as
    /// BPE batches of unequal lengths have) are masked out of attention.
    ///
    /// [`Special::Pad`]: crate::tokenizers::Special::Pad
    /// A one-hot model takes `(batch, 4, bp)` one-hot input in place of ids.
    pub fn states(&self, ids: &Tensor, train: bool) -> Result<Tensor> {
        let (mut x, is_pad) = match &self.tokens {
            Input::Ids(embedding) => {
                let is_pad = ids.eq(crate::tokenizers::Special::Pad as u32)?;
                (embedding.forward(ids)?.to_dtype(self.compute)?, is_pad)
            }
            Input::OneHot(front) => {
                let x = front.forward(&ids.to_dtype(self.compute)?)?;
                let (batch, tokens, _) = x.dims3()?;
                let none = Tensor::zeros((batch, tokens), DType::U8, x.device())?;
                (x, none)
            }
        };
        let (batch, length) = is_pad.dims2()?;
        if length > self.cfg.max_tokens {
            candle_core::bail!(
                "transformer: {length} tokens, but the model takes at most {}",
                self.cfg.max_tokens
            );
        }
        if let Some(conv) = &self.token_conv {
            // Zeroed padding looks to the convolution like its own zero
            // padding at the end, so a padded sequence convolves as the
            // unpadded one does.
            let keep = is_pad
                .to_dtype(x.dtype())?
                .affine(-1.0, 1.0)?
                .unsqueeze(2)?;
            x = x.broadcast_mul(&keep)?;
            x = conv.forward(&x.transpose(1, 2)?)?.transpose(1, 2)?;
        }
        let cls = self
            .cls
            .to_dtype(x.dtype())?
            .broadcast_as((batch, 1, self.cfg.hidden))?;
        x = Tensor::cat(&[&cls, &x], 1)?;
        let tokens = length + 1;
        if let Some(table) = &self.absolute {
            let table = table.to_dtype(x.dtype())?;
            x = x.broadcast_add(&table.narrow(0, 0, tokens)?.unsqueeze(0)?)?;
        }
        let rotary = match self.cfg.positions {
            Positions::Rotary => {
                let (cos, sin) =
                    rotary_tables(tokens, self.cfg.hidden / self.cfg.heads, x.device())?;
                Some((cos.to_dtype(self.compute)?, sin.to_dtype(self.compute)?))
            }
            _ => None,
        };
        let distances = match self.cfg.positions {
            Positions::Relative => Some(distance_index(tokens, self.cfg.max_distance, x.device())?),
            _ => None,
        };
        // (batch, tokens): which keys are padding, CLS never.
        let pad = is_pad.pad_with_zeros(1, 1, 0)?;
        x = self.dropout.forward(&x, train)?;
        for layer in &self.layers {
            x = self.layer(layer, &x, &pad, rotary.as_ref(), distances.as_ref(), train)?;
        }
        self.final_norm.forward(&x)
    }

    pub fn config(&self) -> &TransformerConfig {
        &self.cfg
    }

    /// `(batch, tokens)` u32 ids in, `(batch, outputs)` out.
    pub fn forward(&self, ids: &Tensor, train: bool) -> Result<Tensor> {
        let cls = self.embed(ids, train)?;
        self.head.forward(&self.dropout.forward(&cls, train)?)
    }

    fn layer(
        &self,
        layer: &Layer,
        x: &Tensor,
        pad: &Tensor,
        rotary: Option<&(Tensor, Tensor)>,
        distances: Option<&Tensor>,
        train: bool,
    ) -> Result<Tensor> {
        let (batch, tokens, hidden) = x.dims3()?;
        let heads = self.cfg.heads;
        let head_dim = hidden / heads;
        let h = layer.attention_norm.forward(x)?;
        // (3, batch, heads, tokens, head_dim), q and k rotated.
        let qkv = qkv_heads(
            &layer.qkv.forward(&h)?,
            heads,
            rotary.map(|(cos, sin)| (cos, sin)),
        )?;
        let (q, k, v) = (qkv.get(0)?, qkv.get(1)?, qkv.get(2)?);
        let dropout = if train {
            DropoutMask::draw(self.cfg.dropout)
        } else {
            None
        };
        let attended = match (&layer.relative, distances) {
            (Some(table), Some(index)) => {
                // The softmax in f32, whatever the activations' dtype.
                let mut scores = (q.contiguous()?.matmul(&k.contiguous()?.t()?)?
                    / (head_dim as f64).sqrt())?
                .to_dtype(DType::F32)?;
                // (heads, tokens * tokens) gathered from the per-distance table.
                let bias = table
                    .to_dtype(DType::F32)?
                    .index_select(&index.flatten_all()?, 1)?
                    .reshape((heads, tokens, tokens))?;
                scores = scores.broadcast_add(&bias.unsqueeze(0)?)?;
                let pad = pad
                    .to_dtype(DType::F32)?
                    .affine(-1e9, 0.0)?
                    .reshape((batch, 1, 1, tokens))?;
                scores = scores.broadcast_add(&pad)?;
                self.dropout
                    .forward(&ops::softmax(&scores, D::Minus1)?, train)?
                    .to_dtype(v.dtype())?
                    .matmul(&v)?
            }
            _ => attention(&q, &k, &v, Some(pad), dropout)?,
        };
        let context = attended.transpose(1, 2)?.reshape((batch, tokens, hidden))?;
        let x = (x + self.dropout.forward(&layer.out.forward(&context)?, train)?)?;
        let h = layer.ffn_norm.forward(&x)?;
        let ffn = layer
            .ffn_out
            .forward(&gated_gelu(&layer.ffn_in.forward(&h)?)?)?;
        x + self.dropout.forward(&ffn, train)?
    }
}

/// What the first layer reads.
#[derive(Debug)]
enum Input {
    Ids(Embedding),
    OneHot(OneHotFront),
}

/// cos and sin tables of rotary embeddings: `(tokens, head_dim / 2)` each.
fn rotary_tables(tokens: usize, head_dim: usize, device: &Device) -> Result<(Tensor, Tensor)> {
    let inverse: Vec<f32> = (0..head_dim / 2)
        .map(|i| 1.0 / 10_000f32.powf(2.0 * i as f32 / head_dim as f32))
        .collect();
    let inverse = Tensor::from_vec(inverse, (1, head_dim / 2), device)?;
    let positions = Tensor::arange(0u32, tokens as u32, device)?
        .to_dtype(DType::F32)?
        .reshape((tokens, 1))?;
    let angles = positions.broadcast_mul(&inverse)?;
    Ok((angles.cos()?, angles.sin()?))
}

/// For each (query, key) pair, the index of its clipped relative distance
/// in a table of `2 * max_distance + 1` biases.
fn distance_index(tokens: usize, max_distance: usize, device: &Device) -> Result<Tensor> {
    let max = max_distance as i64;
    let index: Vec<u32> = (0..tokens as i64)
        .flat_map(|i| (0..tokens as i64).map(move |j| ((j - i).clamp(-max, max) + max) as u32))
        .collect();
    Tensor::from_vec(index, (tokens, tokens), device)
}

#[cfg(test)]
mod tests {
    use candle_nn::VarMap;

    use super::*;
    use crate::losses::bce_with_logits;
    use crate::ops::finite_difference::max_difference;

    fn tiny(positions: Positions) -> TransformerConfig {
        TransformerConfig {
            vocab: 629,
            hidden: 16,
            layers: 2,
            heads: 2,
            ffn: 32,
            dropout: 0.1,
            max_tokens: 16,
            positions,
            token_conv: Some(7),
            max_distance: 4,
            outputs: 1,
            readout: Readout::Cls,
            head: HeadKind::Linear,
            head_hidden: 0,
            one_hot_conv: None,
        }
    }

    #[test]
    fn every_parameter_gets_a_finite_nonzero_gradient_for_every_position_kind() {
        for positions in [Positions::Rotary, Positions::Relative, Positions::Absolute] {
            let map = VarMap::new();
            let vb = VarBuilder::from_varmap(&map, DType::F32, &Device::Cpu);
            let model = Transformer::new(vb, &tiny(positions)).unwrap();
            let ids: Vec<u32> = (0..4 * 16).map(|i| 4 + (i * 37 % 625) as u32).collect();
            let ids = Tensor::from_vec(ids, (4, 16), &Device::Cpu).unwrap();
            let y = Tensor::new(&[[1f32], [0.], [1.], [0.]], &Device::Cpu).unwrap();
            let logits = model.forward(&ids, true).unwrap();
            assert_eq!(logits.dims(), &[4, 1]);
            let grads = bce_with_logits(&logits, &y).unwrap().backward().unwrap();
            for (name, var) in map.data().lock().unwrap().iter() {
                let g = grads
                    .get(var)
                    .unwrap_or_else(|| panic!("{positions:?}: no gradient for {name}"));
                let g: Vec<f32> = g.flatten_all().unwrap().to_vec1().unwrap();
                assert!(g.iter().all(|v| v.is_finite()), "{positions:?} {name}");
                if name == "tokens.weight" {
                    continue; // only the rows of ids in the batch move
                }
                assert!(
                    g.iter().any(|v| *v != 0.0),
                    "{positions:?}: zero gradient for {name}"
                );
            }
        }
    }

    #[test]
    fn bad_configs_and_long_inputs_are_errors() {
        let mut cfg = tiny(Positions::Rotary);
        cfg.heads = 3;
        let vb = VarBuilder::from_varmap(&VarMap::new(), DType::F32, &Device::Cpu);
        assert!(Transformer::new(vb, &cfg).is_err());
        let vb = VarBuilder::from_varmap(&VarMap::new(), DType::F32, &Device::Cpu);
        let model = Transformer::new(vb, &tiny(Positions::Rotary)).unwrap();
        let ids = Tensor::zeros((1, 17), DType::U32, &Device::Cpu).unwrap();
        let err = model.forward(&ids, false).unwrap_err().to_string();
        assert!(err.contains("at most 16"), "{err}");
    }

    #[test]
    fn padding_does_not_change_the_embedding_of_either_readout() {
        for readout in [Readout::Cls, Readout::Mean] {
            let vb = VarBuilder::from_varmap(&VarMap::new(), DType::F32, &Device::Cpu);
            let cfg = TransformerConfig {
                readout,
                ..tiny(Positions::Rotary)
            };
            let model = Transformer::new(vb, &cfg).unwrap();
            let ids = Tensor::new(&[[10u32, 20, 30]], &Device::Cpu).unwrap();
            let padded = Tensor::new(&[[10u32, 20, 30, 0, 0]], &Device::Cpu).unwrap();
            let a = model.embed(&ids, false).unwrap();
            let b = model.embed(&padded, false).unwrap();
            assert!(max_difference(&a, &b) < 1e-5, "{readout:?}");
        }
    }

    #[test]
    fn the_mean_readout_is_the_mean_of_the_token_states() {
        let vb = VarBuilder::from_varmap(&VarMap::new(), DType::F32, &Device::Cpu);
        let cfg = TransformerConfig {
            readout: Readout::Mean,
            ..tiny(Positions::Rotary)
        };
        let model = Transformer::new(vb, &cfg).unwrap();
        let ids = Tensor::new(&[[10u32, 20, 30, 40]], &Device::Cpu).unwrap();
        let states = model.states(&ids, false).unwrap().narrow(1, 1, 4).unwrap();
        let mean = model.embed(&ids, false).unwrap();
        assert!(max_difference(&mean, &states.mean(1).unwrap()) < 1e-6);
    }

    #[test]
    fn the_one_hot_transformer_learns_a_planted_motif_through_an_mlp_head() {
        use crate::models::planted::one_hot_aurocs;
        let cfg = TransformerConfig {
            dropout: 0.0,
            token_conv: None,
            one_hot_conv: Some(9),
            head: HeadKind::Mlp,
            head_hidden: 16,
            ..tiny(Positions::Rotary)
        };
        let aurocs = one_hot_aurocs(3e-3, 8, |vb| {
            let model = Transformer::new(vb, &cfg).unwrap();
            move |x: &Tensor, train| model.forward(x, train).unwrap()
        });
        assert!(
            aurocs.last().is_some_and(|a| *a > 0.9),
            "held-out AUROC of each start {aurocs:?}"
        );
        // Token ids are not one-hot input.
        let vb = VarBuilder::from_varmap(&VarMap::new(), DType::F32, &Device::Cpu);
        let model = Transformer::new(vb, &cfg).unwrap();
        let ids = Tensor::zeros((1, 15), DType::U32, &Device::Cpu).unwrap();
        let err = model.forward(&ids, false).unwrap_err().to_string();
        assert!(err.contains("(batch, 4, length)"), "{err}");
    }

    #[test]
    fn a_tiny_transformer_learns_a_planted_motif() {
        use crate::models::planted::{aurocs_until, train_and_score};
        use crate::tokenizers::{KpatchTokenizer, TokenIds};
        let device = Device::Cpu;
        let tokenizer = KpatchTokenizer::default();
        for head in [HeadKind::Linear, HeadKind::Mlp] {
            let mut cfg = tiny(Positions::Rotary);
            (cfg.dropout, cfg.head, cfg.head_hidden) = (0.0, head, 16);
            let aurocs = aurocs_until(0.9, 3, |seed| {
                let map = VarMap::new();
                let vb = crate::seeded::var_builder(&map, seed, DType::F32, &device);
                let model = Transformer::new(vb, &cfg).unwrap();
                train_and_score(map.all_vars(), 1e-2, 12, |seqs, train| {
                    let ids: Vec<u32> = seqs.iter().flat_map(|s| tokenizer.encode(s)).collect();
                    let ids = Tensor::from_vec(ids, (seqs.len(), 15), &device).unwrap();
                    model.forward(&ids, train).unwrap()
                })
            });
            assert!(
                aurocs.last().is_some_and(|a| *a > 0.9),
                "{head:?} head: held-out AUROC of each start {aurocs:?}"
            );
        }
    }
}
