//! A model of any kind behind one interface, and the tokenizer that feeds
//! it: what `train`, `predict` and `pretrain` build from a run's config.

use std::sync::Arc;

use anyhow::{bail, Result};
use candle_core::{Device, Tensor};
use candle_nn::VarBuilder;
use serde::{Deserialize, Serialize};

use crate::config::{override_fields, ModelKind, TokenizerKind};
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
            ModelKind::Transformer if one_hot => {
                bail!("the transformer reads tokens; give --tokenizer kpatch, kmer or bpe")
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
                let mut cfg =
                    TransformerConfig::paper(tokenizer.max_tokens(length), outputs, positions);
                cfg.vocab = tokenizer.vocab_size();
                // The kernel-7 convolution belongs to the k-patch tokenizer.
                if !matches!(tokenizer, Encoder::Tokens(TokenizerKind::Kpatch, _)) {
                    cfg.token_conv = None;
                }
                NetworkConfig::Transformer(override_fields(&cfg, overrides, "transformer")?)
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

    /// Encoded input in, `(batch, outputs)` out.
    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        Ok(match self {
            Network::Cnn(m) => m.forward(x, train)?,
            Network::CnnLstm(m) => m.forward(x, train)?,
            Network::Transformer(m) => m.forward(x, train)?,
        })
    }

    /// The representation before the head: `(batch, features)`.
    pub fn embed(&self, x: &Tensor) -> Result<Tensor> {
        Ok(match self {
            Network::Cnn(m) => m.embed(x, false)?,
            Network::CnnLstm(m) => m.embed(x, false)?,
            Network::Transformer(m) => m.embed(x, false)?,
        })
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
        match self {
            Encoder::OneHot => Ok(crate::one_hot(seqs, device)?),
            Encoder::Tokens(_, t) => {
                let encoded: Vec<Vec<u32>> = seqs.iter().map(|s| t.encode(s)).collect();
                let width = encoded.iter().map(Vec::len).max().unwrap_or(0).max(1);
                let mut ids = vec![Special::Pad as u32; seqs.len() * width];
                for (row, e) in encoded.iter().enumerate() {
                    ids[row * width..row * width + e.len()].copy_from_slice(e);
                }
                Ok(Tensor::from_vec(ids, (seqs.len(), width), device)?)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(Encoder::new(TokenizerKind::Bpe, None).is_err());
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
