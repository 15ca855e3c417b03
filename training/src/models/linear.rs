//! A linear layer initialised as PyTorch's `nn.Linear`: weights and bias
//! uniform in ±1/√fan_in.
//!
//! candle's `linear` draws Kaiming-normal weights, √6 times PyTorch's spread.
//! On the quickstart's methylation task (a few hundred examples) the CNN's
//! head with that start did not generalize (test Spearman 0.02), where the
//! same model and data in PyTorch reach about 0.5; with this start it does.

use candle_core::Result;
use candle_nn::{Init, Linear, VarBuilder};

pub fn linear(in_dim: usize, out_dim: usize, vb: VarBuilder) -> Result<Linear> {
    let bound = 1.0 / (in_dim as f64).sqrt();
    let uniform = Init::Uniform {
        lo: -bound,
        up: bound,
    };
    let weight = vb.get_with_hints((out_dim, in_dim), "weight", uniform)?;
    let bias = vb.get_with_hints(out_dim, "bias", uniform)?;
    Ok(Linear::new(weight, Some(bias)))
}
