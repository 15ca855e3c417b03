//! Models, candle-transformers style: a plain config struct, `new(vb, &cfg)`
//! and `forward`.

pub mod cnn;
pub mod cnn_lstm;
pub mod conv;
pub mod linear;
pub mod lstm;
pub mod one_hot_front;
#[cfg(test)]
mod planted;
pub mod task_head;
pub mod transformer;
pub mod upper;

pub use cnn::{CnnConfig, CnnFc, ConvPadding};
pub use cnn_lstm::{CnnLstm, CnnLstmConfig};
pub use task_head::{HeadKind, TaskHead};
pub use transformer::{Positions, Readout, Transformer, TransformerConfig};
pub use upper::{UpperTransformer, UpperTransformerConfig};
