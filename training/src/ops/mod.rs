//! Differentiable kernels for the paper's models, as candle custom ops with
//! a forward and a backward pass.
//!
//! candle 0.11 leaves the models on slow compositions: its CPU `conv1d`
//! gives wrong weight gradients for batches over one, and max-pooling with
//! kernel ≠ stride, the fused layer norm, softmax and rope have no backward
//! pass. Each op here runs its own CPU kernel (f32 or f64; the gemms through
//! OpenBLAS where the system has it, else the `gemm` crate; the work split
//! over rayon's threads) and, on any other device
//! or dtype, the composition of candle ops it replaces, which is also its
//! reference in the tests. Every op has a finite-difference gradient test in
//! f64. Given bf16 activations and f32 weights, an op casts the weights
//! (see [`precision`] for mixed precision).
//!
//! | op | replaces |
//! | --- | --- |
//! | [`conv1d`] | narrow/stack/matmul im2col |
//! | [`max_pool1d`] | one `index_select` per window offset, then `max` |
//! | [`layer_norm`] | mean, centre, variance, divide, scale, shift |
//! | [`linear`] | candle's `Linear` (its matmul is always the `gemm` crate's) |
//! | [`qkv_heads`] | reshape, permute, copies, `rope_slow` on q and k |
//! | [`attention`] | matmul, mask, softmax, dropout, matmul |
//! | [`gated_gelu`] | narrow, gelu, multiply |
//! | [`dropout`] | candle's `Dropout`: draw, compare, cast, multiply twice |
//! | [`lstm_cell`] | four gate activations and the state update |
//! | [`lstm_layer`] | a per-step loop of matmul and cell over a sequence |
//! | [`adamw_update`] | candle's `AdamW`, a dozen tensor ops a parameter |

mod adamw;
mod attention;
mod blas;
mod conv1d;
mod dropout;
#[cfg(test)]
pub(crate) mod finite_difference;
mod gated_gelu;
mod kernels;
mod layer_norm;
mod linear;
mod lstm_cell;
mod lstm_layer;
mod max_pool1d;
#[cfg(all(test, feature = "cuda"))]
mod on_cuda;
mod precision;
mod profile;
mod qkv_heads;

pub use adamw::{adamw_update, fused_adamw_takes, sum_of_squares, AdamWStep, Moments};
pub use attention::attention;
pub use blas::{gemm_backend, load_blas};
pub use conv1d::{conv1d, Conv1dSpec};
pub use dropout::{dropout, seed_dropout, DropoutLayer, DropoutMask};
pub use gated_gelu::gated_gelu;
pub use layer_norm::layer_norm;
pub use linear::linear;
pub use lstm_cell::lstm_cell;
pub use lstm_layer::lstm_layer;
pub use max_pool1d::max_pool1d;
pub use profile::{op_times, reset_op_times, OPS};
pub use qkv_heads::qkv_heads;
