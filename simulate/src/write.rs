//! Writes a [`Simulation`] in the source formats: FASTA, GTF, narrowPeak,
//! bedMethyl, an ExPecto-style matrix, VCF, a GTEx fine-mapping table and a
//! Kircher-style MPRA table, plus a README of what was planted.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use rand::{Rng, SeedableRng};

use super::{SimulatedFiles, Simulation, CHROM_NAMES, MOTIF_ROLES};
use dnabench_engine::error::{Error, Result};

fn write_file(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|source| Error::Write {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    fs::write(path, text).map_err(|source| Error::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// The chromosome as Kircher et al. write it: no `chr` prefix.
fn bare(chrom: usize) -> &'static str {
    CHROM_NAMES[chrom].trim_start_matches("chr")
}

pub fn write_all(sim: &Simulation, files: &SimulatedFiles) -> Result<()> {
    write_file(&files.genome(), &fasta(sim))?;
    write_file(&files.genes(), &gtf(sim))?;
    let mut manifest = String::from("path\tname\tassay\tbiosample\n");
    for track in &sim.tracks {
        let file = format!("{}.narrowPeak", track.name);
        let mut text = String::new();
        for (i, p) in track.peaks.iter().enumerate() {
            let score = (p.signal * 10.0).round().min(1000.0);
            let _ = writeln!(
                text,
                "{}\t{}\t{}\t{}_peak_{}\t{score}\t.\t{:.3}\t{:.3}\t{:.3}\t{}",
                CHROM_NAMES[p.chrom],
                p.start,
                p.end,
                track.name,
                i + 1,
                p.signal,
                p.signal / 4.0,
                p.signal / 5.0,
                p.summit
            );
        }
        write_file(&files.dir.join("peaks").join(&file), &text)?;
        let _ = writeln!(
            manifest,
            "{file}\t{}\t{}\t{}",
            track.name, track.assay, track.biosample
        );
    }
    write_file(&files.peaks_manifest(), &manifest)?;
    write_methylation(sim, files)?;
    write_file(&files.expression(), &expression(sim))?;
    write_file(&files.variants(), &vcf(sim))?;
    write_file(&files.eqtl(), &finemapping(sim))?;
    write_file(&files.mpra(), &mpra(sim))?;
    write_file(&files.dir.join("README.md"), &readme(sim))
}

fn fasta(sim: &Simulation) -> String {
    let mut text = String::new();
    for (i, seq) in sim.planter.seqs.iter().enumerate() {
        let _ = writeln!(
            text,
            ">{} simulated: Markov background of the real slice, with planted motifs",
            CHROM_NAMES[i],
        );
        for line in seq.chunks(60) {
            text.push_str(std::str::from_utf8(line).unwrap_or_default());
            text.push('\n');
        }
    }
    text
}

fn gtf(sim: &Simulation) -> String {
    let mut text = String::from("##description: dnabench simulate: gene starts\n");
    for (i, g) in sim.genes.iter().enumerate() {
        let (start, end) = g.span();
        let _ = writeln!(
            text,
            "{}\tdnabench\tgene\t{}\t{end}\t.\t{}\t.\tgene_id \"{}\"; gene_name \"SIM{}\"; gene_type \"protein_coding\";",
            CHROM_NAMES[g.chrom],
            start + 1,
            g.strand,
            g.id,
            i + 1
        );
    }
    text
}

fn write_methylation(sim: &Simulation, files: &SimulatedFiles) -> Result<()> {
    let mut planter_rng = rand_chacha::ChaCha8Rng::seed_from_u64(sim.seed ^ 0x6d65_7468);
    let mut manifest = String::from("path\tname\tassay\tbiosample\n");
    for (name, shift) in &sim.methylation_samples {
        let mut text = String::new();
        for cpg in &sim.cpgs {
            let base = if cpg.unmethylated { 0.12 } else { 0.82 };
            for (strand, start) in [('+', cpg.pos), ('-', cpg.pos + 1)] {
                let noise: f64 = planter_rng.random_range(-0.08..0.08);
                let fraction = (base + shift + noise).clamp(0.0, 1.0);
                let coverage: u32 = planter_rng.random_range(6..40);
                let percent = (fraction * 100.0).round() as u32;
                let _ = writeln!(
                    text,
                    "{}\t{start}\t{}\t{name}\t{}\t{strand}\t{start}\t{}\t0,255,0\t{coverage}\t{percent}",
                    CHROM_NAMES[cpg.chrom],
                    start + 1,
                    coverage.min(1000),
                    start + 1
                );
            }
        }
        let file = format!("{name}.bed");
        write_file(&files.dir.join("methylation").join(&file), &text)?;
        let _ = writeln!(manifest, "{file}\t{name}\tRRBS\t{name}");
    }
    write_file(&files.methylation_manifest(), &manifest)
}

fn expression(sim: &Simulation) -> String {
    let mut text = String::from("gene_id");
    for (name, _, _) in &sim.samples {
        text.push('\t');
        text.push_str(name);
    }
    text.push('\n');
    for (g, row) in sim.genes.iter().zip(&sim.expression) {
        text.push_str(&g.id);
        for v in row {
            let _ = write!(text, "\t{v:.4}");
        }
        text.push('\n');
    }
    text
}

fn gtex_id(v: &super::Variant) -> String {
    format!(
        "{}_{}_{}_{}_b38",
        CHROM_NAMES[v.chrom],
        v.pos + 1,
        v.reference as char,
        v.alt as char
    )
}

fn vcf(sim: &Simulation) -> String {
    let mut text = String::from("##fileformat=VCFv4.2\n##source=dnabench simulate\n");
    for (i, seq) in sim.planter.seqs.iter().enumerate() {
        let _ = writeln!(
            text,
            "##contig=<ID={},length={}>",
            CHROM_NAMES[i],
            seq.len()
        );
    }
    text.push_str("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n");
    let mut seen = std::collections::HashSet::new();
    for v in &sim.variants {
        let id = gtex_id(v);
        if seen.insert(id.clone()) {
            let _ = writeln!(
                text,
                "{}\t{}\t{id}\t{}\t{}\t.\tPASS\t.",
                CHROM_NAMES[v.chrom],
                v.pos + 1,
                v.reference as char,
                v.alt as char
            );
        }
    }
    text
}

fn finemapping(sim: &Simulation) -> String {
    let mut text = String::from("tissue\tgene_id\tvariant_id\tpip\n");
    for v in &sim.variants {
        let _ = writeln!(
            text,
            "{}\t{}\t{}\t{:.5}",
            v.tissue,
            sim.genes[v.gene].id,
            gtex_id(v),
            v.pip
        );
    }
    text
}

fn mpra(sim: &Simulation) -> String {
    let mut text =
        String::from("chromosome\tposition\tref\talt\ttags\tdna\trna\tvalue\tp_value\telement\n");
    for r in &sim.mpra {
        // Tag counts and a p-value that shrinks with the size of the effect.
        let tags = 20 + (r.pos * 7 + r.alt as usize) % 80;
        let p = (-(r.effect.abs() * 6.0)).exp().min(1.0);
        let _ = writeln!(
            text,
            "{}\t{}\t{}\t{}\t{tags}\t1.0\t{:.4}\t{:.4}\t{p:.3e}\t{}",
            bare(r.chrom),
            r.pos + 1,
            r.reference as char,
            r.alt as char,
            r.effect.exp2(),
            r.effect,
            r.element
        );
    }
    text
}

fn readme(sim: &Simulation) -> String {
    let mut text = format!(
        "# dnabench simulate, seed {}\n\nWritten by `dnabench simulate`; see simulate/src/lib.rs for the rules.\n\n## Genome (genome.fa)\n\n",
        sim.seed
    );
    let _ = writeln!(
        text,
        "Background drawn from a {}th-order Markov chain fitted on the bundled real slice ({}).\n",
        super::genome::ORDER,
        super::SOURCE_SLICE
    );
    for (i, seq) in sim.planter.seqs.iter().enumerate() {
        let _ = writeln!(text, "- {}: {} bp", CHROM_NAMES[i], seq.len());
    }
    let active = sim.enhancers.iter().filter(|p| p.active).count();
    let decoys = sim.enhancers.len() - active;
    let _ = writeln!(
        text,
        "\n## Motif grammar\n\n{active} enhancers (a GATA site, then an ETS site on the same strand, {} bp after it; the K562_enhancer track peaks over them) and {decoys} decoys (the same sites in the other order, or 30-60 bp apart; no enhancer peak)",
        super::ENHANCER_GAP
    );
    text.push_str("\n## Motifs planted (JASPAR 2024 clusters)\n\n");
    for (i, (role, _)) in MOTIF_ROLES.iter().enumerate() {
        let m = &sim.motifs[i];
        let n = sim.planter.sites.iter().filter(|s| s.motif == i).count();
        let _ = writeln!(
            text,
            "- {role}: {} ({} bp, consensus {}), {n} instances",
            m.id,
            m.width(),
            m.consensus()
        );
    }
    let causal = sim.variants.iter().filter(|v| v.pip > 0.9).count();
    let _ = write!(
        text,
        "\n## Files\n\n- genes.gtf: {} genes\n- expression.tsv: {} genes x {} samples\n- peaks/: {} tracks ({})\n- methylation/: {} samples x {} CpGs, both strands\n- eqtl.vcf, eqtl_finemapping.tsv: {} variants, {causal} with PIP > 0.9\n- mpra.tsv: {} measurements in {} elements\n",
        sim.genes.len(),
        sim.expression.len(),
        sim.samples.len(),
        sim.tracks.len(),
        sim.tracks
            .iter()
            .map(|t| format!("{} {} peaks", t.name, t.peaks.len()))
            .collect::<Vec<_>>()
            .join(", "),
        sim.methylation_samples.len(),
        sim.cpgs.len(),
        sim.variants.len(),
        sim.mpra.len(),
        sim.mpra
            .iter()
            .map(|r| r.element.as_str())
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    );
    text
}
