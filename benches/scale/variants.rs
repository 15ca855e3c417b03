//! The scale bench's inputs for the causal SNP and promoter tasks.
//!
//! - A GTEx v8 DAP-G-shaped fine-mapping table: 49 tissues, each with
//!   600,000 × fraction variant–gene rows over a shared pool of SNVs (a
//!   variant recurs across tissues, as GTEx's do; tens of millions of rows
//!   at full size), PIPs as GTEx's: most near 0, about 0.5 % above 0.9
//!   (a few thousand per tissue at full size).
//! - A GTF of 29,598 × fraction genes (EPDnew's promoters at full size),
//!   spread over the genome in proportion to chromosome length, and an
//!   expression matrix of the first 24,338 × fraction of them (ExPecto's
//!   genes) × 218 samples.
//! - A saturation mutagenesis of 20 elements (Kircher et al.'s size): every
//!   SNV of 500 bp each, 30,000 rows at every fraction.
//!
//! Reference alleles are the genome's bases, read from its FASTA as a stream.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use super::Rng;

const TISSUES: usize = 49;
const ROWS_PER_TISSUE: f64 = 600_000.0;
const EPD_PROMOTERS: f64 = 29_598.0;
const EXPECTO_GENES: f64 = 24_338.0;
const EXPRESSION_SAMPLES: usize = 218;
const MPRA_ELEMENTS: usize = 20;
const MPRA_ELEMENT_BP: u32 = 500;

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
        let (name, len, at) = super::random_position(chroms, total, rng);
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

/// Writes the expression matrix of the first 24,338 × fraction genes of
/// [`write_genes`]; returns it and its values.
pub fn write_expression(dir: &Path, fraction: f64, rng: &mut Rng) -> (PathBuf, u64) {
    let genes = (EXPECTO_GENES * fraction).round().max(1.0) as u64;
    let path = dir.join("expression.tsv");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    write!(out, "gene_id").unwrap();
    for s in 0..EXPRESSION_SAMPLES {
        write!(out, "\tsample{s}").unwrap();
    }
    writeln!(out).unwrap();
    for g in 0..genes {
        write!(out, "G{g}").unwrap();
        for _ in 0..EXPRESSION_SAMPLES {
            write!(out, "\t{:.4}", 6.0 * rng.unit() - 1.0).unwrap();
        }
        writeln!(out).unwrap();
    }
    (path, genes * EXPRESSION_SAMPLES as u64)
}

/// Writes a saturation mutagenesis table: every SNV of 20 elements of 500 bp
/// on the genome's bases; returns it and its rows.
pub fn write_mpra(dir: &Path, genome: &Path, rng: &mut Rng) -> (PathBuf, u64) {
    // Element starts first, then their bases from one pass over the FASTA.
    let (chroms, pool) = snv_pool(genome, MPRA_ELEMENTS as u64 * 4, rng);
    let elements: Vec<&Snv> = pool.iter().step_by(4).take(MPRA_ELEMENTS).collect();
    let mut bases: Vec<Vec<u8>> = vec![Vec::new(); elements.len()];
    let mut chrom = None;
    let mut pos = 0u32;
    for line in std::io::BufReader::new(std::fs::File::open(genome).unwrap()).lines() {
        let line = line.unwrap();
        if let Some(name) = line.strip_prefix('>') {
            chrom = chroms.iter().position(|c| c == name);
            pos = 0;
            continue;
        }
        for &b in line.as_bytes() {
            for (e, element) in elements.iter().enumerate() {
                if Some(element.chrom as usize) == chrom
                    && (element.pos..element.pos + MPRA_ELEMENT_BP).contains(&pos)
                {
                    bases[e].push(b);
                }
            }
            pos += 1;
        }
    }
    let path = dir.join("mpra.tsv");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    writeln!(
        out,
        "chromosome\tposition\tref\talt\ttags\tdna\trna\tvalue\tp_value\telement"
    )
    .unwrap();
    let mut rows = 0;
    for (e, element) in elements.iter().enumerate() {
        let name = chroms[element.chrom as usize].trim_start_matches("chr");
        for (i, &reference) in bases[e].iter().enumerate() {
            for alt in *b"ACGT" {
                if alt == reference || reference == b'N' {
                    continue;
                }
                let effect = 2.0 * rng.unit() - 1.0;
                writeln!(
                    out,
                    "{name}\t{}\t{}\t{}\t{}\t1.0\t{:.4}\t{effect:.4}\t{:.3e}\tE{e}",
                    element.pos as usize + i + 1,
                    reference as char,
                    alt as char,
                    20 + rng.below(80),
                    f64::exp2(effect),
                    rng.unit()
                )
                .unwrap();
                rows += 1;
            }
        }
    }
    (path, rows)
}
