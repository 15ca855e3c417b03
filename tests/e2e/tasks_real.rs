//! The promoter and chromatin tasks on the real files of `data/`: GENCODE
//! gene starts on the real chr22 slice, and the real chr1 interval sets of
//! bedtools' test data as peak tracks; labels checked against plain
//! computations over the same files; the paper's own promoter windows that
//! fall in the slice, as a dataset.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use crate::common::{fails, ok, repo, revcomp};
use serde_json::Value;

/// A FASTA of one record: `n_before` N, then `bases`.
fn write_fasta(path: &Path, name: &str, n_before: usize, bases: &[u8]) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(out, ">{name}").unwrap();
    let seq: Vec<u8> = std::iter::repeat_n(b'N', n_before)
        .chain(bases.iter().copied())
        .collect();
    for line in seq.chunks(60) {
        out.write_all(line).unwrap();
        out.write_all(b"\n").unwrap();
    }
}

fn slice() -> Vec<u8> {
    std::fs::read_to_string(repo("data/genome/grch37_chr22_20-21M.fa"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('>'))
        .flat_map(|l| l.trim().bytes().map(|b| b.to_ascii_uppercase()))
        .collect()
}

/// A store in `dir` whose genome is chr22 as GRCh37 numbers it (the
/// bundled slice starts at 20,000,000, N before it), and the slice's bases.
fn chr22_store(dir: &Path) -> (Vec<u8>, PathBuf) {
    let slice = slice();
    let fasta = dir.join("chr22.fa");
    write_fasta(&fasta, "chr22", 20_000_000, &slice);
    let store = dir.join("store");
    ok(&[
        "ingest",
        "genome",
        fasta.to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
    ]);
    (slice, store)
}

fn materialized(store: &Path, task: &str, params: &[&str]) -> Vec<serde_json::Map<String, Value>> {
    let mut args = vec![
        "materialize",
        "--task",
        task,
        "--store",
        store.to_str().unwrap(),
        "--with-seq",
        "--format",
        "ndjson",
    ];
    for p in params {
        args.extend(["--param", p]);
    }
    ok(&args)
        .lines()
        .map(|l| match serde_json::from_str(l).unwrap() {
            Value::Object(m) => m,
            other => panic!("{other}"),
        })
        .collect()
}

#[test]
fn promoter_on_gencode_gene_starts_of_the_real_chr22_slice() {
    let dir = tempfile::tempdir().unwrap();
    let (slice, store) = chr22_store(dir.path());
    let s = store.to_str().unwrap();
    let bed = repo("data/annotation/gencode_v28_hg19_protein_coding_genes.bed");
    ok(&[
        "ingest",
        "genes",
        bed.to_str().unwrap(),
        "--on-invalid",
        "skip",
        "--store",
        s,
    ]);
    // Selene's BED: chrom, start, end, ., name; no strand, so the TSS is the start.
    let genome_len = 20_000_000 + slice.len() as i64;
    let starts: HashMap<String, i64> = std::fs::read_to_string(&bed)
        .unwrap()
        .lines()
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .filter(|f| f[0] == "chr22" && f[2].parse::<i64>().unwrap() <= genome_len)
        .map(|f| (f[4].to_string(), f[1].parse().unwrap()))
        .collect();
    let rows = materialized(&store, "promoter", &["max_negatives=2000", "neg_ratio=3"]);
    let positives: Vec<_> = rows.iter().filter(|r| r["label"] == 1.0).collect();
    let ids: BTreeSet<&str> = positives
        .iter()
        .map(|r| r["example_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, starts.keys().map(String::as_str).collect());
    for p in &positives {
        let tss = starts[p["example_id"].as_str().unwrap()];
        let centre = (p["start"].as_i64().unwrap() + p["end"].as_i64().unwrap()) / 2;
        assert!((centre - (tss - 100)).abs() <= 100, "{p:?}");
    }
    let negatives: Vec<_> = rows.iter().filter(|r| r["label"] == 0.0).collect();
    assert_eq!(negatives.len(), 3 * positives.len());
    for n in &negatives {
        let (start, end) = (n["start"].as_i64().unwrap(), n["end"].as_i64().unwrap());
        assert!(starts
            .values()
            .all(|t| !(start < t + 1000 && t - 1000 < end)));
        // Random windows avoid N: they all fall in the real slice.
        let seq = n["seq"].as_str().unwrap();
        assert!(seq.bytes().filter(|&b| b == b'N').count() <= 5, "{seq}");
        if n["strand"] == "+" {
            let at = (start - 20_000_000) as usize;
            assert_eq!(seq.as_bytes(), &slice[at..at + 500]);
        }
    }
}

/// `chrom start end` of a gzip BED file, first 3 columns.
fn read_bed_gz(path: &Path) -> Vec<(String, i64, i64)> {
    let reader = std::io::BufReader::new(flate2::read::MultiGzDecoder::new(
        std::fs::File::open(path).unwrap(),
    ));
    reader
        .lines()
        .map(|l| {
            let l = l.unwrap();
            let f: Vec<&str> = l.split('\t').collect();
            (
                f[0].to_string(),
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
            )
        })
        .collect()
}

#[test]
fn chromatin_on_real_chr1_interval_sets() {
    let dir = tempfile::tempdir().unwrap();
    // The first 3 Mb of chr1 (bases do not matter to the labels).
    const LEN: i64 = 3_000_000;
    let fasta = dir.path().join("chr1.fa");
    write_fasta(&fasta, "chr1", 0, &vec![b'A'; LEN as usize]);
    let store = dir.path().join("store");
    let s = store.to_str().unwrap();
    ok(&["ingest", "genome", fasta.to_str().unwrap(), "--store", s]);
    let files = [
        "refseq.chr1.exons.bed.gz",
        "gerp.chr1.bed.gz",
        "simpleRepeats.chr1.bed.gz",
    ];
    let mut want: BTreeMap<i64, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let path = repo("data/intervals").join(file);
        let name = file.split('.').next().unwrap();
        ok(&[
            "ingest",
            "peaks",
            path.to_str().unwrap(),
            "--name",
            name,
            "--on-invalid",
            "skip",
            "--store",
            s,
        ]);
        for (_, start, end) in read_bed_gz(&path) {
            if end > LEN {
                continue;
            }
            // Every 200 bp bin this interval covers more than half of.
            let mut bin = start / 200 * 200;
            while bin < end {
                if end.min(bin + 200) - start.max(bin) > 100 {
                    want.entry(bin).or_default().insert(name.to_string());
                }
                bin += 200;
            }
        }
    }
    let names: HashMap<i64, String> = ok(&[
        "sql",
        "--store",
        s,
        "--format",
        "csv",
        "SELECT track_id, name FROM tracks",
    ])
    .lines()
    .skip(1)
    .map(|l| {
        let (id, name) = l.split_once(',').unwrap();
        (id.parse().unwrap(), name.to_string())
    })
    .collect();
    let rows = materialized(&store, "chromatin", &[]);
    let got: BTreeMap<i64, BTreeSet<String>> = rows
        .iter()
        .map(|r| {
            let tracks = r["positive_tracks"].as_array().unwrap();
            // The window is the bin with 400 bp of context each side.
            (
                r["start"].as_i64().unwrap() + 400,
                tracks
                    .iter()
                    .map(|t| names[&t.as_i64().unwrap()].clone())
                    .collect(),
            )
        })
        .collect();
    assert!(want.len() > 1000, "{}", want.len());
    assert_eq!(got, want);
    // DeepSEA's 919-style subset: a parameter, not new SQL.
    let subset = materialized(&store, "chromatin", &["tracks=gerp,simpleRepeats"]);
    let with_subset = want
        .values()
        .filter(|t| t.iter().any(|n| n != "refseq"))
        .count();
    assert_eq!(subset.len(), with_subset);
}

/// The paper's own promoter windows that fall in the real chr22 slice, as
/// the `example_files` variant takes them: its rows as they are, no
/// training split, each window's bases cut on its strand.
#[test]
fn the_papers_promoter_sets_as_a_dataset_on_the_real_chr22_slice() {
    let dir = tempfile::tempdir().unwrap();
    let (slice, store) = chr22_store(dir.path());
    let s = store.to_str().unwrap();
    let mut files = BTreeMap::new();
    for set in ["valid", "test"] {
        let text =
            std::fs::read_to_string(repo(&format!("recipes/paper/promoter_{set}.jsonl"))).unwrap();
        let inside: Vec<&str> = text
            .lines()
            .filter(|l| {
                let v: Value = serde_json::from_str(l).unwrap();
                let i = &v["index"];
                i[0] == "chr22"
                    && i[1].as_i64().unwrap() >= 20_000_000
                    && i[2].as_i64().unwrap() <= 20_000_000 + slice.len() as i64
            })
            .collect();
        let path = dir.path().join(format!("promoter_{set}.jsonl"));
        std::fs::write(&path, inside.join("\n") + "\n").unwrap();
        files.insert(set, (path, inside.len()));
    }
    assert_eq!((files["valid"].1, files["test"].1), (9, 6));
    let param = |set: &str| format!("{set}={}", files[set].0.display());
    let (valid, test) = (param("valid"), param("test"));
    // The variant over `test_file`, with `extra` arguments.
    let args = |test_file: &str, extra: &[&'static str]| -> Vec<String> {
        let mut args: Vec<String> = [
            "materialize",
            "--task",
            "promoter",
            "--variant",
            "example_files",
            "--name",
            "promoter_paper",
            "--store",
            s,
            "--param",
            &valid,
            "--param",
            test_file,
        ]
        .iter()
        .map(|a| a.to_string())
        .collect();
        args.extend(extra.iter().map(|a| a.to_string()));
        args
    };
    let printed = args(&test, &["--with-seq", "--format", "ndjson"]);
    let rows = ok(&printed.iter().map(String::as_str).collect::<Vec<_>>());
    let rows: Vec<Value> = rows
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 15);
    for r in &rows {
        assert_eq!(r["dataset"], "promoter_paper");
        assert!(r["split"] == "valid" || r["split"] == "test", "{r}");
        let at = (r["start"].as_i64().unwrap() - 20_000_000) as usize;
        let forward = &slice[at..at + 500];
        let want = if r["strand"] == "-" {
            revcomp(forward).into_bytes()
        } else {
            forward.to_vec()
        };
        assert_eq!(
            r["seq"].as_str().unwrap().as_bytes(),
            want.as_slice(),
            "{r}"
        );
    }

    // A line that is not the layout fails naming the file and the line, and
    // writes nothing.
    let bad = dir.path().join("bad.jsonl");
    let first = std::fs::read_to_string(&files["test"].0).unwrap();
    let first = first.lines().next().unwrap();
    std::fs::write(&bad, format!("{first}\n{{\"index\": [\"chr22\", 5]}}\n")).unwrap();
    let bad_test = format!("test={}", bad.display());
    let err = fails(
        &args(&bad_test, &[])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert!(
        err.contains("bad.jsonl:2: \"index\" is [\"chr22\",5]"),
        "{err}"
    );
    ok(&args(&test, &[])
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>());
    let stored = ok(&[
        "sql",
        "--format",
        "csv",
        "--store",
        s,
        "SELECT split, count(*) AS n FROM examples GROUP BY split ORDER BY split",
    ]);
    assert_eq!(stored.trim(), "split,n\ntest,6\nvalid,9", "{stored}");
}
