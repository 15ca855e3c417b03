//! The memory limit of every SQL session: a DataFusion memory pool that
//! sorts, aggregates and joins draw from, spilling to disk when it is spent.
//!
//! ```text
//! dnabench --memory-limit 3GB materialize --task chromatin
//! DNABENCH_MEMORY_LIMIT=512MB dnabench sql "SELECT chrom, count(*) FROM peaks GROUP BY chrom"
//! ```
//!
//! Without a limit given, a session may use a quarter of the machine's memory.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use datafusion::common::Result as DfResult;
use datafusion::execution::context::SessionContext;
use datafusion::execution::memory_pool::{
    FairSpillPool, MemoryConsumer, MemoryLimit, MemoryPool, MemoryReservation, TrackConsumersPool,
};

use crate::error::{Error, Result};

static LIMIT: OnceLock<usize> = OnceLock::new();

/// Sets the limit of every session this process opens from now on; the
/// first call wins.
pub fn set_memory_limit(bytes: usize) {
    let _ = LIMIT.set(bytes);
}

/// The limit a new session gets: the one set, else `DNABENCH_MEMORY_LIMIT`,
/// else a quarter of the machine's memory.
pub fn memory_limit() -> usize {
    if let Some(bytes) = LIMIT.get() {
        return *bytes;
    }
    if let Some(bytes) = std::env::var("DNABENCH_MEMORY_LIMIT")
        .ok()
        .and_then(|v| parse_size(&v).ok())
    {
        return bytes;
    }
    total_memory().map_or(4 << 30, |total| total / 4)
}

/// `3GB`, `512MB`, `2GiB`, `1.5G` or a number of bytes. Decimal and binary
/// units both count in powers of 1024, as `free` and `top` do.
pub fn parse_size(text: &str) -> Result<usize> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let scale: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" | "kib" => 1024.0,
        "m" | "mb" | "mib" => 1024.0 * 1024.0,
        "g" | "gb" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tb" | "tib" => 1024.0_f64.powi(4),
        _ => f64::NAN,
    };
    match number.parse::<f64>() {
        Ok(n) if scale.is_finite() && n > 0.0 => Ok((n * scale) as usize),
        _ => Err(Error::Invalid(format!(
            "memory size '{text}': expected a number with an optional unit, like 3GB, 512MB or 2GiB"
        ))),
    }
}

/// `MemTotal` of /proc/meminfo, where there is one.
fn total_memory() -> Option<usize> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// `bytes` as people read it: `3.0 GiB`.
pub fn format_size(bytes: usize) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < units.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", units[unit])
    }
}

/// The session's pool: DataFusion's fair spilling pool (which names its
/// largest consumers when it runs out), counting the most it ever lent and
/// how often it said no (each no makes an operator spill, or fail).
#[derive(Debug)]
pub struct MeteredPool {
    inner: TrackConsumersPool<FairSpillPool>,
    peak: AtomicUsize,
    refused: AtomicUsize,
}

impl MeteredPool {
    pub fn new(limit: usize) -> MeteredPool {
        MeteredPool {
            inner: TrackConsumersPool::new(
                FairSpillPool::new(limit),
                NonZeroUsize::new(5).expect("5 > 0"),
            ),
            peak: AtomicUsize::new(0),
            refused: AtomicUsize::new(0),
        }
    }

    fn note_peak(&self) {
        self.peak
            .fetch_max(self.inner.reserved(), Ordering::Relaxed);
    }
}

impl std::fmt::Display for MeteredPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "metered({})", self.inner)
    }
}

impl MemoryPool for MeteredPool {
    fn name(&self) -> &str {
        "metered"
    }

    fn register(&self, consumer: &MemoryConsumer) {
        self.inner.register(consumer)
    }

    fn unregister(&self, consumer: &MemoryConsumer) {
        self.inner.unregister(consumer)
    }

    fn grow(&self, reservation: &MemoryReservation, additional: usize) {
        self.inner.grow(reservation, additional);
        self.note_peak();
    }

    fn shrink(&self, reservation: &MemoryReservation, shrink: usize) {
        self.inner.shrink(reservation, shrink)
    }

    fn try_grow(&self, reservation: &MemoryReservation, additional: usize) -> DfResult<()> {
        let grown = self.inner.try_grow(reservation, additional);
        match &grown {
            Ok(()) => self.note_peak(),
            Err(_) => {
                self.refused.fetch_add(1, Ordering::Relaxed);
            }
        }
        grown
    }

    fn reserved(&self) -> usize {
        self.inner.reserved()
    }

    fn memory_limit(&self) -> MemoryLimit {
        self.inner.memory_limit()
    }
}

/// What a session's operators took from its pool so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUse {
    pub limit: usize,
    pub peak: usize,
    /// Requests the pool refused: with a query that succeeded, spills.
    pub refused: usize,
}

impl std::fmt::Display for PoolUse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SQL memory peak {} of {}",
            format_size(self.peak),
            format_size(self.limit)
        )?;
        if self.refused > 0 {
            write!(f, ", spilled to disk ({} refusals)", self.refused)?;
        }
        Ok(())
    }
}

/// The pool use of a session [`crate::sql::session::new_context`] made.
pub fn pool_use(ctx: &SessionContext) -> Option<PoolUse> {
    let runtime = ctx.runtime_env();
    let pool = runtime.memory_pool.downcast_ref::<MeteredPool>()?;
    Some(PoolUse {
        limit: match pool.memory_limit() {
            MemoryLimit::Finite(n) => n,
            _ => usize::MAX,
        },
        peak: pool.peak.load(Ordering::Relaxed),
        refused: pool.refused.load(Ordering::Relaxed),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_in_every_spelling_and_bad_ones_say_what_is_expected() {
        assert_eq!(parse_size("3GB").unwrap(), 3 << 30);
        assert_eq!(parse_size("512MB").unwrap(), 512 << 20);
        assert_eq!(parse_size("2GiB").unwrap(), 2 << 30);
        assert_eq!(parse_size("1.5g").unwrap(), 3 << 29);
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert_eq!(parse_size(" 64 kb ").unwrap(), 64 << 10);
        for bad in ["", "GB", "3XB", "-1GB", "0"] {
            let err = parse_size(bad).unwrap_err().to_string();
            assert!(err.contains("like 3GB, 512MB or 2GiB"), "{bad}: {err}");
        }
        assert_eq!(format_size(3 << 30), "3.0 GiB");
    }
}
