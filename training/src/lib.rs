//! Training from dnabench tables: tokenizers, models, the streaming loader and
//! the train and predict loops. Tensors live here and nowhere else.

pub mod allocator;
pub mod arrays;
pub mod checkpoint;
pub mod config;
mod dataset_tracks;
pub mod downstream;
pub mod embed;
mod epochs;
pub mod heads;
pub mod loader;
pub mod losses;
pub mod models;
pub mod network;
pub mod ops;
pub mod optim;
pub mod outside;
pub mod predict;
pub mod pretrain;
pub mod runs;
pub mod seeded;
pub mod shard;
pub mod similar;
pub mod tokenizers;
pub mod train;

pub use candle_core::Device;
pub use loader::{Loader, LoaderConfig};
pub use shard::Shard;
pub use train::Progress;

pub use tokenizers::one_hot;
