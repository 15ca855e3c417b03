//! A bidirectional LSTM: one forward and one backward pass over the
//! sequence, their states concatenated (candle's `LSTM` is one layer in one
//! direction). The input projections of every step are one matmul; the
//! recurrence is the [`ops::lstm_layer`](crate::ops::lstm_layer) kernel.

use candle_core::{Module, Result, Tensor, D};
use candle_nn::{linear_no_bias, VarBuilder};

use crate::ops::lstm_layer;

use super::linear::{linear, Linear};

/// One direction: gates in the order input, forget, cell, output.
#[derive(Debug)]
struct Direction {
    input: Linear,
    recurrent: candle_nn::Linear,
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
    fn forward(&self, x: &Tensor, reverse: bool) -> Result<Tensor> {
        lstm_layer(&self.input.forward(x)?, self.recurrent.weight(), reverse)
    }
}

#[derive(Debug)]
pub struct BiLstm {
    forward: Direction,
    backward: Direction,
}

impl BiLstm {
    pub fn new(vb: VarBuilder, inputs: usize, hidden: usize) -> Result<Self> {
        Ok(BiLstm {
            forward: Direction::new(vb.pp("forward"), inputs, hidden)?,
            backward: Direction::new(vb.pp("backward"), inputs, hidden)?,
        })
    }

    /// `(batch, steps, inputs)` to `(batch, steps, 2 · hidden)`: forward
    /// states, then backward ones.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let f = self.forward.forward(x, false)?;
        let b = self.backward.forward(x, true)?;
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
            .forward(&last_only, true)
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
