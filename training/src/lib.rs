//! Training from dnabench tables: tokenizers, models, the streaming loader and
//! the train and predict loops. Tensors live here and nowhere else.

pub mod checkpoint;
pub mod loader;
pub mod losses;
pub mod models;
pub mod tokenizers;

pub use loader::{Loader, LoaderConfig};

pub use tokenizers::one_hot;
