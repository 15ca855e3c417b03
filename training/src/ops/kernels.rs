//! What the CPU kernels share: the element type, access to a tensor's
//! memory, a strided gemm, and splitting work over the threads.

use candle_core::{CpuStorage, DType, Device, Layout, Result, Shape, Storage, Tensor, WithDType};
use rayon::prelude::*;

use super::blas::{Blas, Gemm, NO_TRANS, ROW_MAJOR, TRANS};

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
    /// tanh within 1e-6 for f32 by a rational function the compiler
    /// vectorizes (libm's `tanhf` is a call per element); exact for f64.
    fn tanh_fast(self) -> Self;
    fn sqrt(self) -> Self;
    fn of(v: f64) -> Self;
    fn max(self, other: Self) -> Self;
    /// The loaded BLAS's gemm of this type.
    fn blas_gemm(blas: &Blas) -> Gemm<Self>;
}

macro_rules! real {
    ($t:ty, $blas:ident, $fast:expr) => {
        impl Real for $t {
            fn blas_gemm(blas: &Blas) -> Gemm<Self> {
                blas.$blas
            }
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            const NEG_INFINITY: Self = <$t>::NEG_INFINITY;
            #[inline]
            fn exp(self) -> Self {
                <$t>::exp(self)
            }
            #[inline]
            fn tanh_fast(self) -> Self {
                $fast(self)
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
real!(f32, sgemm, rational_tanh);
real!(f64, dgemm, f64::tanh);

/// Eigen's rational approximation of tanh on [-9, 9] (saturated outside).
#[inline]
#[allow(clippy::excessive_precision)]
fn rational_tanh(x: f32) -> f32 {
    const CLAMP: f32 = 7.905_311;
    let x = x.clamp(-CLAMP, CLAMP);
    let x2 = x * x;
    let p = -2.760_768_5e-16_f32;
    let p = x2 * p + 2.000_187_9e-13;
    let p = x2 * p - 8.604_672e-11;
    let p = x2 * p + 5.122_297e-8;
    let p = x2 * p + 1.485_722_4e-5;
    let p = x2 * p + 6.372_619_3e-4;
    let p = x2 * p + 4.893_524_6e-3;
    let q = x2 * 1.198_258_4e-6_f32 + 1.185_347_1e-4;
    let q = x2 * q + 2.268_434_6e-3;
    let q = x2 * q + 4.893_525_2e-3;
    x * p / q
}

/// `$body` with `$t` the Rust type of a kernel's element type: f32 for
/// `DType::F32`, f64 otherwise (the kernels take these two alone).
macro_rules! by_dtype {
    ($dtype:expr, $t:ident => $body:expr) => {
        match $dtype {
            candle_core::DType::F32 => {
                type $t = f32;
                $body
            }
            _ => {
                type $t = f64;
                $body
            }
        }
    };
}
pub(crate) use by_dtype;

/// A custom op's input's element type.
pub(crate) fn storage_dtype(storage: &CpuStorage) -> DType {
    match storage {
        CpuStorage::F32(_) => DType::F32,
        CpuStorage::F64(_) => DType::F64,
        // The ops check their inputs' dtype before they run the kernel.
        _ => DType::F64,
    }
}

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
    if threads > 1 && m >= 2 * threads {
        // Rows of the product split over the threads, each a gemm of its own.
        let rows = m.div_ceil(threads);
        dst[..m * n]
            .par_chunks_mut(rows * n)
            .enumerate()
            .for_each(|(i, dst)| {
                let first = i * rows;
                let part = Mat {
                    data: &a.data[first * a.row_stride..],
                    rows: dst.len() / n,
                    ..a
                };
                gemm_threads(dst, accumulate, alpha, part, b, 1)
            });
        return;
    }
    // BLAS takes matrices with unit stride along rows or along columns.
    let layout = |x: &Mat<T>| {
        if x.col_stride == 1 && x.row_stride >= x.cols.max(1) {
            Some((false, x.row_stride))
        } else if x.row_stride == 1 && x.col_stride >= x.rows.max(1) {
            Some((true, x.col_stride))
        } else {
            None
        }
    };
    if let (Some((ta, lda)), Some((tb, ldb))) = (layout(&a), layout(&b)) {
        if let Some(blas) = Blas::get() {
            let op = |transposed| if transposed { TRANS } else { NO_TRANS };
            let beta = if accumulate { T::ONE } else { T::ZERO };
            // SAFETY: the extents were checked against the slices above.
            unsafe {
                T::blas_gemm(blas)(
                    ROW_MAJOR,
                    op(ta),
                    op(tb),
                    m as i32,
                    n as i32,
                    k as i32,
                    alpha,
                    a.data.as_ptr(),
                    lda as i32,
                    b.data.as_ptr(),
                    ldb as i32,
                    beta,
                    dst.as_mut_ptr(),
                    n as i32,
                )
            };
            return;
        }
    }
    gemm_crate(dst, accumulate, alpha, a, b)
}

/// The product on the `gemm` crate, on this thread: where no BLAS is loaded
/// or a matrix has no unit stride.
fn gemm_crate<T: Real>(dst: &mut [T], accumulate: bool, alpha: T, a: Mat<T>, b: Mat<T>) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert!(dst.len() >= m * n && m > 0 && n > 0 && k > 0);
    assert!(a.last_index() < a.data.len() && b.last_index() < b.data.len());
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
            gemm::Parallelism::None,
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
    let items = out.len().checked_div(item).unwrap_or(0);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// `alpha · a · b (+ dst)` by three loops.
    fn naive(dst: &[f64], accumulate: bool, alpha: f64, a: Mat<f64>, b: Mat<f64>) -> Vec<f64> {
        let at = |x: &Mat<f64>, r: usize, c: usize| x.data[r * x.row_stride + c * x.col_stride];
        let mut out = vec![0.0; a.rows * b.cols];
        for i in 0..a.rows {
            for j in 0..b.cols {
                let dot: f64 = (0..a.cols).map(|p| at(&a, i, p) * at(&b, p, j)).sum();
                let before = if accumulate { dst[i * b.cols + j] } else { 0.0 };
                out[i * b.cols + j] = before + alpha * dot;
            }
        }
        out
    }

    #[test]
    fn blas_threads_and_the_gemm_crate_give_the_same_products() {
        let values: Vec<f64> = (0..400)
            .map(|i| ((i * 37 % 101) as f64 - 50.0) / 25.0)
            .collect();
        // 7×5 by 5×6: plain, transposed, and with a row stride past the
        // row (a block of a wider matrix).
        let a_plain = Mat::rows(&values, 7, 5);
        let a_t = Mat::rows(&values[50..], 5, 7).t();
        let b_plain = Mat::rows(&values[100..], 5, 6);
        let b_wide = Mat {
            data: &values[200..],
            rows: 5,
            cols: 6,
            row_stride: 9,
            col_stride: 1,
        };
        let start: Vec<f64> = values[300..342].to_vec();
        for (a, b) in [(a_plain, b_plain), (a_t, b_wide), (a_plain, b_wide.t().t())] {
            for accumulate in [false, true] {
                let want = naive(&start, accumulate, 0.5, a, b);
                let mut on_crate = start.clone();
                gemm_crate(&mut on_crate, accumulate, 0.5, a, b);
                let mut dispatched = start.clone();
                gemm_threads(&mut dispatched, accumulate, 0.5, a, b, 2);
                for got in [&on_crate, &dispatched] {
                    let worst = got
                        .iter()
                        .zip(&want)
                        .map(|(x, y)| (x - y).abs())
                        .fold(0.0, f64::max);
                    assert!(worst < 1e-12, "{worst}");
                }
            }
        }
    }

    #[test]
    fn the_rational_tanh_is_within_a_millionth() {
        let worst = (-200_000..=200_000)
            .map(|i| i as f32 * 1e-4)
            .map(|x| (super::rational_tanh(x) as f64 - (x as f64).tanh()).abs())
            .fold(0.0, f64::max);
        assert!(worst < 1e-6, "{worst}");
    }
}
