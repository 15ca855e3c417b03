//! Max-pooling over the last axis with any kernel and stride, with
//! gradients: candle 0.11's `max_pool2d` has no backward pass when the
//! kernel differs from the stride, as in the paper's pool of 5 with stride 4.

use candle_core::{Result, Tensor, D};

/// `(batch, channels, length)` to `(batch, channels, (length − kernel) /
/// stride + 1)`, the maximum of each window.
pub fn max_pool1d(x: &Tensor, kernel: usize, stride: usize) -> Result<Tensor> {
    let length = x.dim(D::Minus1)?;
    let stride = stride.max(1);
    if length < kernel || kernel == 0 {
        candle_core::bail!(
            "max_pool1d: input of length {length} is shorter than the kernel {kernel}"
        );
    }
    let windows = (length - kernel) / stride + 1;
    // One strided selection per offset in the window, then the max across them.
    let picks = (0..kernel)
        .map(|j| {
            let index: Vec<u32> = (0..windows).map(|i| (j + i * stride) as u32).collect();
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
        assert_eq!(
            same.to_vec3::<f32>().unwrap(),
            reference.to_vec3::<f32>().unwrap()
        );
    }
}
