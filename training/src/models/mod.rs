//! Models, candle-transformers style: a plain config struct, `new(vb, &cfg)`
//! and `forward`.

pub mod cnn;
pub mod conv;
#[cfg(test)]
mod planted;
pub mod transformer;

pub use cnn::{CnnConfig, CnnFc};
pub use transformer::{Positions, Transformer, TransformerConfig};
