//! The scale bench's methylation samples: bedMethyl files over a universe
//! of CpGs drawn from the generated genome's CG sites, in two shapes.
//!
//! - RRBS: each sample covers a share of the universe drawn from 2/28 to
//!   5/28 (2–5 M of hg19's 28 M CpGs), both strands, 1–50 reads a call;
//! - WGBS: every sample covers every CpG, both strands, 1–30 reads a call.
//!
//! Samples are written a few at a time, so the text never holds more than a
//! chunk of them on disk (a whole RRBS benchmark is ~40 GB of bedMethyl).

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use super::Rng;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Rrbs,
    Wgbs,
}

impl std::str::FromStr for Shape {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "rrbs" => Ok(Shape::Rrbs),
            "wgbs" => Ok(Shape::Wgbs),
            other => Err(format!("--methylation-shape rrbs or wgbs, got {other}")),
        }
    }
}

impl std::fmt::Display for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Shape::Rrbs => "RRBS",
            Shape::Wgbs => "WGBS",
        })
    }
}

/// The CpGs samples are drawn over: (chromosome, position of the C).
pub struct Universe {
    pub chroms: Vec<String>,
    pub sites: Vec<(u16, u32)>,
}

/// About `cpgs` of the genome's CG sites, read from its FASTA as a stream.
pub fn universe(genome: &Path, cpgs: u64, rng: &mut Rng) -> Universe {
    let reader = std::io::BufReader::new(std::fs::File::open(genome).unwrap());
    // Random bases hold a CG every 16 bp; keep the share that gives `cpgs`.
    let bases: u64 = std::fs::metadata(genome).unwrap().len();
    let keep = (cpgs as f64 * 16.0 / bases as f64).min(1.0);
    let mut u = Universe {
        chroms: Vec::new(),
        sites: Vec::with_capacity(cpgs as usize + cpgs as usize / 8),
    };
    let (mut pos, mut previous) = (0u32, 0u8);
    for line in reader.lines() {
        let line = line.unwrap();
        if let Some(name) = line.strip_prefix('>') {
            u.chroms.push(name.to_string());
            (pos, previous) = (0, 0);
            continue;
        }
        let chrom = (u.chroms.len() - 1) as u16;
        for &b in line.as_bytes() {
            if previous == b'C'
                && b == b'G'
                && (rng.next() >> 11) as f64 / (1u64 << 53) as f64 <= keep
            {
                u.sites.push((chrom, pos - 1));
            }
            previous = b;
            pos += 1;
        }
    }
    u
}

/// Writes samples `first..first + count` into `dir`, on every core, and
/// their manifest; returns it and the calls written.
pub fn write_samples(
    dir: &Path,
    universe: &Universe,
    shape: Shape,
    first: usize,
    count: usize,
    seed: u64,
) -> (PathBuf, u64) {
    std::fs::create_dir_all(dir.join("methylation")).unwrap();
    let manifest = dir.join(format!("methylation-{first}.tsv"));
    let mut m = std::fs::File::create(&manifest).unwrap();
    writeln!(m, "name\tassay\tbiosample\tpath").unwrap();
    for s in first..first + count {
        writeln!(m, "sample{s}\t{shape}\tcell{s}\tmethylation/s{s}.bed").unwrap();
    }
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let next = std::sync::atomic::AtomicUsize::new(first);
    let calls = std::sync::atomic::AtomicU64::new(0);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let s = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if s >= first + count {
                    break;
                }
                let path = dir.join(format!("methylation/s{s}.bed"));
                let mut rng = Rng(seed ^ (s as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
                let n = write_sample(&path, universe, shape, &mut rng);
                calls.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
            });
        }
    });
    (manifest, calls.into_inner())
}

fn write_sample(path: &Path, universe: &Universe, shape: Shape, rng: &mut Rng) -> u64 {
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    let (share, max_reads) = match shape {
        Shape::Rrbs => ((2.0 + 3.0 * rng.unit()) / 28.0, 50),
        Shape::Wgbs => (1.0, 30),
    };
    let mut calls = 0;
    for &(chrom, c) in &universe.sites {
        if shape == Shape::Rrbs && rng.unit() > share {
            continue;
        }
        // Each strand is called most of the time; at least one is.
        let (plus, minus) = match shape {
            Shape::Wgbs => (true, true),
            Shape::Rrbs => match rng.below(10) {
                0 => (true, false),
                1 => (false, true),
                _ => (true, true),
            },
        };
        let name = &universe.chroms[chrom as usize];
        for (called, start, strand) in [(plus, c, '+'), (minus, c + 1, '-')] {
            if !called {
                continue;
            }
            let coverage = 1 + rng.below(max_reads);
            let methylated = rng.below(coverage + 1);
            writeln!(
                out,
                "{name}\t{start}\t{}\tm\t{coverage}\t{strand}\t{start}\t{}\t0,0,0\t{coverage}\t{:.1}",
                start + 1,
                start + 1,
                100.0 * methylated as f64 / coverage as f64
            )
            .unwrap();
            calls += 1;
        }
    }
    calls
}
