//! `dnabench fetch` then `dnabench build` on a paper-shaped mirror made from
//! the simulated benchmark, served on 127.0.0.1: ENCODE peaks and RRBS
//! replicates with their JSON, an EPD-like TSS BED and a DAP-G table on an
//! "hg38" that a generated chain moves 1,000 bp from the genome, ExPecto's
//! matrix and GTEx's table inside archives. The build pools the replicates,
//! lifts the hg38 rows back, unpacks the archives and materializes the
//! recipe's datasets; a contig the genome lacks is named before anything is
//! written; a second build does nothing again.

use std::path::Path;

use crate::common::{fails, ok, repo};
use crate::mirror::{gzip, md5_hex, Fault, Mirror};
use crate::tasks::{int, rows, text};

/// What the "hg38" coordinates add to the genome's.
const SHIFT: i64 = 1000;

/// A tar holding `files` (name in the archive, bytes).
fn tar(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, body) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(body.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, name, body.as_slice())
            .unwrap();
    }
    builder.into_inner().unwrap()
}

/// An ENCODE file and its JSON.
fn serve_encode(mirror: &Mirror, accession: &str, body: Vec<u8>, assay: &str, target: &str) {
    let json = format!(
        r#"{{"accession":"{accession}","md5sum":"{}","file_size":{},"assembly":"hg19","assay_term_name":"{assay}","target":{{"label":"{target}"}},"biosample_ontology":{{"term_name":"K562"}}}}"#,
        md5_hex(&body),
        body.len()
    );
    mirror.put(
        &format!("/files/{accession}/"),
        json.into_bytes(),
        Fault::None,
    );
    mirror.put(
        &format!("/files/{accession}/@@download/{accession}.bed.gz"),
        body,
        Fault::None,
    );
}

/// The chain from "hg38" (every chromosome `SHIFT` bp longer at its start)
/// to the genome: one ungapped block per chromosome.
fn chain(genome: &str) -> Vec<u8> {
    let mut out = String::new();
    let mut lengths: Vec<(String, i64)> = Vec::new();
    for line in genome.lines() {
        match line.strip_prefix('>') {
            Some(name) => lengths.push((name.split_whitespace().next().unwrap().into(), 0)),
            None => lengths.last_mut().unwrap().1 += line.trim().len() as i64,
        }
    }
    for (id, (name, len)) in lengths.iter().enumerate() {
        out.push_str(&format!(
            "chain 1000 {name} {} + {SHIFT} {} {name} {len} + 0 {len} {}\n{len}\n\n",
            len + SHIFT,
            len + SHIFT,
            id + 1
        ));
    }
    gzip(out.as_bytes())
}

/// The simulated genes as EPD's TSS BED on "hg38".
fn tss_bed(gtf: &str) -> Vec<u8> {
    let mut out = String::new();
    for line in gtf.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&str> = line.split('\t').collect();
        let (start, end): (i64, i64) = (f[3].parse().unwrap(), f[4].parse().unwrap());
        let tss = if f[6] == "-" { end - 1 } else { start - 1 };
        let id = f[8].split('"').nth(1).unwrap();
        out.push_str(&format!(
            "{}\t{}\t{}\tEPD_{id}\t900\t{}\n",
            f[0],
            tss + SHIFT,
            tss + SHIFT + 1,
            f[6]
        ));
    }
    out.into_bytes()
}

/// The simulated DAP-G table with its variant ids moved to "hg38".
fn dapg_hg38(table: &str) -> Vec<u8> {
    let mut out = String::new();
    for (i, line) in table.lines().enumerate() {
        if i == 0 {
            out.push_str(line);
        } else {
            let mut f: Vec<String> = line.split('\t').map(str::to_string).collect();
            let id: Vec<&str> = f[2].split('_').collect();
            let pos: i64 = id[1].parse().unwrap();
            f[2] = format!("{}_{}_{}_{}_b38", id[0], pos + SHIFT, id[2], id[3]);
            out.push_str(&f.join("\t"));
        }
        out.push('\n');
    }
    gzip(out.as_bytes())
}

/// ExPecto's gene table for the simulated genes.
fn annotation(gtf: &str) -> String {
    let mut out = "id,symbol,chrom,strand,TSS\n".to_string();
    for line in gtf.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&str> = line.split('\t').collect();
        let tss = if f[6] == "-" { f[4] } else { f[3] };
        let id = f[8].split('"').nth(1).unwrap();
        out.push_str(&format!("{id},{id},{},{},{tss}\n", f[0], f[6]));
    }
    out
}

const RECIPE: &str = r#"[recipe]
name = "mini"
assembly = "hg19"
tasks = ["methylation", "chromatin", "expression", "causal_snp"]

[[source]]
name = "hg19"
ingest = "genome"
format = "fasta"
assembly = "hg19"
url = "https://hgdownload.soe.ucsc.edu/goldenPath/hg19/bigZips/hg19.fa.gz"

[[source]]
name = "hg38ToHg19"
ingest = "chain"
format = "chain"
assembly = "hg38"
url = "https://hgdownload.soe.ucsc.edu/goldenPath/hg38/liftOver/hg38ToHg19.over.chain.gz"

[[source]]
name = "chromatin"
ingest = "peaks"
format = "narrowpeak"
assembly = "hg19"
list = "peaks.txt"
url = "https://www.encodeproject.org/files/{accession}/@@download/{accession}.bed.gz"
metadata = { kind = "encode", url = "https://www.encodeproject.org/files/{accession}/?format=json" }
expect = 11

[[source]]
name = "methylation"
ingest = "methylation"
format = "bedmethyl"
assembly = "hg19"
list = "methyl.tsv"
columns = ["accession", "code"]
sample = { column = "code", drop_last = 1 }
url = "https://www.encodeproject.org/files/{accession}/@@download/{accession}.bed.gz"
metadata = { kind = "encode", url = "https://www.encodeproject.org/files/{accession}/?format=json" }
expect = 4

[[source]]
name = "promoters"
ingest = "genes"
format = "bed"
assembly = "hg38"
liftover = "hg38ToHg19"
feature = "tss"
url = "https://epd.expasy.org/ftp/epdnew/H_sapiens/006/Hs_EPDnew_006_hg38.bed"
expect = 2933

[[source]]
name = "expression"
ingest = "expression"
format = "expecto"
assembly = "hg19"
unpack = ["geneanno.exp.csv"]
genes = "geneanno.csv"
url = "https://deepsea.princeton.edu/media/code/expecto/resources_20190807.tar.gz"
expect = 6

[[source]]
name = "causal_snp"
ingest = "eqtl"
format = "dapg"
assembly = "hg38"
liftover = "hg38ToHg19"
unpack = ["GTEx_v8_finemapping_DAPG.txt.gz"]
url = "https://storage.googleapis.com/gtex_analysis_v8/single_tissue_qtl_data/GTEx_v8_finemapping_DAPG.tar"
alternates = ["https://storage.googleapis.com/adult-gtex/bulk-qtl/v8/fine-mapping-cis-eqtl/GTEx_v8_finemapping_DAPG.tar"]
expect = 3

[[dataset]]
name = "promoter"
task = "promoter"
params = { feature = "tss" }

[[dataset]]
name = "methylation_few"
task = "methylation"
variant = "train_subset"
params = { source = "methylation", train_fraction = 0.3 }

[[dataset]]
name = "promoter_paper"
task = "promoter"
variant = "example_files"
files = { valid = "paper/promoter_valid.jsonl", test = "paper/promoter_test.jsonl" }
"#;

#[test]
fn fetch_then_build_makes_the_datasets_pooled_lifted_and_unpacked() {
    let dir = tempfile::tempdir().unwrap();
    let sim = dir.path().join("sim");
    ok(&[
        "simulate",
        "--out",
        sim.to_str().unwrap(),
        "--seed",
        "7",
        "--data",
        repo("data").to_str().unwrap(),
    ]);
    let read = |name: &str| std::fs::read_to_string(sim.join(name)).unwrap();
    let mirror = Mirror::start();
    let genome = read("genome.fa");
    mirror.put(
        "/goldenPath/hg19/bigZips/hg19.fa.gz",
        gzip(genome.as_bytes()),
        Fault::None,
    );
    mirror.put(
        "/goldenPath/hg38/liftOver/hg38ToHg19.over.chain.gz",
        chain(&genome),
        Fault::None,
    );
    // The 11 peak files, as ENCODE serves them.
    let mut accessions = Vec::new();
    let manifest = read("peaks/tracks.tsv");
    for (i, line) in manifest.lines().skip(1).enumerate() {
        let f: Vec<&str> = line.split('\t').collect();
        let accession = format!("ENCFF{:03}PKS", i);
        let body = gzip(read(&format!("peaks/{}", f[0])).as_bytes());
        serve_encode(&mirror, &accession, body, "ChIP-seq", f[1]);
        accessions.push(accession);
    }
    // Each of the 4 methylation samples as two replicates: the file itself
    // and the file again (a comment line makes its checksum its own).
    let mut methyl = Vec::new();
    for s in 1..=4 {
        let text = read(&format!("methylation/sample_{s}.bed"));
        for r in 0..2 {
            let accession = format!("ENCFF{s}{r}0MTH");
            // One replicate has a call on a contig the genome lacks.
            let extra = if (s, r) == (2, 1) {
                "chrUn_gl000220\t5\t6\t.\t0\t+\t5\t6\t0,0,0\t10\t50\n"
            } else {
                ""
            };
            let body = gzip(format!("# replicate {r}\n{text}{extra}").as_bytes());
            serve_encode(&mirror, &accession, body, "RRBS", "");
            methyl.push(format!("{accession}\t{}{r}", s - 1));
        }
    }
    let gtf = read("genes.gtf");
    mirror.put(
        "/ftp/epdnew/H_sapiens/006/Hs_EPDnew_006_hg38.bed",
        tss_bed(&gtf),
        Fault::None,
    );
    let expression = read("expression.tsv").replace('\t', ",");
    mirror.put(
        "/media/code/expecto/resources_20190807.tar.gz",
        gzip(&tar(&[
            ("resources/README", b"ExPecto".to_vec()),
            ("resources/geneanno.exp.csv", expression.into_bytes()),
        ])),
        Fault::None,
    );
    mirror.put(
        // Only where GTEx moved it: the recipe's url gives a 404, its
        // alternate the file.
        "/adult-gtex/bulk-qtl/v8/fine-mapping-cis-eqtl/GTEx_v8_finemapping_DAPG.tar",
        tar(&[(
            "GTEx_v8_finemapping_DAPG/GTEx_v8_finemapping_DAPG.txt.gz",
            dapg_hg38(&read("eqtl_finemapping.tsv")),
        )]),
        Fault::None,
    );

    let recipe_dir = dir.path().join("recipe");
    std::fs::create_dir_all(&recipe_dir).unwrap();
    std::fs::write(recipe_dir.join("peaks.txt"), accessions.join("\n") + "\n").unwrap();
    std::fs::write(recipe_dir.join("methyl.tsv"), methyl.join("\n") + "\n").unwrap();
    std::fs::write(recipe_dir.join("geneanno.csv"), annotation(&gtf)).unwrap();
    // The paper's own promoter sets, their first rows, beside the recipe.
    std::fs::create_dir_all(recipe_dir.join("paper")).unwrap();
    for (set, rows) in [("valid", 30), ("test", 20)] {
        let name = format!("promoter_{set}.jsonl");
        let paper = std::fs::read_to_string(repo(&format!("recipes/paper/{name}"))).unwrap();
        let head: Vec<&str> = paper.lines().take(rows).collect();
        std::fs::write(recipe_dir.join("paper").join(name), head.join("\n") + "\n").unwrap();
    }
    let recipe = recipe_dir.join("mini.toml");
    std::fs::write(&recipe, RECIPE).unwrap();
    let (recipe, sources) = (recipe.to_str().unwrap(), dir.path().join("sources"));
    let store = dir.path().join("store");
    let (s, out) = (store.to_str().unwrap(), sources.to_str().unwrap());

    // Build refuses before the files are fetched, and says how to get them.
    let err = fails(&["build", recipe, "--sources", out, "--store", s]);
    assert!(
        err.contains("are not in") && err.contains("dnabench fetch"),
        "{err}"
    );
    ok(&[
        "fetch",
        recipe,
        "--out",
        out,
        "--mirror",
        &mirror.base,
        "--mirrors-only",
    ]);
    // Every source's chromosome names are checked before anything is
    // written: the contig is named with its file, and the store stays empty.
    let err = fails(&["build", recipe, "--sources", out, "--store", s]);
    assert!(
        err.contains("1 chromosome name of the sources matches no chromosome of the genome")
            && err.contains("chrUn_gl000220 (")
            && err.contains("ENCFF210MTH.bed.gz)")
            && err.contains("--on-invalid skip"),
        "{err}"
    );
    assert!(!store.join("genome.lance").exists());
    let built = ok(&[
        "build",
        recipe,
        "--sources",
        out,
        "--on-invalid",
        "skip",
        "--store",
        s,
    ]);
    assert!(
        built.contains("warning: chromosome chrUn_gl000220 ("),
        "{built}"
    );
    for want in [
        "source chromatin: 11 tracks, as the recipe expects",
        "source methylation: 4 tracks, as the recipe expects",
        "source promoters: 2933 genes, as the recipe expects",
        "source expression: 6 tracks, as the recipe expects",
        "dataset methylation_few:",
        "dataset promoter:",
    ] {
        assert!(built.contains(want), "{want}\n{built}");
    }
    assert!(
        built.contains("warning: source causal_snp:") && built.contains("the recipe expects 3"),
        "{built}"
    );

    // Replicates pooled: one track a sample, twice each sample's reads, the
    // same fractions as the simulated samples.
    let tracks = rows(
        &store,
        "SELECT name, format FROM tracks WHERE kind = 'methylation' ORDER BY name",
    );
    let names: Vec<String> = tracks.iter().map(|r| text(r, "name")).collect();
    assert_eq!(
        names,
        [
            "methylation_0",
            "methylation_1",
            "methylation_2",
            "methylation_3"
        ]
    );
    assert!(text(&tracks[0], "format").contains("pooled"));
    let sums = |store: &Path| {
        let r = &rows(
            store,
            "SELECT count(*) AS n, sum(coverage) AS c, sum(methylated) AS m FROM methylation",
        )[0];
        (int(r, "n"), int(r, "c"), int(r, "m"))
    };
    let (n, c, m) = sums(&crate::tasks::fixture().store);
    assert_eq!(sums(&store), (n, 2 * c, 2 * m));

    // The hg38 TSSs and variants lifted back onto the genome.
    let lifted = rows(
        &store,
        "SELECT count(*) AS n FROM genes t JOIN genes g ON t.gene_id = 'EPD_' || g.gene_id \
         WHERE t.feature = 'tss' AND g.feature = 'gene' AND t.tss = g.tss AND t.strand = g.strand",
    );
    assert_eq!(int(&lifted[0], "n"), 2933);
    let eqtl = |store: &Path| -> Vec<String> {
        rows(
            store,
            "SELECT tissue, gene_id, variant_id FROM eqtl ORDER BY 1, 2, 3",
        )
        .iter()
        .map(|r| {
            format!(
                "{} {} {}",
                text(r, "tissue"),
                text(r, "gene_id"),
                text(r, "variant_id")
            )
        })
        .collect()
    };
    let lifted_eqtl = eqtl(&store);
    assert!(!lifted_eqtl.is_empty());
    assert_eq!(lifted_eqtl, eqtl(&crate::tasks::fixture().store));

    // Every dataset of the recipe, and a second build keeps them all.
    let datasets: Vec<String> = rows(
        &store,
        "SELECT DISTINCT dataset FROM examples ORDER BY dataset",
    )
    .iter()
    .map(|r| text(r, "dataset"))
    .collect();
    assert_eq!(
        datasets,
        [
            "causal_snp",
            "chromatin",
            "expression",
            "methylation",
            "methylation_few",
            "promoter",
            "promoter_paper"
        ]
    );
    // The paper's fixed sets as they are: no training split.
    let paper = rows(
        &store,
        "SELECT split, count(*) AS n, CAST(sum(label) AS BIGINT) AS positives, min(example_id) AS first \
         FROM examples WHERE dataset = 'promoter_paper' GROUP BY split ORDER BY split",
    );
    let got: Vec<(String, i64, i64, String)> = paper
        .iter()
        .map(|r| {
            (
                text(r, "split"),
                int(r, "n"),
                int(r, "positives"),
                text(r, "first"),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("test".into(), 20, 5, "promoter_test:1".into()),
            ("valid".into(), 30, 7, "promoter_valid:1".into())
        ]
    );
    let again = ok(&["build", recipe, "--sources", out, "--store", s]);
    assert!(
        again.contains("source chromatin: ingested by an earlier build"),
        "{again}"
    );
    assert!(
        again.contains("dataset promoter: materialized by an earlier build"),
        "{again}"
    );
}
