//! Differentiable kernels for the paper's models, as candle custom ops with
//! a forward and a backward pass.
//!
//! candle 0.11 leaves the models on slow compositions: its CPU `conv1d`
//! gives wrong weight gradients for batches over one, and max-pooling with
//! kernel ≠ stride, the fused layer norm, softmax and rope have no backward
//! pass. Each op here runs its own CPU kernel (f32 or f64; the gemms through
//! the `gemm` crate, one batch element per thread) and, on any other device
//! or dtype, the composition of candle ops it replaces, which is also its
//! reference in the tests. Every op has a finite-difference gradient test in
//! f64.
//!
//! | op | replaces |
//! | --- | --- |
//! | [`conv1d`] | narrow/stack/matmul im2col |
//! | [`max_pool1d`] | one `index_select` per window offset, then `max` |
//! | [`layer_norm`] | mean, centre, variance, divide, scale, shift |
//! | [`attention`] | matmul, mask, softmax, dropout, matmul |
//! | [`gated_gelu`] | narrow, gelu, multiply |
//! | [`lstm_cell`] | four gate activations and the state update |
//! | [`lstm_layer`] | a per-step loop of matmul and cell over a sequence |

mod attention;
mod conv1d;
#[cfg(test)]
pub(crate) mod finite_difference;
mod gated_gelu;
mod kernels;
mod layer_norm;
mod lstm_cell;
mod lstm_layer;
mod max_pool1d;
mod profile;

pub use attention::{attention, AttentionDropout};
pub use conv1d::{conv1d, Conv1dSpec};
pub use gated_gelu::gated_gelu;
pub use layer_norm::layer_norm;
pub use lstm_cell::lstm_cell;
pub use lstm_layer::lstm_layer;
pub use max_pool1d::max_pool1d;
pub use profile::{op_times, reset_op_times, OPS};
