//! Layer norm over the last axis in one pass a row, with gradients for the
//! input, the scale and the shift. The backward pass recomputes each row's
//! mean and deviation instead of keeping them.

use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Tensor, D};

use super::kernels::{
    by_dtype, on_cpu_kernel, output, par_items, par_sum, slice, storage_dtype, tensor, with_data,
    Real,
};
use super::precision::in_f32;

struct LayerNorm {
    eps: f64,
}

impl LayerNorm {
    /// Mean and 1/σ of one row.
    #[inline]
    fn moments<T: Real>(&self, row: &[T]) -> (T, T) {
        let n = T::of(row.len() as f64);
        let mean = row.iter().fold(T::ZERO, |s, v| s + *v) / n;
        let variance = row.iter().fold(T::ZERO, |s, v| {
            let c = *v - mean;
            s + c * c
        }) / n;
        (mean, T::ONE / (variance + T::of(self.eps)).sqrt())
    }

    fn forward<T: Real>(&self, x: &[T], gamma: &[T], beta: &[T]) -> Vec<T> {
        let width = gamma.len();
        let mut y = vec![T::ZERO; x.len()];
        par_items(&mut y, width, |first, ys| {
            for (i, y) in ys.chunks_mut(width).enumerate() {
                let row = &x[(first + i) * width..][..width];
                let (mean, inv) = self.moments(row);
                for j in 0..width {
                    y[j] = (row[j] - mean) * inv * gamma[j] + beta[j];
                }
            }
        });
        y
    }

    /// `(dx, dgamma, dbeta)`.
    fn backward<T: Real>(&self, x: &[T], gamma: &[T], dy: &[T]) -> (Vec<T>, Vec<T>) {
        let width = gamma.len();
        let rows = x.len() / width;
        // dgamma then dbeta, summed over rows.
        let scale_shift = par_sum(rows, 2 * width, |range, acc| {
            for r in range {
                let row = &x[r * width..][..width];
                let g = &dy[r * width..][..width];
                let (mean, inv) = self.moments(row);
                for j in 0..width {
                    acc[j] += g[j] * (row[j] - mean) * inv;
                    acc[width + j] += g[j];
                }
            }
        });
        let mut dx = vec![T::ZERO; x.len()];
        let n = T::of(width as f64);
        par_items(&mut dx, width, |first, dxs| {
            for (i, dx) in dxs.chunks_mut(width).enumerate() {
                let r = first + i;
                let row = &x[r * width..][..width];
                let g = &dy[r * width..][..width];
                let (mean, inv) = self.moments(row);
                let (mut sum, mut dot) = (T::ZERO, T::ZERO);
                for j in 0..width {
                    let gx = g[j] * gamma[j];
                    sum += gx;
                    dot += gx * (row[j] - mean) * inv;
                }
                let (sum, dot) = (sum / n, dot / n);
                for j in 0..width {
                    let xhat = (row[j] - mean) * inv;
                    dx[j] = inv * (g[j] * gamma[j] - sum - xhat * dot);
                }
            }
        });
        (dx, scale_shift)
    }
}

impl CustomOp3 for LayerNorm {
    fn name(&self) -> &'static str {
        "layer_norm"
    }

    fn cpu_fwd(
        &self,
        xs: &CpuStorage,
        xl: &Layout,
        gs: &CpuStorage,
        gl: &Layout,
        bs: &CpuStorage,
        bl: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        super::profile::timed(self.name(), false, || {
            let shape = xl.shape().clone();
            Ok(by_dtype!(storage_dtype(xs), T => output(
                self.forward::<T>(
                    slice(self.name(), xs, xl)?,
                    slice(self.name(), gs, gl)?,
                    slice(self.name(), bs, bl)?,
                ),
                shape,
            )))
        })
    }

    fn bwd(
        &self,
        x: &Tensor,
        gamma: &Tensor,
        _beta: &Tensor,
        _y: &Tensor,
        dy: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        super::profile::timed(self.name(), true, || {
            let width = gamma.elem_count();
            by_dtype!(x.dtype(), T => with_data::<T, _>(x, |xs| {
                with_data::<T, _>(gamma, |gs| {
                    with_data::<T, _>(dy, |dys| {
                        let (dx, mut scale_shift) = self.backward(xs, gs, dys);
                        let dbeta = scale_shift.split_off(width);
                        Ok((
                            Some(tensor(dx, x.shape().clone())?),
                            Some(tensor(scale_shift, width)?),
                            Some(tensor(dbeta, width)?),
                        ))
                    })
                })
            }))
        })
    }
}

/// `(…, width)` normalized over its last axis, scaled by `gamma` and
/// shifted by `beta` (each `(width)`), as PyTorch's `LayerNorm`.
pub fn layer_norm(x: &Tensor, gamma: &Tensor, beta: &Tensor, eps: f64) -> Result<Tensor> {
    let width = x.dim(D::Minus1)?;
    if gamma.dims() != [width] || beta.dims() != [width] {
        candle_core::bail!(
            "layer_norm: scale {:?} and shift {:?} must be ({width})",
            gamma.dims(),
            beta.dims()
        );
    }
    in_f32(&[x, gamma, beta], |t| {
        let (x, gamma, beta) = (&t[0], &t[1], &t[2]);
        if on_cpu_kernel(&[x, gamma, beta]) {
            x.contiguous()?
                .apply_op3(&gamma.contiguous()?, &beta.contiguous()?, LayerNorm { eps })
        } else {
            composed(x, gamma, beta, eps)
        }
    })
}

fn composed(x: &Tensor, gamma: &Tensor, beta: &Tensor, eps: f64) -> Result<Tensor> {
    let mean = x.mean_keepdim(D::Minus1)?;
    let centred = x.broadcast_sub(&mean)?;
    let variance = centred.sqr()?.mean_keepdim(D::Minus1)?;
    centred
        .broadcast_div(&(variance + eps)?.sqrt()?)?
        .broadcast_mul(gamma)?
        .broadcast_add(beta)
}

#[cfg(test)]
mod tests {
    use candle_core::Device;

    use super::*;
    use crate::ops::finite_difference::{assert_close, check_gradients};

    #[test]
    fn forward_equals_the_composition_and_gradients_equal_finite_differences() {
        let dev = Device::Cpu;
        let x = Tensor::randn(0f32, 2., (3, 5, 16), &dev).unwrap();
        let g = Tensor::randn(1f32, 0.5, 16, &dev).unwrap();
        let b = Tensor::randn(0f32, 0.5, 16, &dev).unwrap();
        assert_close(
            &layer_norm(&x, &g, &b, 1e-5).unwrap(),
            &composed(&x, &g, &b, 1e-5).unwrap(),
            1e-5,
        );
        let x = Tensor::randn(0f64, 2., (2, 3, 7), &dev).unwrap();
        let g = Tensor::randn(1f64, 0.5, 7, &dev).unwrap();
        let b = Tensor::randn(0f64, 0.5, 7, &dev).unwrap();
        check_gradients(&[x.clone(), g, b], |v| {
            layer_norm(&v[0], &v[1], &v[2], 1e-5)
        });
        let wrong = Tensor::ones(6, candle_core::DType::F64, &dev).unwrap();
        let err = layer_norm(&x, &wrong, &wrong, 1e-5)
            .unwrap_err()
            .to_string();
        assert!(err.contains("must be (7)"), "{err}");
    }
}
