//! Mixed precision: a bf16 forward pass over f32 master weights.
//!
//! The weights stay f32 variables (the optimizer's copy); each op casts
//! them to the activations' dtype where it reads them (`to_dtype`, which
//! candle differentiates and makes a no-op for a weight already in that
//! dtype), so gradients reach the variables in f32. The matmuls and
//! convolutions run in the activations' dtype; the norms and the softmax,
//! whose sums lose too much in bf16's 8-bit mantissa, run in f32, as
//! PyTorch's autocast runs them.

use candle_core::{DType, Result, Tensor};

/// Whether `dtype` is a half-precision float, computed in f32 by the ops
/// that sum over many elements.
fn is_half(dtype: DType) -> bool {
    matches!(dtype, DType::BF16 | DType::F16)
}

/// `op` over `inputs` cast to f32 when `inputs[0]` is half precision, its
/// result cast back; `op` over `inputs` as they are otherwise.
pub fn in_f32(inputs: &[&Tensor], op: impl FnOnce(&[Tensor]) -> Result<Tensor>) -> Result<Tensor> {
    let dtype = inputs[0].dtype();
    if !is_half(dtype) {
        let same: Vec<Tensor> = inputs.iter().map(|&t| t.clone()).collect();
        return op(&same);
    }
    let wide = inputs
        .iter()
        .map(|t| t.to_dtype(DType::F32))
        .collect::<Result<Vec<_>>>()?;
    op(&wide)?.to_dtype(dtype)
}
