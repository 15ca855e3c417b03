//! One LSTM direction over a whole sequence: the recurrent matmul and the
//! [`lstm_cell`](super::lstm_cell) step, for every step, in one op.
//!
//! As a graph of per-step ops, each step's slice of the input projection
//! costs a gradient the size of the whole projection (candle pads a
//! `narrow`'s gradient back to its input), 36 of them for DanQ's 36 steps.
//! Here the rows of a batch are split over the threads, each runs the
//! recurrence for its rows alone, and the backward pass (backpropagation
//! through time) recomputes the gates and cell states of its rows first.

use std::any::Any;
use std::sync::Mutex;

use candle_core::{CpuStorage, CustomOp2, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use super::kernels::{
    by_dtype, gemm, on_cpu_kernel, output, par_items, slice, storage_dtype, tensor, with_data, Mat,
    Real,
};
use super::lstm_cell::{step, step_back};

struct LstmLayer {
    reverse: bool,
    /// The forward pass's gates, cells and states, for the backward pass
    /// (a `Vec<Part<T>>`); taken by it, so freed once used.
    saved: Mutex<Option<Box<dyn Any + Send>>>,
}

/// One thread's rows through the whole sequence: pre-activation gates
/// `(steps, rows, 4·hidden)`, cells and states `(steps, rows, hidden)`, in
/// the order the steps are taken.
struct Part<T> {
    first: usize,
    rows: usize,
    gates: Vec<T>,
    cells: Vec<T>,
    states: Vec<T>,
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

    /// One thread's rows run from the start.
    fn part<T: Real>(&self, d: Dims, input: &[T], w: &[T], first: usize, rows: usize) -> Part<T> {
        let (h, g4) = (d.hidden, 4 * d.hidden);
        let mut part = Part {
            first,
            rows,
            gates: vec![T::ZERO; d.steps * rows * g4],
            cells: vec![T::ZERO; d.steps * rows * h],
            states: vec![T::ZERO; d.steps * rows * h],
        };
        self.run(
            d,
            input,
            w,
            first,
            rows,
            &mut part.gates,
            &mut part.cells,
            &mut part.states,
        );
        part
    }

    fn forward<T: Real>(&self, d: Dims, batch: usize, input: &[T], w: &[T]) -> Vec<T> {
        let h = d.hidden;
        let item = d.steps * h;
        let mut out = vec![T::ZERO; batch * item];
        let parts = Mutex::new(Vec::new());
        par_items(&mut out, item, |first, outs| {
            let rows = outs.len() / item;
            let part = self.part(d, input, w, first, rows);
            for s in 0..d.steps {
                let t = self.time(d, s);
                for r in 0..rows {
                    outs[(r * d.steps + t) * h..][..h]
                        .copy_from_slice(&part.states[(s * rows + r) * h..][..h]);
                }
            }
            parts
                .lock()
                .expect("no thread panics holding it")
                .push(part);
        });
        let parts: Vec<Part<T>> = parts.into_inner().expect("no thread panicked");
        *self.saved.lock().expect("no thread panics holding it") = Some(Box::new(parts));
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
        // The forward pass's parts, or the same parts run again where it
        // kept none (a second backward pass over one graph).
        let saved = self
            .saved
            .lock()
            .expect("no thread panics holding it")
            .take()
            .and_then(|b| b.downcast::<Vec<Part<T>>>().ok())
            .map(|b| *b);
        let parts: Vec<Part<T>> = match saved {
            Some(parts) => parts,
            None => {
                let per_thread = batch.div_ceil(super::kernels::threads()).max(1);
                (0..batch)
                    .step_by(per_thread)
                    .collect::<Vec<_>>()
                    .into_par_iter()
                    .map(|first| self.part(d, input, w, first, per_thread.min(batch - first)))
                    .collect()
            }
        };
        // Each part gives its rows of dinput and its share of dw.
        let results: Vec<(usize, usize, Vec<T>, Vec<T>)> = parts
            .into_par_iter()
            .map(|mut part| {
                let dw = self.back_through_time(d, dout, w, &mut part);
                (part.first, part.rows, part.gates, dw)
            })
            .collect();
        let mut dinput = vec![T::ZERO; batch * d.steps * g4];
        let mut dw = vec![T::ZERO; g4 * h];
        for (first, rows, dgates, dw_part) in results {
            dw.iter_mut().zip(&dw_part).for_each(|(a, b)| *a += *b);
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

    /// Backpropagation through time over one part's rows: overwrites its
    /// gates with their gradients (a step's gates are not read again once
    /// the steps before it are taken) and returns its share of dw.
    fn back_through_time<T: Real>(
        &self,
        d: Dims,
        dout: &[T],
        w: &[T],
        part: &mut Part<T>,
    ) -> Vec<T> {
        let (h, g4) = (d.hidden, 4 * d.hidden);
        let (first, rows) = (part.first, part.rows);
        let mut dw = vec![T::ZERO; g4 * h];
        let zeros = vec![T::ZERO; rows * h];
        let mut dh_next = vec![T::ZERO; rows * h];
        let mut dc_next = vec![T::ZERO; rows * h];
        let mut dh = vec![T::ZERO; rows * h];
        let mut dc = vec![T::ZERO; rows * h];
        let mut dg = vec![T::ZERO; rows * g4];
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
                &part.cells[(s - 1) * rows * h..][..rows * h]
            };
            let g = &mut part.gates[s * rows * g4..][..rows * g4];
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
            g.copy_from_slice(&dg);
            std::mem::swap(&mut dc, &mut dc_next);
            if s > 0 {
                let prev_h = &part.states[(s - 1) * rows * h..][..rows * h];
                // dw += dgatesᵀ · h_prev; dh_prev = dgates · W.
                gemm(
                    &mut dw,
                    true,
                    T::ONE,
                    Mat::rows(&dg, rows, g4).t(),
                    Mat::rows(prev_h, rows, h),
                );
                gemm(
                    &mut dh_next,
                    false,
                    T::ONE,
                    Mat::rows(&dg, rows, g4),
                    Mat::rows(w, g4, h),
                );
            }
        }
        dw
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
            Ok(by_dtype!(storage_dtype(xs), T => output(
                self.forward::<T>(
                    d,
                    batch,
                    slice(self.name(), xs, xl)?,
                    slice(self.name(), ws, wl)?,
                ),
                shape,
            )))
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
            by_dtype!(x.dtype(), T => with_data::<T, _>(x, |xs| {
                with_data::<T, _>(w, |ws| {
                    with_data::<T, _>(dout, |ds| {
                        let (dx, dw) = self.backward(d, batch, xs, ws, ds);
                        Ok((
                            Some(tensor(dx, x.shape().clone())?),
                            Some(tensor(dw, w.shape().clone())?),
                        ))
                    })
                })
            }))
        })
    }
}

/// One LSTM direction from zero states: `(batch, steps, 4 · hidden)` input
/// projections (`x Wᵢₕᵀ + b`, gates in PyTorch's order) and the `(4 ·
/// hidden, hidden)` recurrent weight to every step's state, `(batch, steps,
/// hidden)`; `reverse` reads the steps last to first.
pub fn lstm_layer(input: &Tensor, recurrent: &Tensor, reverse: bool) -> Result<Tensor> {
    let recurrent = &recurrent.to_dtype(input.dtype())?;
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
        input.contiguous()?.apply_op2(
            &recurrent.contiguous()?,
            LstmLayer {
                reverse,
                saved: Mutex::new(None),
            },
        )
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
    use candle_core::{DType, Device};

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

    #[test]
    fn a_second_backward_pass_runs_the_states_again_to_the_same_gradients() {
        let dev = Device::Cpu;
        let x = candle_core::Var::from_tensor(&Tensor::randn(0f32, 1., (5, 6, 16), &dev).unwrap())
            .unwrap();
        let w = candle_core::Var::from_tensor(&Tensor::randn(0f32, 0.5, (16, 4), &dev).unwrap())
            .unwrap();
        let loss = lstm_layer(x.as_tensor(), w.as_tensor(), false)
            .unwrap()
            .sqr()
            .unwrap()
            .sum_all()
            .unwrap();
        let first = loss.backward().unwrap();
        let second = loss.backward().unwrap();
        for var in [&x, &w] {
            assert_close(first.get(var).unwrap(), second.get(var).unwrap(), 1e-6);
        }
    }
}
