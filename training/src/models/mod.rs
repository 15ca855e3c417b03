//! Models, candle-transformers style: a plain config struct, `new(vb, &cfg)`
//! and `forward`.

pub mod cnn;

pub use cnn::{CnnConfig, CnnFc};
