//! Training from dnabench tables: tokenizers, models, the streaming loader and
//! the train and predict loops. Tensors live here and nowhere else.

pub mod tokenizers;

pub use tokenizers::one_hot;
