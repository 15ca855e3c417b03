//! A linear layer, `y = x Wᵀ + b`, as one gemm over every row of the batch
//! whatever its leading axes, with input, weight and bias gradients: the
//! gemms go through the kernels' BLAS (candle's matmul always uses the
//! `gemm` crate), their rows split over the threads.

use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Tensor, D};

use super::kernels::{
    by_dtype, gemm_threads, on_cpu_kernel, output, slice, storage_dtype, tensor, threads,
    with_data, Mat, Real,
};

struct Linear;

impl Linear {
    fn forward<T: Real>(x: &[T], w: &[T], b: &[T], inputs: usize) -> Vec<T> {
        let (rows, outputs) = (x.len() / inputs, b.len());
        let mut y: Vec<T> = Vec::with_capacity(rows * outputs);
        for _ in 0..rows {
            y.extend_from_slice(b);
        }
        gemm_threads(
            &mut y,
            true,
            T::ONE,
            Mat::rows(x, rows, inputs),
            Mat::rows(w, outputs, inputs).t(),
            threads(),
        );
        y
    }

    /// `(dx, dw, db)`.
    fn backward<T: Real>(
        x: &[T],
        w: &[T],
        dy: &[T],
        inputs: usize,
        outputs: usize,
    ) -> (Vec<T>, Vec<T>, Vec<T>) {
        let rows = x.len() / inputs;
        let mut dx = vec![T::ZERO; x.len()];
        gemm_threads(
            &mut dx,
            false,
            T::ONE,
            Mat::rows(dy, rows, outputs),
            Mat::rows(w, outputs, inputs),
            threads(),
        );
        let mut dw = vec![T::ZERO; w.len()];
        gemm_threads(
            &mut dw,
            false,
            T::ONE,
            Mat::rows(dy, rows, outputs).t(),
            Mat::rows(x, rows, inputs),
            threads(),
        );
        let mut db = vec![T::ZERO; outputs];
        for row in dy.chunks(outputs) {
            db.iter_mut().zip(row).for_each(|(s, v)| *s += *v);
        }
        (dx, dw, db)
    }
}

impl CustomOp3 for Linear {
    fn name(&self) -> &'static str {
        "linear"
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
            let (outputs, inputs) = wl.shape().dims2()?;
            let mut dims = xl.shape().dims().to_vec();
            *dims.last_mut().expect("checked rank") = outputs;
            Ok(by_dtype!(storage_dtype(xs), T => output(
                Self::forward::<T>(
                    slice(self.name(), xs, xl)?,
                    slice(self.name(), ws, wl)?,
                    slice(self.name(), bs, bl)?,
                    inputs,
                ),
                dims,
            )))
        })
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        b: &Tensor,
        _y: &Tensor,
        dy: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        super::profile::timed(self.name(), true, || {
            let (outputs, inputs) = w.dims2()?;
            by_dtype!(x.dtype(), T => with_data::<T, _>(x, |xs| {
                with_data::<T, _>(w, |ws| {
                    with_data::<T, _>(dy, |ds| {
                        let (dx, dw, db) = Self::backward(xs, ws, ds, inputs, outputs);
                        Ok((
                            Some(tensor(dx, x.shape().clone())?),
                            Some(tensor(dw, w.shape().clone())?),
                            Some(tensor(db, b.shape().clone())?),
                        ))
                    })
                })
            }))
        })
    }
}

/// `(…, inputs)` times the `(outputs, inputs)` weight, transposed, plus the
/// `(outputs)` bias: `(…, outputs)`, as PyTorch's `F.linear`.
pub fn linear(x: &Tensor, weight: &Tensor, bias: &Tensor) -> Result<Tensor> {
    let (weight, bias) = (&weight.to_dtype(x.dtype())?, &bias.to_dtype(x.dtype())?);
    let (outputs, inputs) = weight.dims2()?;
    if x.dim(D::Minus1)? != inputs || bias.dims() != [outputs] {
        candle_core::bail!(
            "linear: input {:?}, weight {:?} and bias {:?} do not fit",
            x.dims(),
            weight.dims(),
            bias.dims()
        );
    }
    if on_cpu_kernel(&[x, weight, bias]) {
        x.contiguous()?
            .apply_op3(&weight.contiguous()?, &bias.contiguous()?, Linear)
    } else {
        composed(x, weight, bias)
    }
}

fn composed(x: &Tensor, weight: &Tensor, bias: &Tensor) -> Result<Tensor> {
    use candle_core::Module;
    candle_nn::Linear::new(weight.clone(), Some(bias.clone())).forward(x)
}

#[cfg(test)]
mod tests {
    use candle_core::{DType, Device};

    use super::*;
    use crate::ops::finite_difference::{assert_close, check_gradients};

    #[test]
    fn forward_equals_the_composition_and_gradients_equal_finite_differences() {
        let dev = Device::Cpu;
        let x = Tensor::randn(0f32, 1., (3, 7, 16), &dev).unwrap();
        let w = Tensor::randn(0f32, 1., (5, 16), &dev).unwrap();
        let b = Tensor::randn(0f32, 1., 5, &dev).unwrap();
        assert_close(
            &linear(&x, &w, &b).unwrap(),
            &composed(&x, &w, &b).unwrap(),
            1e-4,
        );
        let x = Tensor::randn(0f64, 1., (2, 5, 4), &dev).unwrap();
        let w = Tensor::randn(0f64, 1., (3, 4), &dev).unwrap();
        let b = Tensor::randn(0f64, 1., 3, &dev).unwrap();
        check_gradients(&[x.clone(), w, b.clone()], |v| linear(&v[0], &v[1], &v[2]));
        let wrong = Tensor::zeros((3, 5), DType::F64, &dev).unwrap();
        let err = linear(&x, &wrong, &b).unwrap_err().to_string();
        assert!(err.contains("do not fit"), "{err}");
    }
}
