//! One LSTM step after its matmuls: the four gate activations and the
//! state update in one pass, with gradients for the gates and the previous
//! cell state.
//!
//! Gates come in PyTorch's order, input, forget, cell, output:
//! `c' = σ(f)·c + σ(i)·tanh(g)`, `h' = σ(o)·tanh(c')`.

use candle_core::{CpuStorage, CustomOp2, Layout, Result, Shape, Tensor, D};

use super::kernels::{
    by_dtype, on_cpu_kernel, output, par_items, slice, storage_dtype, tensor, with_data, Real,
};

#[inline]
fn sigmoid<T: Real>(x: T) -> T {
    // σ(x) = (1 + tanh(x/2)) / 2, vectorized as tanh_fast is.
    T::of(0.5) * (T::ONE + (T::of(0.5) * x).tanh_fast())
}

/// `(i, f, g, o)` activated, for unit `j` of a row of `4 · hidden` gates.
#[inline]
fn activations<T: Real>(gates: &[T], hidden: usize, j: usize) -> (T, T, T, T) {
    (
        sigmoid(gates[j]),
        sigmoid(gates[hidden + j]),
        gates[2 * hidden + j].tanh_fast(),
        sigmoid(gates[3 * hidden + j]),
    )
}

/// One row's step: `h'` and `c'` from its `4 · hidden` gate
/// pre-activations and `c`.
#[inline]
pub(super) fn step<T: Real>(gates: &[T], c: &[T], h_out: &mut [T], c_out: &mut [T]) {
    let hidden = c.len();
    for j in 0..hidden {
        let (i, f, g, o) = activations(gates, hidden, j);
        let next = f * c[j] + i * g;
        c_out[j] = next;
        h_out[j] = o * next.tanh_fast();
    }
}

/// One row's step backwards: the gradients of its gate pre-activations and
/// of `c` from those of `h'` and `c'`.
#[inline]
pub(super) fn step_back<T: Real>(
    gates: &[T],
    c: &[T],
    dh: &[T],
    dc_out: &[T],
    dgates: &mut [T],
    dc: &mut [T],
) {
    let hidden = c.len();
    for j in 0..hidden {
        let (i, f, g, o) = activations(gates, hidden, j);
        let next = f * c[j] + i * g;
        let t = next.tanh_fast();
        let dnext = dc_out[j] + dh[j] * o * (T::ONE - t * t);
        dgates[j] = dnext * g * i * (T::ONE - i);
        dgates[hidden + j] = dnext * c[j] * f * (T::ONE - f);
        dgates[2 * hidden + j] = dnext * i * (T::ONE - g * g);
        dgates[3 * hidden + j] = dh[j] * t * o * (T::ONE - o);
        dc[j] = dnext * f;
    }
}

struct LstmCell;

impl LstmCell {
    /// Rows of `[h' | c']`.
    fn forward<T: Real>(gates: &[T], c: &[T], hidden: usize) -> Vec<T> {
        let rows = c.len() / hidden;
        let mut out = vec![T::ZERO; rows * 2 * hidden];
        par_items(&mut out, 2 * hidden, |first, outs| {
            for (i, out) in outs.chunks_mut(2 * hidden).enumerate() {
                let r = first + i;
                let (h_out, c_out) = out.split_at_mut(hidden);
                step(
                    &gates[r * 4 * hidden..][..4 * hidden],
                    &c[r * hidden..][..hidden],
                    h_out,
                    c_out,
                );
            }
        });
        out
    }

    /// `(dgates, dc)` from the gradient of `[h' | c']`.
    fn backward<T: Real>(gates: &[T], c: &[T], dout: &[T], hidden: usize) -> (Vec<T>, Vec<T>) {
        let rows = c.len() / hidden;
        // One buffer of rows `[dgates | dc]`, split afterwards.
        let mut both = vec![T::ZERO; rows * 5 * hidden];
        par_items(&mut both, 5 * hidden, |first, chunks| {
            for (i, chunk) in chunks.chunks_mut(5 * hidden).enumerate() {
                let r = first + i;
                let (dh, dc_out) = dout[r * 2 * hidden..][..2 * hidden].split_at(hidden);
                let (dgates, dc) = chunk.split_at_mut(4 * hidden);
                step_back(
                    &gates[r * 4 * hidden..][..4 * hidden],
                    &c[r * hidden..][..hidden],
                    dh,
                    dc_out,
                    dgates,
                    dc,
                );
            }
        });
        let mut dgates = Vec::with_capacity(rows * 4 * hidden);
        let mut dc = Vec::with_capacity(rows * hidden);
        for chunk in both.chunks(5 * hidden) {
            dgates.extend_from_slice(&chunk[..4 * hidden]);
            dc.extend_from_slice(&chunk[4 * hidden..]);
        }
        (dgates, dc)
    }
}

impl CustomOp2 for LstmCell {
    fn name(&self) -> &'static str {
        "lstm_cell"
    }

    fn cpu_fwd(
        &self,
        gs: &CpuStorage,
        gl: &Layout,
        cs: &CpuStorage,
        cl: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        super::profile::timed(self.name(), false, || {
            let (rows, hidden) = cl.shape().dims2()?;
            Ok(by_dtype!(storage_dtype(gs), T => output(
                Self::forward::<T>(
                    slice(self.name(), gs, gl)?,
                    slice(self.name(), cs, cl)?,
                    hidden,
                ),
                (rows, 2 * hidden),
            )))
        })
    }

    fn bwd(
        &self,
        gates: &Tensor,
        c: &Tensor,
        _out: &Tensor,
        dout: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        super::profile::timed(self.name(), true, || {
            let hidden = c.dim(D::Minus1)?;
            by_dtype!(gates.dtype(), T => with_data::<T, _>(gates, |gs| {
                with_data::<T, _>(c, |cs| {
                    with_data::<T, _>(dout, |ds| {
                        let (dg, dc) = Self::backward(gs, cs, ds, hidden);
                        Ok((
                            Some(tensor(dg, gates.shape().clone())?),
                            Some(tensor(dc, c.shape().clone())?),
                        ))
                    })
                })
            }))
        })
    }
}

/// `(batch, 4 · hidden)` gate pre-activations and the `(batch, hidden)`
/// cell state to the next `(h, c)`, each `(batch, hidden)`.
pub fn lstm_cell(gates: &Tensor, c: &Tensor) -> Result<(Tensor, Tensor)> {
    let (rows, hidden) = c.dims2()?;
    if gates.dims() != [rows, 4 * hidden] {
        candle_core::bail!(
            "lstm_cell: gates {:?} must be ({rows}, {}) for a cell state {:?}",
            gates.dims(),
            4 * hidden,
            c.dims()
        );
    }
    let both = if on_cpu_kernel(&[gates, c]) {
        gates.contiguous()?.apply_op2(&c.contiguous()?, LstmCell)?
    } else {
        composed(gates, c)?
    };
    Ok((both.narrow(1, 0, hidden)?, both.narrow(1, hidden, hidden)?))
}

pub(super) fn composed(gates: &Tensor, c: &Tensor) -> Result<Tensor> {
    let hidden = c.dim(D::Minus1)?;
    let chunk = |i: usize| gates.narrow(D::Minus1, i * hidden, hidden);
    let input = candle_nn::ops::sigmoid(&chunk(0)?)?;
    let forget = candle_nn::ops::sigmoid(&chunk(1)?)?;
    let cell = chunk(2)?.tanh()?;
    let out = candle_nn::ops::sigmoid(&chunk(3)?)?;
    let next = ((forget * c)? + (input * cell)?)?;
    let h = (out * next.tanh()?)?;
    Tensor::cat(&[h, next], D::Minus1)
}

#[cfg(test)]
mod tests {
    use candle_core::Device;

    use super::*;
    use crate::ops::finite_difference::{assert_close, check_gradients};

    #[test]
    fn forward_equals_the_composition_and_gradients_equal_finite_differences() {
        let dev = Device::Cpu;
        let g = Tensor::randn(0f32, 2., (3, 20), &dev).unwrap();
        let c = Tensor::randn(0f32, 1., (3, 5), &dev).unwrap();
        let (h, next) = lstm_cell(&g, &c).unwrap();
        let reference = composed(&g, &c).unwrap();
        assert_close(&Tensor::cat(&[h, next], 1).unwrap(), &reference, 1e-5);
        let g = Tensor::randn(0f64, 2., (2, 12), &dev).unwrap();
        let c = Tensor::randn(0f64, 1., (2, 3), &dev).unwrap();
        // Both outputs, so that the gradient of each reaches the inputs.
        check_gradients(&[g, c], |v| {
            let (h, c) = lstm_cell(&v[0], &v[1])?;
            Tensor::cat(&[h, c], 1)
        });
        let c = Tensor::zeros((2, 4), candle_core::DType::F64, &dev).unwrap();
        let g = Tensor::zeros((2, 12), candle_core::DType::F64, &dev).unwrap();
        assert!(lstm_cell(&g, &c).is_err());
    }
}
