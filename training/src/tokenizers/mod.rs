//! Tokenizers: how a DNA sequence becomes model input, one file each.
//!
//! - [`one_hot`]: a `(batch, 4, length)` tensor; the CNN's first convolution
//!   (kernel 25) and max-pool (stride 4) then act as the learned tokenizer.
//! - [`kmer`]: overlapping k-mers (k = 5, stride 1) as token ids.
//! - [`kpatch`]: non-overlapping k-patches (k = 4) over `NAGCT`, the paper's
//!   Transformer vocabulary (5⁴ patches + 4 specials); a convolution of
//!   kernel 7 over their embeddings follows in the model.
//! - [`bpe`]: byte-pair encoding learned from the genome (16k tokens).
//!
//! Token tokenizers share the [`TokenIds`] trait and the special ids of
//! [`Special`], so models and the MLM objective treat them alike.

pub mod bpe;
pub mod kmer;
pub mod kpatch;
pub mod one_hot;

pub use bpe::{BpeConfig, BpeTokenizer};
pub use kmer::KmerTokenizer;
pub use kpatch::KpatchTokenizer;
pub use one_hot::one_hot;

/// Special tokens, at the same ids in every token vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Special {
    Pad = 0,
    Cls = 1,
    Mask = 2,
    Sep = 3,
}

/// How many special ids precede the sequence tokens.
pub const SPECIALS: u32 = 4;

/// A tokenizer that maps a sequence to token ids.
pub trait TokenIds {
    /// Every id it can give, specials included.
    fn vocab_size(&self) -> usize;
    /// The ids of `seq` (upper or lower case), without specials.
    fn encode(&self, seq: &[u8]) -> Vec<u32>;
}
