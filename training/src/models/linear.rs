//! A linear layer initialised as PyTorch's `nn.Linear`: weights and bias
//! uniform in ±1/√fan_in.
//!
//! candle's `linear` draws Kaiming-normal weights, √6 times PyTorch's spread:
//! on a task of a few hundred examples (the quickstart's methylation) the
//! CNN's head did not generalize from that start where PyTorch's did
//! (`experiments/README.md` has the scores).

use candle_core::{Module, Result, Tensor};
use candle_nn::{Init, VarBuilder};

/// A linear layer on the [`ops::linear`](crate::ops::linear) kernel.
#[derive(Debug, Clone)]
pub struct Linear {
    weight: Tensor,
    bias: Tensor,
}

impl Linear {
    /// `(outputs, inputs)` weight and `(outputs)` bias.
    pub fn new(weight: Tensor, bias: Tensor) -> Self {
        Linear { weight, bias }
    }

    pub fn weight(&self) -> &Tensor {
        &self.weight
    }
}

impl Module for Linear {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        crate::ops::linear(x, &self.weight, &self.bias)
    }
}

/// candle's `linear` (Kaiming-normal weights, as the Transformers were
/// trained with) on the kernel.
pub fn candle_init(in_dim: usize, out_dim: usize, vb: VarBuilder) -> Result<Linear> {
    let layer = candle_nn::linear(in_dim, out_dim, vb)?;
    let bias = layer.bias().expect("candle_nn::linear has a bias").clone();
    Ok(Linear::new(layer.weight().clone(), bias))
}

pub fn linear(in_dim: usize, out_dim: usize, vb: VarBuilder) -> Result<Linear> {
    let bound = 1.0 / (in_dim as f64).sqrt();
    let uniform = Init::Uniform {
        lo: -bound,
        up: bound,
    };
    let weight = vb.get_with_hints((out_dim, in_dim), "weight", uniform)?;
    let bias = vb.get_with_hints(out_dim, "bias", uniform)?;
    Ok(Linear::new(weight, bias))
}
