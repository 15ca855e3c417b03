//! The scale bench's inputs for the causal SNP and promoter tasks.
//!
//! - A GTEx v8 DAP-G-shaped fine-mapping table: 49 tissues, each with
//!   600,000 × fraction variant–gene rows over a shared pool of SNVs (a
//!   variant recurs across tissues, as GTEx's do; tens of millions of rows
//!   at full size), PIPs as GTEx's: most near 0, about 0.5 % above 0.9
//!   (a few thousand per tissue at full size).
//! - A GTF of 29,598 × fraction genes (EPDnew's promoters at full size),
//!   spread over the genome in proportion to chromosome length.
//!
//! Reference alleles are the genome's bases, read from its FASTA as a stream.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use super::Rng;

const TISSUES: usize = 49;
const ROWS_PER_TISSUE: f64 = 600_000.0;
const EPD_PROMOTERS: f64 = 29_598.0;

/// (chromosome, 0-based position, reference base) of each SNV in the pool.
struct Snv {
    chrom: u16,
    pos: u32,
    reference: u8,
}

/// About `count` SNVs at random non-N positions of the genome.
fn snv_pool(genome: &Path, count: u64, rng: &mut Rng) -> (Vec<String>, Vec<Snv>) {
    let bases = std::fs::metadata(genome).unwrap().len();
    let keep = (count as f64 / bases as f64).min(1.0);
    let mut chroms = Vec::new();
    let mut pool = Vec::with_capacity(count as usize + count as usize / 8);
    let mut pos = 0u32;
    for line in std::io::BufReader::new(std::fs::File::open(genome).unwrap()).lines() {
        let line = line.unwrap();
        if let Some(name) = line.strip_prefix('>') {
            chroms.push(name.to_string());
            pos = 0;
            continue;
        }
        for &b in line.as_bytes() {
            if b != b'N' && rng.unit() < keep {
                pool.push(Snv {
                    chrom: (chroms.len() - 1) as u16,
                    pos,
                    reference: b,
                });
            }
            pos += 1;
        }
    }
    (chroms, pool)
}

/// Writes the fine-mapping table; returns it and its rows.
pub fn write_finemapping(
    dir: &Path,
    genome: &Path,
    fraction: f64,
    rng: &mut Rng,
) -> (PathBuf, u64) {
    let per_tissue = (ROWS_PER_TISSUE * fraction) as u64;
    // GTEx tests each variant near a gene in many tissues: a pool a quarter
    // of the rows means a variant recurs in about 12 tissues.
    let (chroms, pool) = snv_pool(genome, per_tissue * TISSUES as u64 / 4, rng);
    let path = dir.join("GTEx_v8_finemapping_DAPG.txt");
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&path).unwrap());
    writeln!(
        out,
        "tissue_id\tgene_id\tcluster_id\tcluster_pip\tvariant_id\tvariant_pip"
    )
    .unwrap();
    let mut rows = 0;
    for t in 0..TISSUES {
        for _ in 0..per_tissue {
            let snv = &pool[rng.below(pool.len() as u64) as usize];
            let alt = loop {
                let b = b"ACGT"[rng.below(4) as usize];
                if b != snv.reference {
                    break b;
                }
            };
            let pip = if rng.unit() < 0.005 {
                0.9 + 0.1 * rng.unit()
            } else {
                0.9 * rng.unit().powi(6)
            };
            writeln!(
                out,
                "Tissue_{t}\tENSG{:011}.1\t{}\t{:.4}\t{}_{}_{}_{}_b38\t{pip:.6e}",
                snv.pos / 100_000,
                rng.below(20),
                pip.max(0.5),
                chroms[snv.chrom as usize],
                snv.pos + 1,
                snv.reference as char,
                alt as char,
            )
            .unwrap();
            rows += 1;
        }
    }
    (path, rows)
}

/// Writes the genes' GTF; returns it and its genes.
pub fn write_genes(
    dir: &Path,
    chroms: &[(&str, u64)],
    fraction: f64,
    rng: &mut Rng,
) -> (PathBuf, u64) {
    let genes = (EPD_PROMOTERS * fraction).round().max(1.0) as u64;
    let total: u64 = chroms.iter().map(|c| c.1).sum();
    let path = dir.join("genes.gtf");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    for g in 0..genes {
        let mut at = rng.below(total);
        let (name, len) = chroms
            .iter()
            .find(|(_, len)| {
                let inside = at < *len;
                if !inside {
                    at -= len;
                }
                inside
            })
            .unwrap();
        // Clear of the 10 kb of N at each end, and of the window's reach.
        let start = (20_000 + at).min(len - 40_000);
        let end = start + 1_000 + rng.below(30_000);
        let strand = if rng.below(2) == 0 { '+' } else { '-' };
        writeln!(
            out,
            "{name}\tbench\tgene\t{}\t{end}\t.\t{strand}\t.\tgene_id \"G{g}\"; gene_name \"G{g}\"; gene_type \"protein_coding\";",
            start + 1
        )
        .unwrap();
    }
    (path, genes)
}
