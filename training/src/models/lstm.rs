//! A bidirectional LSTM composed of differentiable operations.
//!
//! candle's `LSTM` is one layer in one direction; this runs one forward and
//! one backward pass over the sequence and concatenates their states. The
//! input projections of every step are one matmul; only the recurrent part
//! loops over steps.

use candle_core::{Module, Result, Tensor, D};
use candle_nn::{linear_no_bias, ops, Linear, VarBuilder};

use super::linear::linear;

/// One direction: gates in the order input, forget, cell, output.
#[derive(Debug)]
struct Direction {
    input: Linear,
    recurrent: Linear,
}

impl Direction {
    fn new(vb: VarBuilder, inputs: usize, hidden: usize) -> Result<Self> {
        Ok(Direction {
            input: linear(inputs, 4 * hidden, vb.pp("input"))?,
            recurrent: linear_no_bias(hidden, 4 * hidden, vb.pp("recurrent"))?,
        })
    }

    /// `(batch, steps, inputs)` to the hidden state of every step,
    /// `(batch, steps, hidden)`, reading the steps backwards if `reverse`.
    fn forward(&self, x: &Tensor, hidden: usize, reverse: bool) -> Result<Tensor> {
        let (batch, steps, _) = x.dims3()?;
        let projected = self.input.forward(x)?;
        let mut h = Tensor::zeros((batch, hidden), x.dtype(), x.device())?;
        let mut c = h.clone();
        let mut states = vec![None; steps];
        let order: Vec<usize> = if reverse {
            (0..steps).rev().collect()
        } else {
            (0..steps).collect()
        };
        for t in order {
            let gates = (projected.narrow(1, t, 1)?.squeeze(1)? + self.recurrent.forward(&h)?)?;
            let chunk = |i: usize| gates.narrow(D::Minus1, i * hidden, hidden);
            let input = ops::sigmoid(&chunk(0)?)?;
            let forget = ops::sigmoid(&chunk(1)?)?;
            let cell = chunk(2)?.tanh()?;
            let output = ops::sigmoid(&chunk(3)?)?;
            c = ((forget * &c)? + (input * cell)?)?;
            h = (output * c.tanh()?)?;
            states[t] = Some(h.clone());
        }
        let states: Vec<Tensor> = states.into_iter().flatten().collect();
        Tensor::stack(&states, 1)
    }
}

#[derive(Debug)]
pub struct BiLstm {
    forward: Direction,
    backward: Direction,
    hidden: usize,
}

impl BiLstm {
    pub fn new(vb: VarBuilder, inputs: usize, hidden: usize) -> Result<Self> {
        Ok(BiLstm {
            forward: Direction::new(vb.pp("forward"), inputs, hidden)?,
            backward: Direction::new(vb.pp("backward"), inputs, hidden)?,
            hidden,
        })
    }

    /// `(batch, steps, inputs)` to `(batch, steps, 2 · hidden)`: forward
    /// states, then backward ones.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let f = self.forward.forward(x, self.hidden, false)?;
        let b = self.backward.forward(x, self.hidden, true)?;
        Tensor::cat(&[f, b], D::Minus1)
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{DType, Device};
    use candle_nn::VarMap;

    use super::*;

    #[test]
    fn the_backward_direction_reads_the_sequence_reversed() {
        let map = VarMap::new();
        let vb = VarBuilder::from_varmap(&map, DType::F32, &Device::Cpu);
        let lstm = BiLstm::new(vb, 3, 5).unwrap();
        let x = Tensor::rand(-1f32, 1f32, (2, 7, 3), &Device::Cpu).unwrap();
        let out = lstm.forward(&x).unwrap();
        assert_eq!(out.dims(), &[2, 7, 10]);
        // The backward direction starts at the last step, so its state there
        // depends on that step alone.
        let last_only = x.narrow(1, 6, 1).unwrap();
        let b_last = lstm
            .backward
            .forward(&last_only, 5, true)
            .unwrap()
            .squeeze(1)
            .unwrap();
        let from_full = out
            .narrow(1, 6, 1)
            .unwrap()
            .squeeze(1)
            .unwrap()
            .narrow(1, 5, 5)
            .unwrap();
        let diff = (b_last - from_full)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap();
        assert!(diff.to_scalar::<f32>().unwrap() < 1e-6);
    }
}
