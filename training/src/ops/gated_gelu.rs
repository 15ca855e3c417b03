//! The gated-GELU of a feed-forward layer, `gelu(a) · b` for the two halves
//! of the input projection, in one pass (GELU's tanh form, as candle's
//! `gelu`).

use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Tensor, D};

use super::kernels::{
    by_dtype, on_cpu_kernel, output, par_items, slice, storage_dtype, tensor, with_data, Real,
};

const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;
const CUBIC: f64 = 0.044_715;

/// gelu(x) and its derivative.
#[inline]
fn gelu<T: Real>(x: T) -> (T, T) {
    let half = T::of(0.5);
    let inner = T::of(SQRT_2_OVER_PI) * (x + T::of(CUBIC) * x * x * x);
    let t = inner.tanh_fast();
    let value = half * x * (T::ONE + t);
    let slope = half * (T::ONE + t)
        + half
            * x
            * (T::ONE - t * t)
            * T::of(SQRT_2_OVER_PI)
            * (T::ONE + T::of(3.0 * CUBIC) * x * x);
    (value, slope)
}

struct GatedGelu;

impl GatedGelu {
    fn forward<T: Real>(x: &[T], width: usize) -> Vec<T> {
        let rows = x.len() / (2 * width);
        let mut y = vec![T::ZERO; rows * width];
        par_items(&mut y, width, |first, ys| {
            for (i, y) in ys.chunks_mut(width).enumerate() {
                let row = &x[(first + i) * 2 * width..][..2 * width];
                let (a, b) = row.split_at(width);
                for j in 0..width {
                    y[j] = gelu(a[j]).0 * b[j];
                }
            }
        });
        y
    }

    fn backward<T: Real>(x: &[T], dy: &[T], width: usize) -> Vec<T> {
        let mut dx = vec![T::ZERO; x.len()];
        par_items(&mut dx, 2 * width, |first, dxs| {
            for (i, dx) in dxs.chunks_mut(2 * width).enumerate() {
                let r = first + i;
                let (a, b) = x[r * 2 * width..][..2 * width].split_at(width);
                let g = &dy[r * width..][..width];
                let (da, db) = dx.split_at_mut(width);
                for j in 0..width {
                    let (value, slope) = gelu(a[j]);
                    da[j] = g[j] * b[j] * slope;
                    db[j] = g[j] * value;
                }
            }
        });
        dx
    }
}

impl CustomOp1 for GatedGelu {
    fn name(&self) -> &'static str {
        "gated_gelu"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        super::profile::timed(self.name(), false, || {
            let mut dims = layout.shape().dims().to_vec();
            let width = dims.last().copied().unwrap_or(0) / 2;
            *dims.last_mut().expect("checked rank") = width;
            Ok(by_dtype!(storage_dtype(storage), T => output(
                Self::forward::<T>(slice(self.name(), storage, layout)?, width),
                dims,
            )))
        })
    }

    fn bwd(&self, x: &Tensor, _y: &Tensor, dy: &Tensor) -> Result<Option<Tensor>> {
        super::profile::timed(self.name(), true, || {
            let width = x.dim(D::Minus1)? / 2;
            Ok(Some(by_dtype!(x.dtype(), T => with_data::<T, _>(x, |xs| {
                with_data::<T, _>(dy, |dys| {
                    tensor(Self::backward(xs, dys, width), x.shape().clone())
                })
            }))?))
        })
    }
}

/// `(…, 2 · width)` to `(…, width)`: `gelu(x[.., :width]) · x[.., width:]`.
pub fn gated_gelu(x: &Tensor) -> Result<Tensor> {
    let features = x.dim(D::Minus1)?;
    if features % 2 != 0 {
        candle_core::bail!("gated_gelu: the last axis ({features}) must hold two halves");
    }
    if on_cpu_kernel(&[x]) {
        x.contiguous()?.apply_op1(GatedGelu)
    } else {
        composed(x)
    }
}

fn composed(x: &Tensor) -> Result<Tensor> {
    let width = x.dim(D::Minus1)? / 2;
    x.narrow(D::Minus1, 0, width)?.gelu()? * x.narrow(D::Minus1, width, width)?
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
        assert_close(&gated_gelu(&x).unwrap(), &composed(&x).unwrap(), 1e-5);
        let x = Tensor::randn(0f64, 2., (2, 3, 8), &dev).unwrap();
        check_gradients(&[x], |v| gated_gelu(&v[0]));
        let odd = Tensor::zeros((2, 3), candle_core::DType::F32, &dev).unwrap();
        assert!(gated_gelu(&odd).is_err());
    }
}
