//! A model of any kind behind one interface, and the tokenizer that feeds
//! it: what `train`, `predict` and `pretrain` build from a run's config.

use std::sync::Arc;

use anyhow::{bail, Result};
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use serde::{Deserialize, Serialize};

use crate::config::{override_fields, ModelKind, TokenizerKind};
use crate::models::one_hot_front::OneHotFront;
use crate::models::{
    CnnConfig, CnnFc, CnnLstm, CnnLstmConfig, Positions, Transformer, TransformerConfig,
};
use crate::tokenizers::{BpeTokenizer, KmerTokenizer, KpatchTokenizer, Special, TokenIds};

/// A model's configuration, tagged with its kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NetworkConfig {
    Cnn(CnnConfig),
    CnnLstm(CnnLstmConfig),
    Transformer(TransformerConfig),
}

impl NetworkConfig {
    /// The paper's sizes for `kind` reading `length` bp through `tokenizer`,
    /// with `overrides` applied.
    pub fn new(
        kind: ModelKind,
        tokenizer: &Encoder,
        positions: Positions,
        length: usize,
        outputs: usize,
        overrides: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<NetworkConfig> {
        let one_hot = matches!(tokenizer, Encoder::OneHot);
        match kind {
            ModelKind::Cnn | ModelKind::CnnLstm if !one_hot => {
                bail!("model {kind} reads one-hot input; give --tokenizer one_hot")
            }
            _ => {}
        }
        Ok(match kind {
            ModelKind::Cnn => NetworkConfig::Cnn(override_fields(
                &CnnConfig::paper(length, outputs),
                overrides,
                "cnn",
            )?),
            ModelKind::CnnLstm => NetworkConfig::CnnLstm(override_fields(
                &CnnLstmConfig::danq(length, outputs),
                overrides,
                "cnn_lstm",
            )?),
            ModelKind::Transformer => {
                // Over one-hot input, the paper's one-hot Transformer: a
                // kernel-25 convolution and a max-pool of 4 in place of the
                // token embeddings.
                let tokens = if one_hot {
                    OneHotFront::tokens(length)
                } else {
                    tokenizer.max_tokens(length)
                };
                let mut cfg = TransformerConfig::paper(tokens, outputs, positions);
                cfg.vocab = tokenizer.vocab_size();
                // The kernel-7 convolution belongs to the k-patch tokenizer.
                if !matches!(tokenizer, Encoder::Tokens(TokenizerKind::Kpatch, _)) {
                    cfg.token_conv = None;
                }
                if one_hot {
                    cfg.one_hot_conv = Some(25);
                }
                let cfg = override_fields(&cfg, overrides, "transformer")?;
                match (one_hot, cfg.one_hot_conv.is_some()) {
                    (true, false) => bail!(
                        "a transformer over one-hot input needs one_hot_conv (the paper's: 25)"
                    ),
                    (false, true) => bail!(
                        "one_hot_conv is for a transformer over one-hot input; give --tokenizer one_hot"
                    ),
                    _ => NetworkConfig::Transformer(cfg),
                }
            }
        })
    }

    pub fn outputs(&self) -> usize {
        match self {
            NetworkConfig::Cnn(c) => c.outputs,
            NetworkConfig::CnnLstm(c) => c.outputs,
            NetworkConfig::Transformer(c) => c.outputs,
        }
    }
}

#[derive(Debug)]
pub enum Network {
    Cnn(CnnFc),
    CnnLstm(CnnLstm),
    Transformer(Transformer),
}

impl Network {
    pub fn new(vb: VarBuilder, cfg: &NetworkConfig) -> Result<Network> {
        Ok(match cfg {
            NetworkConfig::Cnn(c) => Network::Cnn(CnnFc::new(vb, c)?),
            NetworkConfig::CnnLstm(c) => Network::CnnLstm(CnnLstm::new(vb, c)?),
            NetworkConfig::Transformer(c) => Network::Transformer(Transformer::new(vb, c)?),
        })
    }

    /// Runs the forward pass in `dtype`: bf16 activations over the f32
    /// weights the optimizer updates.
    pub fn with_compute(self, dtype: DType) -> Network {
        match self {
            Network::Cnn(m) => Network::Cnn(m.with_compute(dtype)),
            Network::CnnLstm(m) => Network::CnnLstm(m.with_compute(dtype)),
            Network::Transformer(m) => Network::Transformer(m.with_compute(dtype)),
        }
    }

    /// Encoded input in, `(batch, outputs)` out, in f32 whatever the
    /// activations' dtype.
    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        Ok(match self {
            Network::Cnn(m) => m.forward(x, train)?,
            Network::CnnLstm(m) => m.forward(x, train)?,
            Network::Transformer(m) => m.forward(x, train)?,
        }
        .to_dtype(DType::F32)?)
    }

    /// The representation before the head: `(batch, features)`, in f32.
    pub fn embed(&self, x: &Tensor) -> Result<Tensor> {
        Ok(match self {
            Network::Cnn(m) => m.embed(x, false)?,
            Network::CnnLstm(m) => m.embed(x, false)?,
            Network::Transformer(m) => m.embed(x, false)?,
        }
        .to_dtype(DType::F32)?)
    }
}

/// A tokenizer at run time: one-hot, or one that gives token ids.
#[derive(Clone)]
pub enum Encoder {
    OneHot,
    Tokens(TokenizerKind, Arc<dyn TokenIds + Send + Sync>),
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Encoder::OneHot => write!(f, "one_hot"),
            Encoder::Tokens(kind, t) => write!(f, "{kind} ({} ids)", t.vocab_size()),
        }
    }
}

impl Encoder {
    /// The tokenizer `kind`; BPE needs its trained vocabulary.
    pub fn new(kind: TokenizerKind, bpe: Option<BpeTokenizer>) -> Result<Encoder> {
        Ok(match kind {
            TokenizerKind::OneHot => Encoder::OneHot,
            TokenizerKind::Kmer => Encoder::Tokens(kind, Arc::new(KmerTokenizer::default())),
            TokenizerKind::Kpatch => Encoder::Tokens(kind, Arc::new(KpatchTokenizer::default())),
            TokenizerKind::Bpe => match bpe {
                Some(t) => Encoder::Tokens(kind, Arc::new(t)),
                None => bail!("the bpe tokenizer needs a vocabulary trained on the genome"),
            },
        })
    }

    pub fn vocab_size(&self) -> usize {
        match self {
            Encoder::OneHot => 4,
            Encoder::Tokens(_, t) => t.vocab_size(),
        }
    }

    /// The most tokens a sequence of `length` bp gives.
    pub fn max_tokens(&self, length: usize) -> usize {
        match self {
            Encoder::OneHot => length,
            Encoder::Tokens(TokenizerKind::Kpatch, _) => length.div_ceil(4),
            Encoder::Tokens(TokenizerKind::Kmer, _) => length.saturating_sub(4).max(1),
            Encoder::Tokens(_, _) => length.max(1),
        }
    }

    /// `(batch, 4, length)` one-hot, or `(batch, tokens)` u32 ids padded on
    /// the right with [`Special::Pad`] to the longest of the batch.
    pub fn encode(&self, seqs: &[&[u8]], device: &Device) -> Result<Tensor> {
        match self.token_rows(seqs, None) {
            None => Ok(crate::one_hot(seqs, device)?),
            Some((ids, width)) => Ok(Tensor::from_vec(ids, (seqs.len(), width), device)?),
        }
    }

    /// Token ids of `seqs`, row-major, each row padded on the right with
    /// [`Special::Pad`] to `width` (cut to it, if a tokenizer gives more),
    /// or to the longest row when `width` is None; None for one-hot.
    pub fn token_rows(&self, seqs: &[&[u8]], width: Option<usize>) -> Option<(Vec<u32>, usize)> {
        let Encoder::Tokens(_, t) = self else {
            return None;
        };
        let encoded: Vec<Vec<u32>> = seqs.iter().map(|s| t.encode(s)).collect();
        let width = width.unwrap_or_else(|| encoded.iter().map(Vec::len).max().unwrap_or(0).max(1));
        let mut ids = vec![Special::Pad as u32; seqs.len() * width];
        for (row, e) in encoded.iter().enumerate() {
            let n = e.len().min(width);
            ids[row * width..row * width + n].copy_from_slice(&e[..n]);
        }
        Some((ids, width))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::finite_difference::max_difference;

    #[test]
    fn model_and_tokenizer_must_fit_each_other() {
        let none = serde_json::Map::new();
        let kpatch = Encoder::new(TokenizerKind::Kpatch, None).unwrap();
        let err = NetworkConfig::new(ModelKind::Cnn, &kpatch, Positions::Rotary, 500, 1, &none)
            .unwrap_err();
        assert!(err.to_string().contains("--tokenizer one_hot"), "{err}");
        let Ok(NetworkConfig::Transformer(cfg)) = NetworkConfig::new(
            ModelKind::Transformer,
            &kpatch,
            Positions::Rotary,
            500,
            1,
            &none,
        ) else {
            panic!("a transformer config")
        };
        assert_eq!(
            (cfg.max_tokens, cfg.vocab, cfg.token_conv),
            (125, 629, Some(7))
        );
        // Over one-hot input: the paper's kernel-25 front, a token per 4 bp.
        let one_hot = Encoder::OneHot;
        let Ok(NetworkConfig::Transformer(cfg)) = NetworkConfig::new(
            ModelKind::Transformer,
            &one_hot,
            Positions::Rotary,
            500,
            1,
            &none,
        ) else {
            panic!("a one-hot transformer config")
        };
        assert_eq!(
            (cfg.max_tokens, cfg.one_hot_conv, cfg.token_conv),
            (125, Some(25), None)
        );
        let mut front = serde_json::Map::new();
        front.insert("one_hot_conv".into(), serde_json::json!(25));
        let err = NetworkConfig::new(
            ModelKind::Transformer,
            &kpatch,
            Positions::Rotary,
            500,
            1,
            &front,
        )
        .unwrap_err();
        assert!(err.to_string().contains("--tokenizer one_hot"), "{err}");
        assert!(Encoder::new(TokenizerKind::Bpe, None).is_err());
    }

    /// `n` values drawn uniformly from `[low, high)` by the stream of
    /// `name` (candle's own `Tensor::rand` cannot be seeded).
    fn seeded_uniform(name: &str, n: usize, low: f32, high: f32) -> Vec<f32> {
        use rand::Rng;
        let mut rng = crate::seeded::stream(SEED, name);
        (0..n).map(|_| rng.random_range(low..high)).collect()
    }

    const SEED: u64 = 29;

    /// Small models of each kind, and an input for each, the same every run.
    fn tiny_networks() -> Vec<(NetworkConfig, Tensor)> {
        let device = Device::Cpu;
        let one_hot = Tensor::from_vec(
            seeded_uniform("one_hot", 3 * 4 * 60, 0.0, 1.0),
            (3, 4, 60),
            &device,
        )
        .unwrap();
        let mut cnn = CnnConfig::paper(60, 2);
        // The paper's shape (strided "same" convolutions, FC layer, MLP
        // head) at a tiny size.
        (cnn.channels, cnn.kernels, cnn.strides) = (vec![8, 8], vec![7, 3], vec![1, 2]);
        (cnn.pool_kernel, cnn.pool_stride, cnn.fc, cnn.head_hidden) = (2, 2, 8, 8);
        let mut lstm = CnnLstmConfig::danq(60, 2);
        (lstm.channels, lstm.kernel, lstm.lstm_hidden, lstm.fc) = (8, 7, 6, 8);
        (lstm.pool_kernel, lstm.pool_stride) = (4, 4);
        let mut front = TransformerConfig::paper(15, 2, Positions::Rotary);
        (front.hidden, front.layers, front.heads, front.ffn) = (16, 1, 2, 32);
        (front.token_conv, front.one_hot_conv, front.head_hidden) = (None, Some(5), 8);
        let mut networks = vec![
            (NetworkConfig::Cnn(cnn), one_hot.clone()),
            (NetworkConfig::CnnLstm(lstm), one_hot.clone()),
            (NetworkConfig::Transformer(front), one_hot),
        ];
        let ids = Tensor::from_vec(seeded_uniform("ids", 3 * 15, 5.0, 600.0), (3, 15), &device)
            .unwrap()
            .to_dtype(DType::U32)
            .unwrap();
        for positions in [Positions::Rotary, Positions::Relative, Positions::Absolute] {
            let mut t = TransformerConfig::paper(15, 2, positions);
            (t.hidden, t.layers, t.heads, t.ffn, t.max_distance) = (16, 2, 2, 32, 4);
            t.head_hidden = 8;
            networks.push((NetworkConfig::Transformer(t), ids.clone()));
        }
        networks
    }

    #[test]
    fn bf16_runs_over_f32_weights_and_their_gradients_stay_f32() {
        for (cfg, x) in tiny_networks() {
            let map = candle_nn::VarMap::new();
            let vb = crate::seeded::var_builder(&map, SEED, DType::F32, &Device::Cpu);
            let full = Network::new(vb.clone(), &cfg).unwrap();
            // The same variables, read in bf16.
            let half = Network::new(vb, &cfg).unwrap().with_compute(DType::BF16);
            let y32 = full.forward(&x, false).unwrap();
            let y16 = half.forward(&x, false).unwrap();
            assert_eq!(y16.dtype(), DType::F32, "{cfg:?}");
            let scale = max_difference(&y32, &y32.zeros_like().unwrap());
            let error = max_difference(&y16, &y32);
            // bf16 keeps 8 bits of mantissa: a few parts in 256 per op.
            assert!(error <= 0.05 * (1.0 + scale), "{error} vs {scale}: {cfg:?}");
            let grads = half
                .forward(&x, true)
                .unwrap()
                .sqr()
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            for var in map.all_vars() {
                assert_eq!(var.dtype(), DType::F32);
                let g = grads
                    .get(&var)
                    .unwrap_or_else(|| panic!("no gradient for {:?} of {cfg:?}", var.dims()));
                assert_eq!(g.dtype(), DType::F32);
                let g: Vec<f32> = g.flatten_all().unwrap().to_vec1().unwrap();
                assert!(g.iter().all(|v| v.is_finite()), "{cfg:?}");
            }
        }
    }

    #[test]
    fn token_batches_are_padded_to_the_longest() {
        let kmer = Encoder::new(TokenizerKind::Kmer, None).unwrap();
        let x = kmer.encode(&[b"ACGTACG", b"ACGTA"], &Device::Cpu).unwrap();
        let rows = x.to_vec2::<u32>().unwrap();
        assert_eq!(rows[0].len(), 3);
        assert_eq!(rows[1][1..], [0, 0]);
        assert_ne!(rows[1][0], 0);
    }
}
