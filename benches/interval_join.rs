//! The interval join against `bedtools intersect -sorted -wa -wb` (Debian's
//! bedtools), one run each, on the real chr1 sets of `data/intervals`
//! (gerp × refseq exons) and on generated 1M × 1M intervals; both must give
//! the same number of rows. dnabench runs `tests/fixtures/intersect.sql`
//! in-process: reading both BED files, the join, and every output row built.
//!
//! Run: `cargo bench --profile dev --bench interval_join`
//! (DNABENCH_BENCH_ROWS changes the 1M; skipped with a note without bedtools).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use dnabench_engine::sql::run_sql;
use dnabench_engine::sql::session::open_session_without_store;
use rand::{Rng, SeedableRng};

/// Sorted BED intervals on 22 chromosomes of 200 Mb, widths 100–2000 bp.
fn write_bed(path: &Path, rows: usize, seed: u64, columns: usize) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut intervals: Vec<(u32, u32, u32)> = (0..rows)
        .map(|_| {
            let start = rng.random_range(0..200_000_000);
            (
                rng.random_range(1..=22),
                start,
                start + rng.random_range(100..2000),
            )
        })
        .collect();
    intervals.sort();
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for (i, (c, s, e)) in intervals.into_iter().enumerate() {
        match columns {
            4 => writeln!(out, "chr{c}\t{s}\t{e}\t{i}").unwrap(),
            _ => writeln!(out, "chr{c}\t{s}\t{e}\tf{i}\t0\t+").unwrap(),
        }
    }
}

async fn dnabench_rows(a: &Path, b: &Path, compression: &str) -> (usize, f64) {
    let ctx = open_session_without_store();
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/intersect.sql"),
    )
    .unwrap();
    let params = BTreeMap::from([
        ("a".to_string(), a.display().to_string()),
        ("b".to_string(), b.display().to_string()),
        ("compression".to_string(), compression.to_string()),
    ]);
    let started = Instant::now();
    let result = run_sql(&ctx, "intersect.sql", &text, &params)
        .await
        .unwrap();
    let rows = result.batches.iter().map(|b| b.num_rows()).sum();
    (rows, started.elapsed().as_secs_f64())
}

fn bedtools_rows(a: &Path, b: &Path) -> Option<(usize, f64)> {
    let started = Instant::now();
    let out = Command::new("bedtools")
        .args(["intersect", "-sorted", "-wa", "-wb", "-a"])
        .arg(a)
        .arg("-b")
        .arg(b)
        .output()
        .ok()?;
    let secs = started.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some((out.stdout.iter().filter(|&&c| c == b'\n').count(), secs))
}

async fn compare(label: &str, a: &Path, b: &Path, compression: &str) {
    let (rows, secs) = dnabench_rows(a, b, compression).await;
    print!("{label}: dnabench {rows} rows in {secs:.3} s");
    match bedtools_rows(a, b) {
        Some((bt_rows, bt_secs)) => {
            println!(
                "; bedtools {bt_rows} rows in {bt_secs:.3} s; time ratio dnabench/bedtools {:.2}; rows {}",
                secs / bt_secs,
                if rows == bt_rows { "equal" } else { "DIFFER" }
            );
            assert_eq!(rows, bt_rows, "{label}: row counts differ");
        }
        None => println!("; bedtools not found (apt-get install bedtools), no baseline"),
    }
}

/// A gzip BED file decompressed and sorted by (chrom, start), as
/// `bedtools -sorted` requires (refseq exons are not sorted as shipped).
fn sorted_copy(gz: &Path, out: &Path) {
    use std::io::Read;
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(gz).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let mut lines: Vec<(&str, u64, &str)> = text
        .lines()
        .map(|l| {
            let mut f = l.split('\t');
            (f.next().unwrap(), f.next().unwrap().parse().unwrap(), l)
        })
        .collect();
    lines.sort();
    let mut w = std::io::BufWriter::new(std::fs::File::create(out).unwrap());
    for (_, _, l) in lines {
        writeln!(w, "{l}").unwrap();
    }
}

#[tokio::main]
async fn main() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/intervals");
    let dir = tempfile::tempdir().unwrap();
    let (gerp, exons) = (dir.path().join("gerp.bed"), dir.path().join("exons.bed"));
    sorted_copy(&data.join("gerp.chr1.bed.gz"), &gerp);
    sorted_copy(&data.join("refseq.chr1.exons.bed.gz"), &exons);
    compare(
        "gerp x refseq exons (chr1, 88,292 x 43,424)",
        &gerp,
        &exons,
        "uncompressed",
    )
    .await;
    let rows: usize = std::env::var("DNABENCH_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let (a, b) = (dir.path().join("a.bed"), dir.path().join("b.bed"));
    write_bed(&a, rows, 1, 4);
    write_bed(&b, rows, 2, 6);
    compare(
        &format!("generated {rows} x {rows}"),
        &a,
        &b,
        "uncompressed",
    )
    .await;
}
