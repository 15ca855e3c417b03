//! Max-pooling over the last axis with any kernel and stride, its gradient
//! routed to the first maximum of each window, as PyTorch's `max_pool1d`.

use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Tensor, D};

use super::kernels::{
    by_dtype, on_cpu_kernel, output, par_items, slice, storage_dtype, tensor, with_data, Real,
};

struct MaxPool1d {
    kernel: usize,
    stride: usize,
}

impl MaxPool1d {
    fn windows(&self, length: usize) -> Result<usize> {
        if self.kernel == 0 || self.stride == 0 || length < self.kernel {
            candle_core::bail!(
                "max_pool1d: input of length {length} is shorter than the kernel {} (stride {})",
                self.kernel,
                self.stride
            );
        }
        Ok((length - self.kernel) / self.stride + 1)
    }

    /// Position of the first maximum of window `w` in `row`.
    #[inline]
    fn argmax<T: Real>(&self, row: &[T], w: usize) -> usize {
        let start = w * self.stride;
        let mut best = start;
        for i in start + 1..start + self.kernel {
            if row[i] > row[best] {
                best = i;
            }
        }
        best
    }

    fn forward<T: Real>(&self, x: &[T], length: usize, windows: usize) -> Vec<T> {
        let rows = x.len() / length;
        let mut y = vec![T::ZERO; rows * windows];
        par_items(&mut y, windows, |first, ys| {
            for (i, y) in ys.chunks_mut(windows).enumerate() {
                let row = &x[(first + i) * length..][..length];
                for (w, v) in y.iter_mut().enumerate() {
                    *v = row[self.argmax(row, w)];
                }
            }
        });
        y
    }

    fn backward<T: Real>(&self, x: &[T], dy: &[T], length: usize, windows: usize) -> Vec<T> {
        let mut dx = vec![T::ZERO; x.len()];
        par_items(&mut dx, length, |first, dxs| {
            for (i, dx) in dxs.chunks_mut(length).enumerate() {
                let r = first + i;
                let row = &x[r * length..][..length];
                for (w, g) in dy[r * windows..][..windows].iter().enumerate() {
                    dx[self.argmax(row, w)] += *g;
                }
            }
        });
        dx
    }
}

impl CustomOp1 for MaxPool1d {
    fn name(&self) -> &'static str {
        "max_pool1d"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        super::profile::timed(self.name(), false, || {
            let mut dims = layout.shape().dims().to_vec();
            let length = *dims.last().unwrap_or(&0);
            let windows = self.windows(length)?;
            *dims.last_mut().expect("checked rank") = windows;
            Ok(by_dtype!(storage_dtype(storage), T => output(
                self.forward::<T>(slice(self.name(), storage, layout)?, length, windows),
                dims,
            )))
        })
    }

    fn bwd(&self, x: &Tensor, _y: &Tensor, dy: &Tensor) -> Result<Option<Tensor>> {
        super::profile::timed(self.name(), true, || {
            let length = x.dim(D::Minus1)?;
            let windows = self.windows(length)?;
            Ok(Some(by_dtype!(x.dtype(), T => with_data::<T, _>(x, |xs| {
                with_data::<T, _>(dy, |dys| {
                    tensor(self.backward(xs, dys, length, windows), x.shape().clone())
                })
            }))?))
        })
    }
}

/// `(…, length)` to `(…, (length − kernel) / stride + 1)`, the maximum of
/// each window.
pub fn max_pool1d(x: &Tensor, kernel: usize, stride: usize) -> Result<Tensor> {
    let op = MaxPool1d {
        kernel,
        stride: stride.max(1),
    };
    let windows = op.windows(x.dim(D::Minus1)?)?;
    if kernel == 1 && op.stride == 1 {
        // Every window is one position: the input itself, and so its gradient.
        return Ok(x.clone());
    }
    if on_cpu_kernel(&[x]) {
        x.contiguous()?.apply_op1(op)
    } else {
        composed(x, &op, windows)
    }
}

/// One strided selection per offset in the window, then the max across
/// them.
fn composed(x: &Tensor, op: &MaxPool1d, windows: usize) -> Result<Tensor> {
    if windows == 1 {
        // One window (a global pool): a reduction, not `kernel` selections.
        return x.narrow(D::Minus1, 0, op.kernel)?.max_keepdim(D::Minus1);
    }
    let picks = (0..op.kernel)
        .map(|j| {
            let index: Vec<u32> = (0..windows).map(|i| (j + i * op.stride) as u32).collect();
            let index = Tensor::from_vec(index, windows, x.device())?;
            x.index_select(&index, x.rank() - 1)
        })
        .collect::<Result<Vec<_>>>()?;
    Tensor::stack(&picks, x.rank())?.max(D::Minus1)
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Var};

    use super::*;
    use crate::ops::finite_difference::{assert_close, check_gradients};

    #[test]
    fn overlapping_windows_take_their_maximum_and_route_the_gradient() {
        let x = Var::new(&[[[1f32, 5., 2., 0., 3., 9., 4., 1., 0.]]], &Device::Cpu).unwrap();
        let y = max_pool1d(x.as_tensor(), 5, 4).unwrap();
        // Windows [0, 5) and [4, 9).
        assert_eq!(y.to_vec3::<f32>().unwrap(), vec![vec![vec![5., 9.]]]);
        let g = y.sum_all().unwrap().backward().unwrap();
        let g: Vec<f32> = g.get(&x).unwrap().flatten_all().unwrap().to_vec1().unwrap();
        assert_eq!(g, vec![0., 1., 0., 0., 0., 1., 0., 0., 0.]);
        let same = max_pool1d(x.as_tensor(), 2, 2).unwrap();
        let reference = x
            .as_tensor()
            .unsqueeze(2)
            .unwrap()
            .max_pool2d_with_stride((1, 2), (1, 2))
            .unwrap()
            .squeeze(2)
            .unwrap();
        assert_close(&same, &reference, 0.0);
    }

    #[test]
    fn forward_equals_the_composition_and_gradients_equal_finite_differences() {
        let dev = Device::Cpu;
        let x = Tensor::randn(0f32, 1., (3, 4, 23), &dev).unwrap();
        let op = MaxPool1d {
            kernel: 5,
            stride: 4,
        };
        assert_close(
            &max_pool1d(&x, 5, 4).unwrap(),
            &composed(&x, &op, 5).unwrap(),
            0.0,
        );
        for (kernel, stride) in [(5, 4), (3, 3), (2, 5)] {
            let x = Tensor::randn(0f64, 1., (2, 3, 13), &dev).unwrap();
            check_gradients(&[x], |v| max_pool1d(&v[0], kernel, stride));
        }
        let err = max_pool1d(&x, 30, 4).unwrap_err().to_string();
        assert!(err.contains("shorter than the kernel"), "{err}");
    }

    #[test]
    fn a_one_position_pool_is_the_input_and_a_global_pool_is_the_maximum() {
        let dev = Device::Cpu;
        let x = Tensor::randn(0f32, 1., (3, 4, 23), &dev).unwrap();
        assert_close(&max_pool1d(&x, 1, 1).unwrap(), &x, 0.0);
        let global = x.max_keepdim(D::Minus1).unwrap();
        assert_close(&max_pool1d(&x, 23, 23).unwrap(), &global, 0.0);
        let op = MaxPool1d {
            kernel: 23,
            stride: 23,
        };
        assert_close(&composed(&x, &op, 1).unwrap(), &global, 0.0);
        for (kernel, stride) in [(1, 1), (13, 13)] {
            let x = Tensor::randn(0f64, 1., (2, 3, 13), &dev).unwrap();
            check_gradients(&[x], |v| max_pool1d(&v[0], kernel, stride));
        }
    }
}
