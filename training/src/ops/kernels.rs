//! What the CPU kernels share: the element type, access to a tensor's
//! memory, a strided gemm, and splitting work over the threads.

use candle_core::{CpuStorage, DType, Device, Layout, Result, Shape, Storage, Tensor, WithDType};
use rayon::prelude::*;

/// f32 or f64, with the arithmetic the kernels need.
pub(crate) trait Real:
    WithDType
    + Copy
    + Send
    + Sync
    + PartialOrd
    + std::ops::Add<Output = Self>
    + std::ops::Sub<Output = Self>
    + std::ops::Mul<Output = Self>
    + std::ops::Div<Output = Self>
    + std::ops::Neg<Output = Self>
    + std::ops::AddAssign
    + std::ops::MulAssign
{
    const ZERO: Self;
    const ONE: Self;
    const NEG_INFINITY: Self;
    fn exp(self) -> Self;
    fn tanh(self) -> Self;
    fn sqrt(self) -> Self;
    fn of(v: f64) -> Self;
    fn max(self, other: Self) -> Self;
}

macro_rules! real {
    ($t:ty) => {
        impl Real for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            const NEG_INFINITY: Self = <$t>::NEG_INFINITY;
            #[inline]
            fn exp(self) -> Self {
                <$t>::exp(self)
            }
            #[inline]
            fn tanh(self) -> Self {
                <$t>::tanh(self)
            }
            #[inline]
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            #[inline]
            fn of(v: f64) -> Self {
                v as $t
            }
            #[inline]
            fn max(self, other: Self) -> Self {
                <$t>::max(self, other)
            }
        }
    };
}
real!(f32);
real!(f64);

/// Whether the CPU kernels take these tensors: all on the CPU, all f32 or
/// all f64. Anything else runs the composition.
pub(crate) fn on_cpu_kernel(tensors: &[&Tensor]) -> bool {
    let dtype = tensors[0].dtype();
    matches!(dtype, DType::F32 | DType::F64)
        && tensors
            .iter()
            .all(|t| t.device().is_cpu() && t.dtype() == dtype)
}

/// The elements of a contiguous CPU storage, as a custom op's forward
/// receives them.
pub(crate) fn slice<'a, T: WithDType>(
    op: &str,
    storage: &'a CpuStorage,
    layout: &Layout,
) -> Result<&'a [T]> {
    match layout.contiguous_offsets() {
        Some((start, end)) => Ok(&storage.as_slice::<T>()?[start..end]),
        None => candle_core::bail!("{op}: expects contiguous inputs"),
    }
}

/// Runs `f` over the elements of a CPU tensor, in row-major order, as a
/// backward pass reads its arguments.
pub(crate) fn with_data<T: WithDType, R>(
    t: &Tensor,
    f: impl FnOnce(&[T]) -> Result<R>,
) -> Result<R> {
    let t = t.contiguous()?;
    let (storage, layout) = t.storage_and_layout();
    let Storage::Cpu(cpu) = &*storage else {
        candle_core::bail!("a CPU kernel got a tensor on {:?}", t.device())
    };
    let (start, end) = layout
        .contiguous_offsets()
        .expect("contiguous() gives contiguous offsets");
    f(&cpu.as_slice::<T>()?[start..end])
}

/// A CPU tensor of `data` in `shape`.
pub(crate) fn tensor<T: WithDType>(data: Vec<T>, shape: impl Into<Shape>) -> Result<Tensor> {
    Tensor::from_vec(data, shape, &Device::Cpu)
}

/// A custom op's output.
pub(crate) fn output<T: WithDType>(data: Vec<T>, shape: impl Into<Shape>) -> (CpuStorage, Shape) {
    (T::to_cpu_storage_owned(data), shape.into())
}

/// A matrix in memory: `data[row * row_stride + col * col_stride]`.
#[derive(Clone, Copy)]
pub(crate) struct Mat<'a, T> {
    pub data: &'a [T],
    pub rows: usize,
    pub cols: usize,
    pub row_stride: usize,
    pub col_stride: usize,
}

impl<'a, T> Mat<'a, T> {
    /// A row-major matrix.
    pub fn rows(data: &'a [T], rows: usize, cols: usize) -> Self {
        Mat {
            data,
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    pub fn t(self) -> Self {
        Mat {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }

    fn last_index(&self) -> usize {
        if self.rows == 0 || self.cols == 0 {
            return 0;
        }
        (self.rows - 1) * self.row_stride + (self.cols - 1) * self.col_stride
    }
}

/// `dst (m×n, row-major) = [dst +] alpha · a (m×k) · b (k×n)`, on one
/// thread: the kernels split their work over threads themselves.
pub(crate) fn gemm<T: Real>(dst: &mut [T], accumulate: bool, alpha: T, a: Mat<T>, b: Mat<T>) {
    gemm_threads(dst, accumulate, alpha, a, b, 1)
}

/// [`gemm`] on `threads` threads, for one product large enough to share.
pub(crate) fn gemm_threads<T: Real>(
    dst: &mut [T],
    accumulate: bool,
    alpha: T,
    a: Mat<T>,
    b: Mat<T>,
    threads: usize,
) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert_eq!(b.rows, k, "gemm: inner dimensions");
    assert!(dst.len() >= m * n, "gemm: destination too small");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            dst[..m * n].fill(T::ZERO);
        }
        return;
    }
    assert!(a.last_index() < a.data.len() && b.last_index() < b.data.len());
    let parallelism = if threads > 1 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: every index the product reads or writes was bounds-checked
    // above against the slices it lives in.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.data.as_ptr(),
            a.col_stride as isize,
            a.row_stride as isize,
            b.data.as_ptr(),
            b.col_stride as isize,
            b.row_stride as isize,
            T::ONE,
            alpha,
            false,
            false,
            false,
            parallelism,
        )
    }
}

/// Threads the kernels use: rayon's pool, which `RAYON_NUM_THREADS` sets
/// as it does for candle.
pub(crate) fn threads() -> usize {
    rayon::current_num_threads().max(1)
}

/// Runs `f(first, chunk)` over `out` cut into runs of `item` elements, one
/// contiguous run of items a thread, so that each thread's scratch space is
/// made once.
pub(crate) fn par_items<T: Send>(
    out: &mut [T],
    item: usize,
    f: impl Fn(usize, &mut [T]) + Sync + Send,
) {
    let items = if item == 0 { 0 } else { out.len() / item };
    if items == 0 {
        return;
    }
    let per_thread = items.div_ceil(threads());
    out.par_chunks_mut(per_thread * item)
        .enumerate()
        .for_each(|(i, chunk)| f(i * per_thread, chunk));
}

/// Sums `f(range)` over `0..items` cut into one range a thread: the
/// reduction of per-thread gradients (weights, norms' scales).
pub(crate) fn par_sum<T: Real>(
    items: usize,
    len: usize,
    f: impl Fn(std::ops::Range<usize>, &mut [T]) + Sync + Send,
) -> Vec<T> {
    let per_thread = items.div_ceil(threads()).max(1);
    let ranges: Vec<_> = (0..items)
        .step_by(per_thread)
        .map(|start| start..(start + per_thread).min(items))
        .collect();
    ranges
        .into_par_iter()
        .map(|range| {
            let mut acc = vec![T::ZERO; len];
            f(range, &mut acc);
            acc
        })
        .reduce_with(|mut a, b| {
            a.iter_mut().zip(&b).for_each(|(x, y)| *x += *y);
            a
        })
        .unwrap_or_else(|| vec![T::ZERO; len])
}
