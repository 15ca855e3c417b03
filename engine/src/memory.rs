//! The memory limit of every SQL session: a DataFusion memory pool that
//! sorts, aggregates and joins draw from, spilling to disk when it is spent.
//!
//! ```text
//! dnabench --memory-limit 3GB materialize --task chromatin
//! DNABENCH_MEMORY_LIMIT=512MB dnabench sql "SELECT chrom, count(*) FROM peaks GROUP BY chrom"
//! ```
//!
//! Without a limit given, a session may use a quarter of the machine's memory.

use std::sync::OnceLock;

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
