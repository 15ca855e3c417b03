//! One LSTM direction over a whole sequence: the recurrent matmul and the
//! [`lstm_cell`](super::lstm_cell) step, for every step, in one op.
//!
//! As a graph of per-step ops, each step's slice of the input projection
//! costs a gradient the size of the whole projection (candle pads a
//! `narrow`'s gradient back to its input), 36 of them for DanQ's 36 steps.
//! Here the rows of a batch are split over the threads, each runs the
//! recurrence for its rows alone, and the backward pass (backpropagation
//! through time) recomputes the gates and cell states of its rows first.

use candle_core::{CpuStorage, CustomOp2, DType, Layout, Result, Shape, Tensor};

use super::kernels::{
    gemm, on_cpu_kernel, output, par_items, par_sum, slice, tensor, with_data, Mat, Real,
};
use super::lstm_cell::{step, step_back};

struct LstmLayer {
    reverse: bool,
}

#[derive(Clone, Copy)]
struct Dims {
    steps: usize,
    hidden: usize,
}

impl LstmLayer {
    /// The time index of the `s`-th step taken.
    fn time(&self, d: Dims, s: usize) -> usize {
        if self.reverse {
            d.steps - 1 - s
        } else {
            s
        }
    }

    /// Runs the recurrence for `rows` rows starting at `first`: fills
    /// `gates` (`(steps, rows, 4·hidden)`, pre-activation), `cells` and
    /// `states` (`(steps, rows, hidden)`, in the order the steps are taken).
    #[allow(clippy::too_many_arguments)]
    fn run<T: Real>(
        &self,
        d: Dims,
        input: &[T],
        w: &[T],
        first: usize,
        rows: usize,
        gates: &mut [T],
        cells: &mut [T],
        states: &mut [T],
    ) {
        let (h, g4) = (d.hidden, 4 * d.hidden);
        let zeros = vec![T::ZERO; rows * h];
        for s in 0..d.steps {
            let t = self.time(d, s);
            let g = &mut gates[s * rows * g4..][..rows * g4];
            for r in 0..rows {
                g[r * g4..][..g4].copy_from_slice(&input[((first + r) * d.steps + t) * g4..][..g4]);
            }
            let (done_h, now_h) = states.split_at_mut(s * rows * h);
            let (done_c, now_c) = cells.split_at_mut(s * rows * h);
            let (prev_h, prev_c) = if s == 0 {
                (&zeros[..], &zeros[..])
            } else {
                (&done_h[(s - 1) * rows * h..], &done_c[(s - 1) * rows * h..])
            };
            // gates += h · Wᵀ, W being (4·hidden, hidden).
            gemm(
                g,
                true,
                T::ONE,
                Mat::rows(prev_h, rows, h),
                Mat::rows(w, g4, h).t(),
            );
            for r in 0..rows {
                step(
                    &g[r * g4..][..g4],
                    &prev_c[r * h..][..h],
                    &mut now_h[r * h..][..h],
                    &mut now_c[r * h..][..h],
                );
            }
        }
    }

    fn forward<T: Real>(&self, d: Dims, batch: usize, input: &[T], w: &[T]) -> Vec<T> {
        let (h, g4) = (d.hidden, 4 * d.hidden);
        let item = d.steps * h;
        let mut out = vec![T::ZERO; batch * item];
        par_items(&mut out, item, |first, outs| {
            let rows = outs.len() / item;
            let mut gates = vec![T::ZERO; d.steps * rows * g4];
            let mut cells = vec![T::ZERO; d.steps * rows * h];
            let mut states = vec![T::ZERO; d.steps * rows * h];
            self.run(
                d,
                input,
                w,
                first,
                rows,
                &mut gates,
                &mut cells,
                &mut states,
            );
            for s in 0..d.steps {
                let t = self.time(d, s);
                for r in 0..rows {
                    outs[(r * d.steps + t) * h..][..h]
                        .copy_from_slice(&states[(s * rows + r) * h..][..h]);
                }
            }
        });
        out
    }

    /// `(dinput, dw)` from the gradient of every step's state.
    fn backward<T: Real>(
        &self,
        d: Dims,
        batch: usize,
        input: &[T],
        w: &[T],
        dout: &[T],
    ) -> (Vec<T>, Vec<T>) {
        let (h, g4) = (d.hidden, 4 * d.hidden);
        let item = d.steps * g4;
        let mut dinput = vec![T::ZERO; batch * item];
        // Each thread's rows give their part of dinput and of dw; dw is
        // summed over threads, dinput put in place afterwards.
        let dws = std::sync::Mutex::new(Vec::new());
        let dw = par_sum(batch, g4 * h, |range, dw| {
            let (first, rows) = (range.start, range.len());
            let mut gates = vec![T::ZERO; d.steps * rows * g4];
            let mut cells = vec![T::ZERO; d.steps * rows * h];
            let mut states = vec![T::ZERO; d.steps * rows * h];
            self.run(
                d,
                input,
                w,
                first,
                rows,
                &mut gates,
                &mut cells,
                &mut states,
            );
            let zeros = vec![T::ZERO; rows * h];
            let mut dh_next = vec![T::ZERO; rows * h];
            let mut dc_next = vec![T::ZERO; rows * h];
            let mut dh = vec![T::ZERO; rows * h];
            let mut dc = vec![T::ZERO; rows * h];
            let mut dgates = vec![T::ZERO; d.steps * rows * g4];
            for s in (0..d.steps).rev() {
                let t = self.time(d, s);
                for r in 0..rows {
                    let from = &dout[((first + r) * d.steps + t) * h..][..h];
                    for j in 0..h {
                        dh[r * h + j] = from[j] + dh_next[r * h + j];
                    }
                }
                let prev_c = if s == 0 {
                    &zeros[..]
                } else {
                    &cells[(s - 1) * rows * h..][..rows * h]
                };
                let g = &gates[s * rows * g4..][..rows * g4];
                let dg = &mut dgates[s * rows * g4..][..rows * g4];
                for r in 0..rows {
                    step_back(
                        &g[r * g4..][..g4],
                        &prev_c[r * h..][..h],
                        &dh[r * h..][..h],
                        &dc_next[r * h..][..h],
                        &mut dg[r * g4..][..g4],
                        &mut dc[r * h..][..h],
                    );
                }
                std::mem::swap(&mut dc, &mut dc_next);
                if s > 0 {
                    let prev_h = &states[(s - 1) * rows * h..][..rows * h];
                    // dw += dgatesᵀ · h_prev; dh_prev = dgates · W.
                    gemm(
                        dw,
                        true,
                        T::ONE,
                        Mat::rows(dg, rows, g4).t(),
                        Mat::rows(prev_h, rows, h),
                    );
                    gemm(
                        &mut dh_next,
                        false,
                        T::ONE,
                        Mat::rows(dg, rows, g4),
                        Mat::rows(w, g4, h),
                    );
                }
            }
            dws.lock()
                .expect("no thread panics holding it")
                .push((first, rows, dgates));
        });
        for (first, rows, dgates) in dws.into_inner().expect("no thread panicked") {
            for s in 0..d.steps {
                let t = self.time(d, s);
                for r in 0..rows {
                    dinput[((first + r) * d.steps + t) * g4..][..g4]
                        .copy_from_slice(&dgates[(s * rows + r) * g4..][..g4]);
                }
            }
        }
        (dinput, dw)
    }
}

impl CustomOp2 for LstmLayer {
    fn name(&self) -> &'static str {
        "lstm_layer"
    }

    fn cpu_fwd(
        &self,
        xs: &CpuStorage,
        xl: &Layout,
        ws: &CpuStorage,
        wl: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        super::profile::timed(self.name(), false, || {
            let (batch, steps, _) = xl.shape().dims3()?;
            let (_, hidden) = wl.shape().dims2()?;
            let d = Dims { steps, hidden };
            let shape = (batch, steps, hidden);
            Ok(match xs {
                CpuStorage::F32(_) => output(
                    self.forward::<f32>(
                        d,
                        batch,
                        slice(self.name(), xs, xl)?,
                        slice(self.name(), ws, wl)?,
                    ),
                    shape,
                ),
                _ => output(
                    self.forward::<f64>(
                        d,
                        batch,
                        slice(self.name(), xs, xl)?,
                        slice(self.name(), ws, wl)?,
                    ),
                    shape,
                ),
            })
        })
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _out: &Tensor,
        dout: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        super::profile::timed(self.name(), true, || {
            let (batch, steps, _) = x.dims3()?;
            let (_, hidden) = w.dims2()?;
            let d = Dims { steps, hidden };
            macro_rules! run {
                ($t:ty) => {
                    with_data::<$t, _>(x, |xs| {
                        with_data::<$t, _>(w, |ws| {
                            with_data::<$t, _>(dout, |ds| {
                                let (dx, dw) = self.backward(d, batch, xs, ws, ds);
                                Ok((
                                    Some(tensor(dx, x.shape().clone())?),
                                    Some(tensor(dw, w.shape().clone())?),
                                ))
                            })
                        })
                    })
                };
            }
            match x.dtype() {
                DType::F32 => run!(f32),
                _ => run!(f64),
            }
        })
    }
}

/// One LSTM direction from zero states: `(batch, steps, 4 · hidden)` input
/// projections (`x Wᵢₕᵀ + b`, gates in PyTorch's order) and the `(4 ·
/// hidden, hidden)` recurrent weight to every step's state, `(batch, steps,
/// hidden)`; `reverse` reads the steps last to first.
pub fn lstm_layer(input: &Tensor, recurrent: &Tensor, reverse: bool) -> Result<Tensor> {
    let (_, _, gates) = input.dims3()?;
    let (rows, hidden) = recurrent.dims2()?;
    if rows != 4 * hidden || gates != rows {
        candle_core::bail!(
            "lstm_layer: input {:?} and recurrent weight {:?} must be (batch, steps, 4·hidden) and (4·hidden, hidden)",
            input.dims(),
            recurrent.dims()
        );
    }
    if on_cpu_kernel(&[input, recurrent]) {
        input
            .contiguous()?
            .apply_op2(&recurrent.contiguous()?, LstmLayer { reverse })
    } else {
        composed(input, recurrent, reverse)
    }
}

/// The same recurrence as a graph of per-step candle ops.
fn composed(input: &Tensor, recurrent: &Tensor, reverse: bool) -> Result<Tensor> {
    let (batch, steps, _) = input.dims3()?;
    let hidden = recurrent.dim(1)?;
    let mut h = Tensor::zeros((batch, hidden), input.dtype(), input.device())?;
    let mut c = h.clone();
    let mut states = vec![None; steps];
    let order: Vec<usize> = if reverse {
        (0..steps).rev().collect()
    } else {
        (0..steps).collect()
    };
    for t in order {
        let gates = (input.narrow(1, t, 1)?.squeeze(1)? + h.matmul(&recurrent.t()?)?)?;
        let both = super::lstm_cell::composed(&gates, &c)?;
        h = both.narrow(1, 0, hidden)?;
        c = both.narrow(1, hidden, hidden)?;
        states[t] = Some(h.clone());
    }
    let states: Vec<Tensor> = states.into_iter().flatten().collect();
    Tensor::stack(&states, 1)
}

#[cfg(test)]
mod tests {
    use candle_core::Device;

    use super::*;
    use crate::ops::finite_difference::{assert_close, check_gradients};

    #[test]
    fn forward_equals_the_composition_and_gradients_equal_finite_differences() {
        let dev = Device::Cpu;
        for reverse in [false, true] {
            let x = Tensor::randn(0f32, 1., (5, 7, 12), &dev).unwrap();
            let w = Tensor::randn(0f32, 0.5, (12, 3), &dev).unwrap();
            assert_close(
                &lstm_layer(&x, &w, reverse).unwrap(),
                &composed(&x, &w, reverse).unwrap(),
                1e-5,
            );
            let x = Tensor::randn(0f64, 1., (3, 4, 8), &dev).unwrap();
            let w = Tensor::randn(0f64, 0.5, (8, 2), &dev).unwrap();
            check_gradients(&[x, w], |v| lstm_layer(&v[0], &v[1], reverse));
        }
        let x = Tensor::zeros((1, 2, 8), DType::F64, &dev).unwrap();
        let w = Tensor::zeros((8, 3), DType::F64, &dev).unwrap();
        assert!(lstm_layer(&x, &w, false).is_err());
    }
}
