//! Training from dnabench tables: tokenizers, models, the streaming loader and
//! the train and predict loops. Tensors live here and nowhere else.

pub mod one_hot;

pub use one_hot::one_hot;
