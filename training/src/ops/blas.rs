//! OpenBLAS, loaded at run time where the system has it: the kernels'
//! gemms run at about twice the `gemm` crate's rate with its AVX2 kernels
//! and over three times with its AVX-512 ones (benches/README.md). Where
//! it is missing, the kernels use the `gemm` crate; nothing is linked at
//! build time, so the build needs no system library.
//!
//! Loading it here, rather than linking it, also lets dnabench pick its
//! kernels: OpenBLAS 0.3.21 (Debian 12) does not know AMD's Zen 4 and 5 and
//! runs them on its AVX2 kernels; where the CPU has AVX-512 and
//! `OPENBLAS_CORETYPE` is unset, dnabench asks for the SkylakeX kernels.
//! OpenBLAS runs single-threaded (`OPENBLAS_NUM_THREADS=1`): the kernels
//! split their work over rayon's threads themselves.

use std::ffi::{c_void, CStr};
use std::sync::OnceLock;

pub const ROW_MAJOR: i32 = 101;
pub const NO_TRANS: i32 = 111;
pub const TRANS: i32 = 112;

/// `cblas_?gemm`'s signature.
pub(crate) type Gemm<T> = unsafe extern "C" fn(
    i32,
    i32,
    i32,
    i32,
    i32,
    i32,
    T,
    *const T,
    i32,
    *const T,
    i32,
    T,
    *mut T,
    i32,
);

/// `cblas_sgemm` and `cblas_dgemm` of the loaded library.
pub struct Blas {
    pub sgemm: Gemm<f32>,
    pub dgemm: Gemm<f64>,
    /// The library's name for the kernels it runs, e.g. "SkylakeX".
    pub core: String,
}

static BLAS: OnceLock<Option<Blas>> = OnceLock::new();

impl Blas {
    /// The library, loaded on first use; None where there is none or
    /// `DNABENCH_BLAS=off`.
    pub fn get() -> Option<&'static Blas> {
        BLAS.get_or_init(load).as_ref()
    }
}

/// What the kernels' gemms run on: "OpenBLAS (SkylakeX)" or "gemm crate".
pub fn gemm_backend() -> String {
    match Blas::get() {
        Some(blas) => format!("OpenBLAS ({})", blas.core),
        None => "gemm crate".into(),
    }
}

fn load() -> Option<Blas> {
    if std::env::var("DNABENCH_BLAS").is_ok_and(|v| v == "off") {
        return None;
    }
    // OpenBLAS reads these once, as it loads.
    if std::env::var_os("OPENBLAS_NUM_THREADS").is_none() {
        std::env::set_var("OPENBLAS_NUM_THREADS", "1");
    }
    #[cfg(target_arch = "x86_64")]
    if std::env::var_os("OPENBLAS_CORETYPE").is_none()
        && std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512bw")
        && std::arch::is_x86_feature_detected!("avx512dq")
        && std::arch::is_x86_feature_detected!("avx512vl")
        && std::arch::is_x86_feature_detected!("avx512cd")
    {
        std::env::set_var("OPENBLAS_CORETYPE", "SkylakeX");
    }
    for name in [c"libopenblas.so.0", c"libopenblas.so"] {
        // SAFETY: dlopen and dlsym with NUL-terminated names; the symbols
        // are OpenBLAS's C interface, whose signatures `Gemm` spells out.
        unsafe {
            let handle = libc::dlopen(name.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL);
            if handle.is_null() {
                continue;
            }
            let symbol = |s: &CStr| libc::dlsym(handle, s.as_ptr());
            let (sgemm, dgemm) = (symbol(c"cblas_sgemm"), symbol(c"cblas_dgemm"));
            if sgemm.is_null() || dgemm.is_null() {
                continue;
            }
            let threads = symbol(c"openblas_set_num_threads");
            if !threads.is_null() {
                let set: unsafe extern "C" fn(i32) = std::mem::transmute(threads);
                set(1);
            }
            let core = symbol(c"openblas_get_corename");
            let core = if core.is_null() {
                "unknown".to_string()
            } else {
                let name: unsafe extern "C" fn() -> *const i8 = std::mem::transmute(core);
                CStr::from_ptr(name()).to_string_lossy().into_owned()
            };
            return Some(Blas {
                sgemm: std::mem::transmute::<*mut c_void, Gemm<f32>>(sgemm),
                dgemm: std::mem::transmute::<*mut c_void, Gemm<f64>>(dgemm),
                core,
            });
        }
    }
    None
}

/// Loads the library now, before other threads run: the CLI calls this at
/// start-up, as setting OpenBLAS's variables is only safe then.
pub fn load_blas() {
    Blas::get();
}
