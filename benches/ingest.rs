//! Ingest benches, one run each, printed as rows/s:
//! - peaks: a generated 5M-row narrowPeak through `ingest peaks`, next to
//!   pyarrow reading the same file as CSV and writing Parquet
//!   (`benches/pyarrow_peaks.py`; skipped with a note when pyarrow is missing);
//! - signal: a generated 1M-interval bigWig (written with bigtools) through `ingest signal`.
//!
//! Run: `cargo bench --profile dev --bench ingest` (set DNABENCH_BENCH_ROWS to change 5M).

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use dnabench_engine::ingest::{self, OnInvalid, TrackSpec};
use dnabench_engine::Store;
use rand::{Rng, SeedableRng};

fn write_narrowpeak(path: &Path, rows: usize) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for i in 0..rows {
        let chrom = 1 + i * 22 / rows;
        let start: u32 = rng.random_range(0..200_000_000);
        let width: u32 = rng.random_range(150..2000);
        writeln!(
            out,
            "chr{chrom}\t{start}\t{}\tpeak{i}\t{}\t.\t{:.3}\t{:.3}\t{:.3}\t{}",
            start + width,
            rng.random_range(0..1000),
            rng.random_range(1.0..100.0f64),
            rng.random_range(0.0..50.0f64),
            rng.random_range(0.0..50.0f64),
            width / 2
        )
        .unwrap();
    }
}

fn ingest_peaks(store_dir: &Path, file: &Path) -> f64 {
    let store = Store::create(store_dir).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let started = Instant::now();
    let spec = TrackSpec {
        path: file.to_path_buf(),
        ..Default::default()
    };
    runtime
        .block_on(ingest::ingest_tracks::<ingest::peaks::Peaks>(
            &store,
            &[spec],
            OnInvalid::Fail,
            &mut |_| {},
        ))
        .unwrap();
    started.elapsed().as_secs_f64()
}

fn pyarrow(file: &Path, out: &Path) -> Option<f64> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/pyarrow_peaks.py");
    let result = Command::new("python3")
        .arg(script)
        .arg(file)
        .arg(out)
        .output()
        .ok()?;
    if !result.status.success() {
        eprintln!(
            "pyarrow baseline skipped: {}",
            String::from_utf8_lossy(&result.stderr)
                .lines()
                .last()
                .unwrap_or("")
        );
        return None;
    }
    let text = String::from_utf8_lossy(&result.stdout);
    let seconds = text
        .split("\"seconds\": ")
        .nth(1)?
        .trim_end_matches(['}', '\n'])
        .parse()
        .ok()?;
    Some(seconds)
}

fn write_bigwig(path: &Path, intervals: usize) {
    let per_chrom = intervals / 4;
    let chroms: Vec<String> = (1..=4).map(|c| format!("chr{c}")).collect();
    let sizes: HashMap<String, u32> = chroms
        .iter()
        .map(|c| (c.clone(), (per_chrom * 50) as u32))
        .collect();
    let values = chroms.iter().flat_map(move |c| {
        (0..per_chrom).map(move |i| {
            (
                c.clone(),
                bigtools::Value {
                    start: (i * 50) as u32,
                    end: (i * 50 + 50) as u32,
                    value: (i % 97) as f32 / 7.0,
                },
            )
        })
    });
    let data = bigtools::beddata::BedParserStreamingIterator::wrap_infallible_iter(values, false);
    bigtools::BigWigWrite::create_file(path, sizes)
        .unwrap()
        .write(data, tokio::runtime::Runtime::new().unwrap())
        .unwrap();
}

fn main() {
    // `cargo bench` passes --bench; a plain run of this binary ignores arguments.
    let rows: usize = std::env::var("DNABENCH_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5_000_000);
    let dir = tempfile::tempdir().unwrap();

    let peaks = dir.path().join("bench.narrowPeak");
    write_narrowpeak(&peaks, rows);
    let mb = std::fs::metadata(&peaks).unwrap().len() as f64 / 1e6;
    let ours = ingest_peaks(&dir.path().join("store"), &peaks);
    println!(
        "peaks ingest ({rows} rows, {mb:.0} MB narrowPeak): {:.2} s, {:.0} rows/s",
        ours,
        rows as f64 / ours
    );
    if let Some(theirs) = pyarrow(&peaks, &dir.path().join("peaks.parquet")) {
        println!(
            "pyarrow read_csv + write Parquet, same file: {:.2} s, {:.0} rows/s; dnabench/pyarrow time ratio {:.2}",
            theirs,
            rows as f64 / theirs,
            ours / theirs
        );
    }

    let intervals = 1_000_000;
    let bw = dir.path().join("bench.bw");
    write_bigwig(&bw, intervals);
    let store = Store::create(&dir.path().join("signal-store")).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let started = Instant::now();
    let spec = TrackSpec {
        path: bw.clone(),
        ..Default::default()
    };
    runtime
        .block_on(ingest::ingest_tracks::<ingest::signal::Signal>(
            &store,
            &[spec],
            OnInvalid::Fail,
            &mut |_| {},
        ))
        .unwrap();
    let s = started.elapsed().as_secs_f64();
    println!(
        "bigWig ingest ({intervals} intervals): {s:.2} s, {:.0} rows/s",
        intervals as f64 / s
    );
}
