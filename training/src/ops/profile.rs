//! Time spent in each op's CPU kernels, forward and backward, summed over
//! the process: what `benches/training` reports as each op's share of a
//! training step. Two clock reads a call.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The ops, in the order [`op_times`] lists them.
pub const OPS: [&str; 11] = [
    "linear",
    "conv1d",
    "max_pool1d",
    "layer_norm",
    "qkv_heads",
    "attention",
    "gated_gelu",
    "lstm_cell",
    "lstm_layer",
    "dropout",
    "adamw",
];

static NANOS: [[AtomicU64; 2]; OPS.len()] = [const { [const { AtomicU64::new(0) }; 2] }; OPS.len()];

/// Runs `f`, adding its time to `op`'s forward or backward total.
pub(crate) fn timed<R>(op: &str, backward: bool, f: impl FnOnce() -> R) -> R {
    let started = Instant::now();
    let out = f();
    if let Some(i) = OPS.iter().position(|o| *o == op) {
        NANOS[i][backward as usize]
            .fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
    }
    out
}

/// `(op, forward, backward)` time since the start or the last
/// [`reset_op_times`].
pub fn op_times() -> Vec<(&'static str, Duration, Duration)> {
    OPS.iter()
        .zip(&NANOS)
        .map(|(op, [f, b])| {
            (
                *op,
                Duration::from_nanos(f.load(Ordering::Relaxed)),
                Duration::from_nanos(b.load(Ordering::Relaxed)),
            )
        })
        .collect()
}

pub fn reset_op_times() {
    NANOS
        .iter()
        .flatten()
        .for_each(|n| n.store(0, Ordering::Relaxed));
}
