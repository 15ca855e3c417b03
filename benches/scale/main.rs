//! Genome scale: wall time, peak RSS and peak spill of each step of the
//! chromatin pipeline on hg19-shaped inputs, at fractions of hg19's size, so
//! growth is visible. Each step runs as its own process under
//! `/usr/bin/time -v`, its spill folder (`STORE/_spill`) sampled as it runs.
//!
//! Inputs, generated (random bases, so only sizes and shapes are real):
//! - a genome of hg19's 24 chromosomes, each `fraction` of its length, with
//!   a 10 kb run of N at both ends as hg19's telomeres;
//! - `--tracks` narrowPeak files (7,878 by default) of `--peaks` × fraction
//!   peaks each (15,000 by default), widths uniform in `--widths` bp;
//! - with `--methylation N`, N bedMethyl samples over `fraction` of hg19's
//!   28 M CpGs (drawn from the genome's CG sites), shaped by
//!   `--methylation-shape rrbs` (the default) or `wgbs` ([`methylation`]).
//!
//! Steps: `ingest genome`, `ingest peaks --manifest`, `materialize --task
//! chromatin` under `--memory-limit`, and one loader epoch of the train
//! split (shuffled over the whole split, 1000 bp one-hot batches of 64);
//! with `--methylation`, `ingest methylation`, `materialize --task
//! methylation` and its few-shot variant (`--variant train_subset`, 1 %).
//!
//! Run: `cargo bench --profile dev --bench scale -- --fractions 0.01,0.1`
//! (`--tasks chromatin,methylation`, `--tracks`, `--peaks`, `--widths
//! 200-1000`, `--memory-limit 3GB`, `--methylation 96`, `--methylation-shape
//! wgbs`, `--keep DIR` to keep the files).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use dnabench_engine::sql::spill::folder_size;

mod loader;
mod methylation;
mod variants;

/// hg19's chromosomes and lengths.
const HG19: &[(&str, u64)] = &[
    ("chr1", 249_250_621),
    ("chr2", 243_199_373),
    ("chr3", 198_022_430),
    ("chr4", 191_154_276),
    ("chr5", 180_915_260),
    ("chr6", 171_115_067),
    ("chr7", 159_138_663),
    ("chr8", 146_364_022),
    ("chr9", 141_213_431),
    ("chr10", 135_534_747),
    ("chr11", 135_006_516),
    ("chr12", 133_851_895),
    ("chr13", 115_169_878),
    ("chr14", 107_349_540),
    ("chr15", 102_531_392),
    ("chr16", 90_354_753),
    ("chr17", 81_195_210),
    ("chr18", 78_077_248),
    ("chr19", 59_128_983),
    ("chr20", 63_025_520),
    ("chr21", 48_129_895),
    ("chr22", 51_304_566),
    ("chrX", 155_270_560),
    ("chrY", 59_373_566),
];

struct Options {
    fractions: Vec<f64>,
    tracks: usize,
    peaks: usize,
    widths: (u64, u64),
    memory_limit: String,
    chromatin: bool,
    causal_snp: bool,
    promoter: bool,
    expression: bool,
    mpra: bool,
    methylation: usize,
    methylation_shape: methylation::Shape,
    keep: Option<PathBuf>,
}

fn options() -> Options {
    let mut o = Options {
        fractions: vec![0.01, 0.1],
        tracks: 7878,
        peaks: 15_000,
        widths: (200, 1000),
        memory_limit: "3GB".into(),
        chromatin: true,
        causal_snp: false,
        promoter: false,
        expression: false,
        mpra: false,
        methylation: 0,
        methylation_shape: methylation::Shape::Rrbs,
        keep: None,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let value = args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--fractions" => o.fractions = value.split(',').map(|v| v.parse().unwrap()).collect(),
            "--tracks" => o.tracks = value.parse().unwrap(),
            "--peaks" => o.peaks = value.parse().unwrap(),
            "--widths" => {
                let (a, b) = value.split_once('-').expect("--widths MIN-MAX");
                o.widths = (a.parse().unwrap(), b.parse().unwrap());
            }
            "--memory-limit" => o.memory_limit = value,
            "--tasks" => {
                let all = value == "all";
                let tasks: Vec<&str> = value.split(',').collect();
                let has = |t: &str| all || tasks.contains(&t);
                o.chromatin = has("chromatin");
                o.causal_snp = has("causal_snp");
                o.promoter = has("promoter");
                o.expression = has("expression");
                o.mpra = has("mpra");
                if has("methylation") && o.methylation == 0 {
                    o.methylation = 96;
                }
            }
            "--methylation" => o.methylation = value.parse().unwrap(),
            "--methylation-shape" => o.methylation_shape = value.parse().unwrap(),
            "--keep" => o.keep = Some(PathBuf::from(value)),
            // cargo bench passes --bench; anything else is ours to refuse.
            "--bench" => {
                i += 1;
                continue;
            }
            other => panic!("unknown option {other}"),
        }
        i += 2;
    }
    o
}

/// xorshift64*: fast enough to write gigabytes of bases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A position drawn uniformly over the genome of `total` bases: its
/// chromosome's name and length, and the offset on it.
fn random_position<'c>(
    chroms: &[(&'c str, u64)],
    total: u64,
    rng: &mut Rng,
) -> (&'c str, u64, u64) {
    let mut at = rng.below(total);
    for &(name, len) in chroms {
        if at < len {
            return (name, len, at);
        }
        at -= len;
    }
    unreachable!("a draw below the genome's total lies on a chromosome")
}

fn chroms(fraction: f64) -> Vec<(&'static str, u64)> {
    HG19.iter()
        .map(|&(c, len)| (c, ((len as f64 * fraction) as u64).max(30_000)))
        .collect()
}

fn write_genome(path: &Path, fraction: f64, rng: &mut Rng) {
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    let mut line = [0u8; 61];
    line[60] = b'\n';
    for (name, len) in chroms(fraction) {
        writeln!(out, ">{name}").unwrap();
        let mut pos = 0;
        while pos < len {
            let n = (len - pos).min(60) as usize;
            for (i, b) in line[..n].iter_mut().enumerate() {
                let at = pos + i as u64;
                *b = if at < 10_000 || at >= len - 10_000 {
                    b'N'
                } else {
                    b"ACGT"[(rng.next() >> 62) as usize]
                };
            }
            out.write_all(&line[..n]).unwrap();
            out.write_all(b"\n").unwrap();
            pos += n as u64;
        }
    }
}

/// The manifest of `tracks` narrowPeak files; peaks fall on chromosomes in
/// proportion to their length.
fn write_peaks(dir: &Path, o: &Options, fraction: f64, rng: &mut Rng) -> (PathBuf, u64) {
    std::fs::create_dir_all(dir.join("peaks")).unwrap();
    let chroms = chroms(fraction);
    let total: u64 = chroms.iter().map(|c| c.1).sum();
    let per_track = ((o.peaks as f64 * fraction).round() as u64).max(1);
    let manifest = dir.join("tracks.tsv");
    let mut m = std::fs::File::create(&manifest).unwrap();
    writeln!(m, "name\tassay\tbiosample\tpath").unwrap();
    for t in 0..o.tracks {
        let file = format!("peaks/t{t}.narrowPeak");
        writeln!(m, "track{t}\tTF ChIP-seq\tcell{}\t{file}", t % 100).unwrap();
        let mut out = std::io::BufWriter::new(std::fs::File::create(dir.join(&file)).unwrap());
        for p in 0..per_track {
            let (name, len, at) = random_position(&chroms, total, rng);
            let width = o.widths.0 + rng.below(o.widths.1 - o.widths.0 + 1);
            let start = at.min(len - width);
            writeln!(
                out,
                "{name}\t{start}\t{}\tpeak{p}\t{}\t.\t{:.2}\t-1\t{:.2}\t{}",
                start + width,
                rng.below(1000),
                rng.below(1000) as f64 / 100.0,
                rng.below(500) as f64 / 100.0,
                width / 2
            )
            .unwrap();
        }
    }
    (manifest, per_track * o.tracks as u64)
}

/// Wall seconds, peak RSS (MB), peak spill bytes and the last line of output.
type Measured = (f64, f64, u64, String);

/// Wall seconds, peak RSS (MB) and peak bytes under `spill` (its SQL
/// sessions' spill folder, sampled every 50 ms) of one command; its
/// stdout's last line.
fn measured(args: &[&str], spill: &Path) -> Measured {
    let started = Instant::now();
    let child = Command::new("/usr/bin/time")
        .arg("-v")
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("/usr/bin/time runs");
    let done = std::sync::atomic::AtomicBool::new(false);
    let (out, spill_peak) = std::thread::scope(|scope| {
        let sampler = scope.spawn(|| {
            let mut peak = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(folder_size(spill).1);
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            peak
        });
        let out = child.wait_with_output().expect("/usr/bin/time runs");
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        (out, sampler.join().unwrap())
    });
    let secs = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?} failed:\n{stderr}");
    let rss_kb: f64 = stderr
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(f64::NAN);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or_default().to_string();
    (secs, rss_kb / 1024.0, spill_peak, last)
}

/// One `materialize --task TASK` under the memory limit, as a row: its
/// examples (returned), and their bytes in `examples.lance`.
#[allow(clippy::too_many_arguments)]
fn materialize_row(
    row: &dyn Fn(&str, u64, Measured),
    o: &Options,
    bin: &str,
    store: &Path,
    task: &str,
    params: &[&str],
    context: &str,
    spill: &Path,
) -> u64 {
    let before = folder_size(&store.join("examples.lance")).1;
    let mut args = vec![
        bin,
        "--memory-limit",
        &o.memory_limit,
        "materialize",
        "--task",
        task,
    ];
    for p in params {
        args.extend(["--param", p]);
    }
    args.extend(["--store", store.to_str().unwrap()]);
    let (secs, rss, spilled, note) = measured(&args, spill);
    let examples = examples_in(&note);
    let bytes = folder_size(&store.join("examples.lance")).1 - before;
    row(
        &format!("materialize {task}"),
        examples,
        (
            secs,
            rss,
            spilled,
            format!(
                "{:.0} bytes/example ({:.2} GB) in examples.lance; {context}{}{note}",
                bytes as f64 / examples.max(1) as f64,
                bytes as f64 / 1e9,
                if context.is_empty() { "" } else { "; " }
            ),
        ),
    );
    examples
}

/// N of materialize's "materialized TASK: N examples (…)".
fn examples_in(note: &str) -> u64 {
    note.split_whitespace()
        .nth(2)
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Samples written and ingested at a time: the bedMethyl text on disk is
/// at most this many samples.
const METHYLATION_SAMPLES_PER_INGEST: usize = 8;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--loader-epoch") {
        return loader::loader_epoch(Path::new(&args[2]), &args[3], &args[4]);
    }
    let o = options();
    let bin = env!("CARGO_BIN_EXE_dnabench");
    let own = std::env::current_exe().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let root = o.keep.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    println!(
        "| fraction | step | rows | wall s | rows/s | peak RSS MB | peak spill MB | note |\n| --- | --- | --- | --- | --- | --- | --- | --- |"
    );
    for &fraction in &o.fractions {
        let dir = root.join(format!("f{fraction}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ fraction.to_bits());
        let genome = dir.join("genome.fa");
        write_genome(&genome, fraction, &mut rng);
        let bases: u64 = chroms(fraction).iter().map(|c| c.1).sum();
        let store = dir.join("store");
        let s = store.to_str().unwrap();
        let spill = store.join("_spill");
        let row = |step: &str, rows: u64, (secs, rss, spilled, note): Measured| {
            println!(
                "| {fraction} | {step} | {rows} | {secs:.1} | {:.0} | {rss:.0} | {:.0} | {note} |",
                rows as f64 / secs,
                spilled as f64 / 1e6
            );
        };
        row(
            "ingest genome",
            bases,
            measured(
                &[
                    bin,
                    "ingest",
                    "genome",
                    genome.to_str().unwrap(),
                    "--store",
                    s,
                ],
                &spill,
            ),
        );
        if o.chromatin {
            let (manifest, peaks) = write_peaks(&dir, &o, fraction, &mut rng);
            row(
                "ingest peaks --manifest",
                peaks,
                measured(
                    &[
                        bin,
                        "ingest",
                        "peaks",
                        "--manifest",
                        manifest.to_str().unwrap(),
                        "--store",
                        s,
                    ],
                    &spill,
                ),
            );
            let examples = materialize_row(&row, &o, bin, &store, "chromatin", &[], "", &spill);
            // The first open decodes the genome table and keeps a packed
            // copy; every later one reads that copy.
            for step in [
                "loader epoch (train, one-hot), first open",
                "loader epoch (train, one-hot), packed genome kept",
            ] {
                row(
                    step,
                    examples,
                    measured(
                        &[
                            own.to_str().unwrap(),
                            "--loader-epoch",
                            s,
                            "chromatin",
                            "positive_tracks",
                        ],
                        &spill,
                    ),
                );
            }
        }
        if o.promoter || o.expression {
            let (genes, n) = variants::write_genes(&dir, &chroms(fraction), fraction, &mut rng);
            let ingest = &[
                bin,
                "ingest",
                "genes",
                genes.to_str().unwrap(),
                "--store",
                s,
            ];
            row("ingest genes (GTF)", n, measured(ingest, &spill));
        }
        if o.promoter {
            let _ = materialize_row(&row, &o, bin, &store, "promoter", &[], "", &spill);
        }
        if o.expression {
            let (matrix, n) = variants::write_expression(&dir, fraction, &mut rng);
            let ingest = &[
                bin,
                "ingest",
                "expression",
                matrix.to_str().unwrap(),
                "--store",
                s,
            ];
            row(
                "ingest expression (218 samples)",
                n,
                measured(ingest, &spill),
            );
            let examples = materialize_row(&row, &o, bin, &store, "expression", &[], "", &spill);
            row(
                "loader epoch (expression train, 40 kb one-hot)",
                examples,
                measured(
                    &[
                        own.to_str().unwrap(),
                        "--loader-epoch",
                        s,
                        "expression",
                        "targets",
                    ],
                    &spill,
                ),
            );
        }
        if o.mpra {
            let (table, n) = variants::write_mpra(&dir, &genome, &mut rng);
            let ingest = &[bin, "ingest", "mpra", table.to_str().unwrap(), "--store", s];
            row("ingest mpra (20 elements)", n, measured(ingest, &spill));
            let _ = materialize_row(&row, &o, bin, &store, "mpra", &[], "", &spill);
        }
        if o.causal_snp {
            let (table, n) = variants::write_finemapping(&dir, &genome, fraction, &mut rng);
            let ingest = &[bin, "ingest", "eqtl", table.to_str().unwrap(), "--store", s];
            row(
                "ingest eqtl (DAP-G, 49 tissues)",
                n,
                measured(ingest, &spill),
            );
            let _ = std::fs::remove_file(&table);
            let _ = materialize_row(&row, &o, bin, &store, "causal_snp", &[], "", &spill);
        }
        if o.methylation > 0 {
            // hg19 has 28 M CpGs; the fraction of them, drawn from the genome.
            let universe = methylation::universe(&genome, (28e6 * fraction) as u64, &mut rng);
            let shape = o.methylation_shape;
            let (mut calls, mut secs, mut rss, mut spilled) = (0, 0.0, 0f64, 0);
            let mut note = String::new();
            for first in (0..o.methylation).step_by(METHYLATION_SAMPLES_PER_INGEST) {
                let count = METHYLATION_SAMPLES_PER_INGEST.min(o.methylation - first);
                let (manifest, n) =
                    methylation::write_samples(&dir, &universe, shape, first, count, rng.next());
                let step = measured(
                    &[
                        bin,
                        "ingest",
                        "methylation",
                        "--manifest",
                        manifest.to_str().unwrap(),
                        "--store",
                        s,
                    ],
                    &spill,
                );
                let _ = std::fs::remove_dir_all(dir.join("methylation"));
                calls += n;
                secs += step.0;
                rss = rss.max(step.1);
                spilled = spilled.max(step.2);
                note = step.3;
            }
            row(
                &format!("ingest methylation ({shape}, {} samples)", o.methylation),
                calls,
                (secs, rss, spilled, note),
            );
            let (_, table) = folder_size(&store.join("methylation.lance"));
            let context = format!(
                "{} CpGs in the universe, calls table {:.1} GB",
                universe.sites.len(),
                table as f64 / 1e9
            );
            let params = ["min_coverage=1", "valid_chroms=2", "test_chroms=3"];
            materialize_row(
                &row,
                &o,
                bin,
                &store,
                "methylation",
                &params,
                &context,
                &spill,
            );
            // The few-shot variant, sampled from the rows just written.
            let few = measured(
                &[
                    bin,
                    "--memory-limit",
                    &o.memory_limit,
                    "materialize",
                    "--task",
                    "methylation",
                    "--variant",
                    "train_subset",
                    "--param",
                    "source=methylation",
                    "--param",
                    "train_fraction=0.01",
                    "--name",
                    "methylation_few",
                    "--store",
                    s,
                ],
                &spill,
            );
            row(
                "materialize methylation_few (train_subset, 1 %)",
                examples_in(&few.3),
                few,
            );
        }
        if o.keep.is_none() {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}
