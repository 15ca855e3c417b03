//! 1-d convolution as im2col and one gemm per sequence, with input, weight
//! and bias gradients.
//!
//! Forward, for each sequence: the input's windows are unfolded into a
//! `(channels · kernel, positions)` matrix and `y = W · columns + b`.
//! Backward: `dW = Σ dy · columnsᵀ` (one accumulator a thread),
//! `dcolumns = Wᵀ · dy` folded back onto the input, `db = Σ dy`. The
//! columns are unfolded again in the backward pass rather than kept: one
//! sequence's worth of scratch a thread instead of the batch's.

use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Tensor};

use rayon::prelude::*;

use super::kernels::{
    by_dtype, gemm, on_cpu_kernel, output, par_items, slice, storage_dtype, tensor, threads,
    with_data, Mat, Real,
};

/// Padding, stride and dilation of a [`conv1d`], and whether a ReLU
/// follows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv1dSpec {
    /// Zeros before and after the sequence.
    pub padding: (usize, usize),
    pub stride: usize,
    pub dilation: usize,
    /// `max(0, ·)` on the output, in the same pass (and its gradient mask
    /// in the backward pass): candle's `relu` takes one tensor forward and
    /// three backward.
    pub relu: bool,
}

impl Default for Conv1dSpec {
    fn default() -> Self {
        Conv1dSpec {
            padding: (0, 0),
            stride: 1,
            dilation: 1,
            relu: false,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Dims {
    batch: usize,
    channels: usize,
    length: usize,
    out: usize,
    kernel: usize,
    positions: usize,
}

impl Conv1dSpec {
    fn positions(&self, length: usize, kernel: usize) -> Option<usize> {
        let padded = length + self.padding.0 + self.padding.1;
        let span = self.dilation * (kernel - 1) + 1;
        Some(padded.checked_sub(span)? / self.stride + 1)
    }

    fn dims(&self, x: &Shape, w: &Shape) -> Result<Dims> {
        let (batch, channels, length) = x.dims3()?;
        let (out, in_channels, kernel) = w.dims3()?;
        if in_channels != channels || kernel == 0 || self.stride == 0 || self.dilation == 0 {
            candle_core::bail!(
                "conv1d: input {x:?} and weight {w:?} (stride {}, dilation {}) do not fit",
                self.stride,
                self.dilation
            );
        }
        let Some(positions) = self.positions(length, kernel) else {
            candle_core::bail!(
                "conv1d: input of length {length} (padding {:?}) is shorter than the kernel {kernel} at dilation {}",
                self.padding,
                self.dilation
            )
        };
        Ok(Dims {
            batch,
            channels,
            length,
            out,
            kernel,
            positions,
        })
    }

    /// The input position window `k` of output `p` reads, if inside.
    #[inline]
    fn source(&self, p: usize, k: usize, length: usize) -> Option<usize> {
        (p * self.stride + k * self.dilation)
            .checked_sub(self.padding.0)
            .filter(|&i| i < length)
    }

    /// One sequence's `(channels, length)` into `(channels · kernel,
    /// positions)` columns, each row `stride` apart: a group's sequences
    /// sit side by side in one matrix.
    fn unfold<T: Real>(&self, d: &Dims, x: &[T], columns: &mut [T], stride: usize) {
        for c in 0..d.channels {
            let row = &x[c * d.length..(c + 1) * d.length];
            for k in 0..d.kernel {
                let col = &mut columns[(c * d.kernel + k) * stride..][..d.positions];
                if self.stride == 1 {
                    // One copy of the run inside the sequence, zeros around it.
                    let shift = k * self.dilation;
                    let first = self.padding.0.saturating_sub(shift).min(d.positions);
                    let last = (d.length + self.padding.0)
                        .saturating_sub(shift)
                        .clamp(first, d.positions);
                    col[..first].fill(T::ZERO);
                    col[last..].fill(T::ZERO);
                    if last > first {
                        let from = first + shift - self.padding.0;
                        col[first..last].copy_from_slice(&row[from..from + last - first]);
                    }
                } else {
                    for (p, v) in col.iter_mut().enumerate() {
                        *v = self.source(p, k, d.length).map_or(T::ZERO, |i| row[i]);
                    }
                }
            }
        }
    }

    /// Adds `(channels · kernel, positions)` columns, rows `stride` apart,
    /// back onto one sequence's `(channels, length)` gradient.
    fn fold<T: Real>(&self, d: &Dims, columns: &[T], stride: usize, dx: &mut [T]) {
        dx.fill(T::ZERO);
        for c in 0..d.channels {
            let row = &mut dx[c * d.length..(c + 1) * d.length];
            for k in 0..d.kernel {
                let col = &columns[(c * d.kernel + k) * stride..][..d.positions];
                for (p, v) in col.iter().enumerate() {
                    if let Some(i) = self.source(p, k, d.length) {
                        row[i] += *v;
                    }
                }
            }
        }
    }

    /// Sequences a gemm takes at once: enough for about 512 columns, as
    /// one sequence's few positions make a narrow, slow product.
    fn group(d: &Dims) -> usize {
        512usize.div_ceil(d.positions).clamp(1, d.batch.max(1))
    }

    fn forward<T: Real>(&self, d: &Dims, x: &[T], w: &[T], b: &[T]) -> Vec<T> {
        let rows = d.channels * d.kernel;
        let (x_len, y_len) = (d.channels * d.length, d.out * d.positions);
        let group = Self::group(d);
        let mut y = vec![T::ZERO; d.batch * y_len];
        par_items(&mut y, y_len, |first, ys| {
            let mut columns = vec![T::ZERO; rows * group * d.positions];
            let mut product = vec![T::ZERO; d.out * group * d.positions];
            for (g, ys) in ys.chunks_mut(group * y_len).enumerate() {
                let size = ys.len() / y_len;
                let width = size * d.positions;
                let n0 = first + g * group;
                for i in 0..size {
                    let x = &x[(n0 + i) * x_len..][..x_len];
                    self.unfold(d, x, &mut columns[i * d.positions..], width);
                }
                gemm(
                    &mut product[..d.out * width],
                    false,
                    T::ONE,
                    Mat::rows(w, d.out, rows),
                    Mat::rows(&columns[..rows * width], rows, width),
                );
                for (i, y) in ys.chunks_mut(y_len).enumerate() {
                    for (o, row) in y.chunks_mut(d.positions).enumerate() {
                        let from = &product[o * width + i * d.positions..][..d.positions];
                        if self.relu {
                            row.iter_mut()
                                .zip(from)
                                .for_each(|(v, p)| *v = Real::max(*p + b[o], T::ZERO));
                        } else {
                            row.iter_mut().zip(from).for_each(|(v, p)| *v = *p + b[o]);
                        }
                    }
                }
            }
        });
        y
    }

    /// `(dx, dw, db)`; `dx` only if asked. Each thread takes a run of
    /// sequences in groups: `dW += dY · columnsᵀ` over the group's columns
    /// at once, and `dcolumns = Wᵀ · dY` folded back onto each sequence.
    fn backward<T: Real>(
        &self,
        d: &Dims,
        x: &[T],
        w: &[T],
        dy: &[T],
        want_dx: bool,
    ) -> (Option<Vec<T>>, Vec<T>, Vec<T>) {
        let rows = d.channels * d.kernel;
        let (x_len, y_len) = (d.channels * d.length, d.out * d.positions);
        let group = Self::group(d);
        let per_thread = d.batch.div_ceil(threads()).max(1);
        let mut dx = vec![T::ZERO; if want_dx { d.batch * x_len } else { 0 }];
        let mut parts: Vec<(usize, Option<&mut [T]>)> = Vec::new();
        if want_dx {
            for (i, chunk) in dx.chunks_mut(per_thread * x_len).enumerate() {
                parts.push((i * per_thread, Some(chunk)));
            }
        } else {
            parts.extend((0..d.batch).step_by(per_thread).map(|n| (n, None)));
        }
        let dw = parts
            .into_par_iter()
            .map(|(first, mut dxs)| {
                let last = (first + per_thread).min(d.batch);
                let mut dw = vec![T::ZERO; d.out * rows];
                let mut columns = vec![T::ZERO; rows * group * d.positions];
                let mut grads = vec![T::ZERO; d.out * group * d.positions];
                for n0 in (first..last).step_by(group) {
                    let size = group.min(last - n0);
                    let width = size * d.positions;
                    for i in 0..size {
                        let x = &x[(n0 + i) * x_len..][..x_len];
                        self.unfold(d, x, &mut columns[i * d.positions..], width);
                        for o in 0..d.out {
                            grads[o * width + i * d.positions..][..d.positions].copy_from_slice(
                                &dy[(n0 + i) * y_len + o * d.positions..][..d.positions],
                            );
                        }
                    }
                    let dy_group = Mat::rows(&grads[..d.out * width], d.out, width);
                    gemm(
                        &mut dw,
                        n0 > first,
                        T::ONE,
                        dy_group,
                        Mat::rows(&columns[..rows * width], rows, width).t(),
                    );
                    if let Some(dxs) = dxs.as_deref_mut() {
                        gemm(
                            &mut columns[..rows * width],
                            false,
                            T::ONE,
                            Mat::rows(w, d.out, rows).t(),
                            dy_group,
                        );
                        for i in 0..size {
                            let dx = &mut dxs[(n0 + i - first) * x_len..][..x_len];
                            self.fold(d, &columns[i * d.positions..], width, dx);
                        }
                    }
                }
                dw
            })
            .reduce_with(|mut a, b| {
                a.iter_mut().zip(&b).for_each(|(x, y)| *x += *y);
                a
            })
            .unwrap_or_else(|| vec![T::ZERO; d.out * rows]);
        let mut db = vec![T::ZERO; d.out];
        for y in dy.chunks(y_len) {
            for (o, row) in y.chunks(d.positions).enumerate() {
                db[o] += row.iter().fold(T::ZERO, |s, v| s + *v);
            }
        }
        (want_dx.then_some(dx), dw, db)
    }
}

struct Conv1dOp(Conv1dSpec);

impl CustomOp3 for Conv1dOp {
    fn name(&self) -> &'static str {
        "conv1d"
    }

    fn cpu_fwd(
        &self,
        xs: &CpuStorage,
        xl: &Layout,
        ws: &CpuStorage,
        wl: &Layout,
        bs: &CpuStorage,
        bl: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        super::profile::timed(self.name(), false, || {
            let d = self.0.dims(xl.shape(), wl.shape())?;
            let shape = (d.batch, d.out, d.positions);
            Ok(
                by_dtype!(storage_dtype(xs), T => { let y = self.0.forward::<T>(
                        &d,
                        slice(self.name(), xs, xl)?,
                        slice(self.name(), ws, wl)?,
                        slice(self.name(), bs, bl)?,
                    );
                    output(y, shape) }),
            )
        })
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        b: &Tensor,
        y: &Tensor,
        dy: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        super::profile::timed(self.name(), true, || {
            let d = self.0.dims(x.shape(), w.shape())?;
            // Through the ReLU: no gradient where it gave 0.
            let y = if self.0.relu { Some(y) } else { None };
            // The one-hot input of a first layer needs no gradient.
            let want_dx = x.track_op();
            by_dtype!(x.dtype(), T => with_data::<T, _>(x, |x| {
                with_data::<T, _>(w, |w| {
                    with_data::<T, _>(dy, |dy| {
                        let masked = match y {
                            Some(y) => Some(with_data::<T, _>(y, |y| {
                                Ok(dy
                                    .iter()
                                    .zip(y)
                                    .map(|(g, v)| if *v > 0.0 { *g } else { 0.0 })
                                    .collect::<Vec<T>>())
                            })?),
                            None => None,
                        };
                        let dy = masked.as_deref().unwrap_or(dy);
                        let (dx, dw, db) = self.0.backward(&d, x, w, dy, want_dx);
                        Ok((
                            dx.map(|dx| tensor(dx, x_shape(&d))).transpose()?,
                            Some(tensor(dw, (d.out, d.channels, d.kernel))?),
                            Some(tensor(db, b.shape().clone())?),
                        ))
                    })
                })
            }))
        })
    }
}

fn x_shape(d: &Dims) -> (usize, usize, usize) {
    (d.batch, d.channels, d.length)
}

/// `(batch, in, length)` convolved with `(out, in, kernel)` weights plus a
/// `(out)` bias: `(batch, out, positions)`, as PyTorch's `conv1d`.
pub fn conv1d(x: &Tensor, weight: &Tensor, bias: &Tensor, spec: Conv1dSpec) -> Result<Tensor> {
    let (weight, bias) = (&weight.to_dtype(x.dtype())?, &bias.to_dtype(x.dtype())?);
    spec.dims(x.shape(), weight.shape())?;
    if on_cpu_kernel(&[x, weight, bias]) {
        x.contiguous()?
            .apply_op3(&weight.contiguous()?, &bias.contiguous()?, Conv1dOp(spec))
    } else {
        composed(x, weight, bias, spec)
    }
}

/// The same convolution in candle ops: pad, one strided selection per
/// kernel offset, stack, matmul. Slow, but exact and on every device.
fn composed(x: &Tensor, weight: &Tensor, bias: &Tensor, spec: Conv1dSpec) -> Result<Tensor> {
    let d = spec.dims(x.shape(), weight.shape())?;
    // index_select takes contiguous input only (a transposed x is not).
    let x = x
        .pad_with_zeros(2, spec.padding.0, spec.padding.1)?
        .contiguous()?;
    let shifted = (0..d.kernel)
        .map(|k| {
            let index: Vec<u32> = (0..d.positions)
                .map(|p| (p * spec.stride + k * spec.dilation) as u32)
                .collect();
            x.index_select(&Tensor::from_vec(index, d.positions, x.device())?, 2)
        })
        .collect::<Result<Vec<_>>>()?;
    let columns =
        Tensor::stack(&shifted, 2)?.reshape((d.batch, d.channels * d.kernel, d.positions))?;
    let y = weight
        .reshape((d.out, d.channels * d.kernel))?
        .broadcast_matmul(&columns)?
        .broadcast_add(&bias.reshape((1, d.out, 1))?)?;
    if spec.relu {
        y.relu()
    } else {
        Ok(y)
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{DType, Device};

    use super::*;
    use crate::ops::finite_difference::{assert_close, check_gradients};

    const SPECS: [Conv1dSpec; 4] = [
        Conv1dSpec {
            padding: (0, 0),
            stride: 1,
            dilation: 1,
            relu: false,
        },
        Conv1dSpec {
            padding: (3, 2),
            stride: 1,
            dilation: 2,
            relu: false,
        },
        Conv1dSpec {
            padding: (1, 1),
            stride: 3,
            dilation: 1,
            relu: false,
        },
        Conv1dSpec {
            padding: (2, 2),
            stride: 1,
            dilation: 1,
            relu: true,
        },
    ];

    #[test]
    fn forward_equals_the_composition_and_candles_own_forward() {
        let dev = Device::Cpu;
        for spec in SPECS {
            let x = Tensor::randn(0f32, 1., (3, 4, 17), &dev).unwrap();
            let w = Tensor::randn(0f32, 1., (5, 4, 4), &dev).unwrap();
            let b = Tensor::randn(0f32, 1., 5, &dev).unwrap();
            let ours = conv1d(&x, &w, &b, spec).unwrap();
            assert_close(&ours, &composed(&x, &w, &b, spec).unwrap(), 1e-5);
            if spec.padding.0 == spec.padding.1 && !spec.relu {
                // candle's forward is right; its weight gradient is not.
                let cfg = candle_nn::Conv1dConfig {
                    padding: spec.padding.0,
                    stride: spec.stride,
                    dilation: spec.dilation,
                    groups: 1,
                    cudnn_fwd_algo: None,
                };
                let theirs = candle_nn::Conv1d::new(w.clone(), Some(b.clone()), cfg);
                use candle_core::Module;
                assert_close(&ours, &theirs.forward(&x).unwrap(), 1e-5);
            }
        }
    }

    #[test]
    fn gradients_equal_finite_differences() {
        let dev = Device::Cpu;
        for spec in SPECS {
            let x = Tensor::randn(0f64, 1., (3, 2, 11), &dev).unwrap();
            let w = Tensor::randn(0f64, 1., (3, 2, 3), &dev).unwrap();
            let b = Tensor::randn(0f64, 1., 3, &dev).unwrap();
            check_gradients(&[x, w, b], |v| conv1d(&v[0], &v[1], &v[2], spec));
        }
        let x = Tensor::zeros((1, 1, 2), DType::F64, &dev).unwrap();
        let w = Tensor::zeros((1, 1, 3), DType::F64, &dev).unwrap();
        let b = Tensor::zeros(1, DType::F64, &dev).unwrap();
        let err = conv1d(&x, &w, &b, Conv1dSpec::default()).unwrap_err();
        assert!(err.to_string().contains("shorter than the kernel"), "{err}");
    }
}
