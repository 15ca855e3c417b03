//! The six tasks end to end: `dnabench simulate --store`, then
//! `dnabench materialize`, with every label checked against a plain
//! computation over the simulated source files themselves.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::common::{ok, repo};
use dnabench_queries::TASKS;
use serde_json::Value;

/// One simulation and store shared by the tests of this file.
pub(crate) struct Fixture {
    _dir: tempfile::TempDir,
    pub(crate) sources: PathBuf,
    pub(crate) store: PathBuf,
}

pub(crate) fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let sources = dir.path().join("sources");
        let store = dir.path().join("store");
        ok(&[
            "simulate",
            "--out",
            sources.to_str().unwrap(),
            "--seed",
            "7",
            "--store",
            store.to_str().unwrap(),
            "--data",
            repo("data").to_str().unwrap(),
        ]);
        for task in TASKS.iter().map(|t| t.name) {
            ok(&[
                "materialize",
                "--task",
                task,
                "--store",
                store.to_str().unwrap(),
            ]);
        }
        Fixture {
            _dir: dir,
            sources,
            store,
        }
    })
}

/// Rows of a query as JSON objects.
pub(crate) fn rows(store: &Path, sql: &str) -> Vec<serde_json::Map<String, Value>> {
    let out = ok(&[
        "sql",
        "--store",
        store.to_str().unwrap(),
        "--format",
        "ndjson",
        sql,
    ]);
    out.lines()
        .map(|l| match serde_json::from_str(l).unwrap() {
            Value::Object(m) => m,
            other => panic!("not an object: {other}"),
        })
        .collect()
}

/// The rows of a dataset as `dnabench export` writes them: the table's
/// columns and the sequences the training loader cuts from the genome.
pub(crate) fn examples(task: &str) -> Vec<serde_json::Map<String, Value>> {
    exported(task, &[])
}

pub(crate) fn exported(dataset: &str, options: &[&str]) -> Vec<serde_json::Map<String, Value>> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rows.ndjson");
    let mut args = vec![
        "export",
        "--dataset",
        dataset,
        "--format",
        "ndjson",
        "-o",
        file.to_str().unwrap(),
        "--store",
        fixture().store.to_str().unwrap(),
    ];
    args.extend(options);
    ok(&args);
    let mut rows: Vec<serde_json::Map<String, Value>> = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .map(|l| match serde_json::from_str(l).unwrap() {
            Value::Object(m) => m,
            other => panic!("not an object: {other}"),
        })
        .collect();
    rows.sort_by_key(|r| text(r, "example_id"));
    rows
}

pub(crate) fn text(row: &serde_json::Map<String, Value>, key: &str) -> String {
    row[key].as_str().unwrap_or_default().to_string()
}

pub(crate) fn int(row: &serde_json::Map<String, Value>, key: &str) -> i64 {
    row[key].as_i64().unwrap()
}

fn float(row: &serde_json::Map<String, Value>, key: &str) -> f64 {
    row[key].as_f64().unwrap()
}

/// Tab-separated lines of a source file, comments and headers skipped.
fn lines(path: &Path, skip_header: bool) -> Vec<Vec<String>> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .skip(usize::from(skip_header))
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

/// The simulated genome, read plainly from its FASTA.
fn genome() -> &'static HashMap<String, Vec<u8>> {
    static GENOME: OnceLock<HashMap<String, Vec<u8>>> = OnceLock::new();
    GENOME.get_or_init(|| {
        let mut out: HashMap<String, Vec<u8>> = HashMap::new();
        let mut name = String::new();
        for line in std::fs::read_to_string(fixture().sources.join("genome.fa"))
            .unwrap()
            .lines()
        {
            if let Some(h) = line.strip_prefix('>') {
                name = h.split_whitespace().next().unwrap().to_string();
            } else {
                out.entry(name.clone()).or_default().extend(line.bytes());
            }
        }
        out
    })
}

pub(crate) fn window(chrom: &str, start: i64, end: i64, strand: &str) -> String {
    let seq = &genome()[chrom];
    let mut w: Vec<u8> = (start..end)
        .map(|i| {
            if i < 0 || i >= seq.len() as i64 {
                b'N'
            } else {
                seq[i as usize]
            }
        })
        .collect();
    if strand == "-" {
        w.reverse();
        for b in &mut w {
            *b = match *b {
                b'A' => b'T',
                b'C' => b'G',
                b'G' => b'C',
                b'T' => b'A',
                x => x,
            };
        }
    }
    String::from_utf8(w).unwrap()
}

fn splits_of(rows: &[serde_json::Map<String, Value>]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for r in rows {
        *out.entry(text(r, "split")).or_default() += 1;
    }
    out
}

/// Track ids by name, from the store.
fn track_ids() -> HashMap<String, i64> {
    rows(&fixture().store, "SELECT name, track_id FROM tracks")
        .iter()
        .map(|r| (text(r, "name"), int(r, "track_id")))
        .collect()
}

#[test]
fn promoter_positives_are_the_gene_starts_and_negatives_avoid_them() {
    let genes = lines(&fixture().sources.join("genes.gtf"), false);
    let tss: HashMap<String, (String, i64, String)> = genes
        .iter()
        .map(|g| {
            let id = g[8].split('"').nth(1).unwrap().to_string();
            let (start, end) = (
                g[3].parse::<i64>().unwrap() - 1,
                g[4].parse::<i64>().unwrap(),
            );
            let tss = if g[6] == "-" { end - 1 } else { start };
            (id, (g[0].clone(), tss, g[6].clone()))
        })
        .collect();
    let rows = examples("promoter");
    let positives: Vec<_> = rows.iter().filter(|r| float(r, "label") == 1.0).collect();
    let negatives: Vec<_> = rows.iter().filter(|r| float(r, "label") == 0.0).collect();
    assert_eq!(positives.len(), tss.len());
    assert_eq!(negatives.len(), tss.len(), "neg_ratio 1 by default");
    for p in &positives {
        let (chrom, t, strand) = &tss[&text(p, "example_id")];
        // Centred 100 bp upstream, shifted by at most 100 bp.
        let centre = (int(p, "start") + int(p, "end")) / 2;
        let expected = if strand == "-" { t + 101 } else { t - 100 };
        assert!((centre - expected).abs() <= 100, "{p:?}");
        assert_eq!(&text(p, "strand"), strand);
        assert_eq!(int(p, "end") - int(p, "start"), 500);
        assert_eq!(
            text(p, "seq"),
            window(chrom, int(p, "start"), int(p, "end"), strand)
        );
    }
    for n in &negatives {
        let (chrom, s, e) = (text(n, "chrom"), int(n, "start"), int(n, "end"));
        for (c, t, _) in tss.values() {
            assert!(
                !(*c == chrom && s < t + 1000 && t - 1000 < e),
                "{n:?} is near a TSS"
            );
        }
        assert_eq!(text(n, "seq"), window(&chrom, s, e, &text(n, "strand")));
    }
    let splits = splits_of(&rows);
    assert!(splits["train"] > splits["valid"] && splits["valid"] > 0 && splits["test"] > 0);
}

#[test]
fn promoter_variants_are_parameters() {
    let store = fixture().store.to_str().unwrap();
    // PromSet: no shift; the code's 3:1 negatives.
    let out = ok(&[
        "materialize",
        "--task",
        "promoter",
        "--store",
        store,
        "--param",
        "max_shift=0",
        "--param",
        "neg_ratio=3",
        "--with-seq",
        "--format",
        "ndjson",
    ]);
    let rows: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let pos = rows.iter().filter(|r| r["label"] == 1.0).count();
    assert_eq!(rows.len() - pos, 3 * pos);
    // The planted TATA box (consensus TATAAAA) is centred 30 bp upstream of
    // the TSS: in PromSet windows, read on the gene's strand, it starts at
    // offset 350 - 30 - 3 = 317 in every positive (the motif's own
    // variability aside: 6 of its 7 bases match in about 60% of instances)
    // and in few negatives.
    let tata_at_317 = |label: f64| {
        let windows: Vec<&str> = rows
            .iter()
            .filter(|r| r["label"] == label)
            .map(|r| r["seq"].as_str().unwrap())
            .collect();
        let hits = windows
            .iter()
            .filter(|s| {
                let motif = &s.as_bytes()[317..324];
                motif.iter().zip(b"TATAAAA").filter(|(a, b)| a == b).count() >= 6
            })
            .count();
        hits as f64 / windows.len() as f64
    };
    assert!(tata_at_317(1.0) > 0.5, "{}", tata_at_317(1.0));
    assert!(tata_at_317(0.0) < 0.05, "{}", tata_at_317(0.0));
}

#[test]
fn chromatin_labels_equal_a_brute_force_overlap() {
    let ids = track_ids();
    let manifest = lines(&fixture().sources.join("peaks/tracks.tsv"), true);
    // bin -> tracks with a peak covering more than 100 bp of it
    let mut want: BTreeMap<(String, i64), BTreeSet<i64>> = BTreeMap::new();
    for m in &manifest {
        let track = ids[&m[1]];
        for p in lines(&fixture().sources.join("peaks").join(&m[0]), false) {
            let (s, e): (i64, i64) = (p[1].parse().unwrap(), p[2].parse().unwrap());
            let len = genome()[&p[0]].len() as i64;
            let mut bin = s / 200 * 200;
            while bin < e {
                let overlap = e.min(bin + 200) - s.max(bin);
                if overlap > 100 && bin + 200 <= len {
                    want.entry((p[0].clone(), bin)).or_default().insert(track);
                }
                bin += 200;
            }
        }
    }
    let rows = examples("chromatin");
    let got: BTreeMap<(String, i64), BTreeSet<i64>> = rows
        .iter()
        .map(|r| {
            let labels = r["positive_tracks"].as_array().unwrap();
            // The input window is the bin with 400 bp each side.
            assert_eq!(
                text(r, "example_id"),
                format!("{}:{}", text(r, "chrom"), int(r, "start") + 400)
            );
            (
                (text(r, "chrom"), int(r, "start") + 400),
                labels.iter().map(|v| v.as_i64().unwrap()).collect(),
            )
        })
        .collect();
    assert_eq!(got, want);
    for r in rows.iter().take(50) {
        let (c, s, e) = (text(r, "chrom"), int(r, "start"), int(r, "end"));
        assert_eq!(e - s, 1000);
        assert_eq!(text(r, "seq"), window(&c, s, e, "+"));
    }
    assert!(splits_of(&rows).values().all(|&n| n > 0));
}

#[test]
fn a_chromosome_split_holds_out_whole_chromosomes_and_keeps_every_row() {
    let store = fixture().store.to_str().unwrap();
    ok(&[
        "materialize",
        "--task",
        "chromatin",
        "--variant",
        "chrom_split",
        "--param",
        "source=chromatin",
        "--param",
        "valid_chroms=chr12",
        "--param",
        "test_chroms=chr8,chrX",
        "--name",
        "chromatin_held_out",
        "--store",
        store,
    ]);
    let key =
        |r: &serde_json::Map<String, Value>| (text(r, "example_id"), r["positive_tracks"].clone());
    let random = examples("chromatin");
    let held_out = examples("chromatin_held_out");
    // The same examples and labels, split by chromosome alone.
    assert_eq!(
        random.iter().map(key).collect::<Vec<_>>(),
        held_out.iter().map(key).collect::<Vec<_>>()
    );
    for r in &held_out {
        let want = match text(r, "chrom").as_str() {
            "chr8" | "chrX" => "test",
            "chr12" => "valid",
            _ => "train",
        };
        assert_eq!(text(r, "split"), want, "{}", text(r, "example_id"));
    }
    // No training window overlaps a test window, where the random split's do.
    let overlaps = |rows: &[serde_json::Map<String, Value>]| {
        let train: BTreeSet<(String, i64)> = rows
            .iter()
            .filter(|r| text(r, "split") == "train")
            .map(|r| (text(r, "chrom"), int(r, "start")))
            .collect();
        rows.iter()
            .filter(|r| text(r, "split") == "test")
            .filter(|r| {
                let (c, s) = (text(r, "chrom"), int(r, "start"));
                train
                    .range((c.clone(), s - 999)..=(c, s + 999))
                    .next()
                    .is_some()
            })
            .count()
    };
    assert_eq!(overlaps(&held_out), 0);
    assert!(overlaps(&random) > 0);
}

#[test]
fn methylation_targets_equal_merged_strand_fractions() {
    let manifest = lines(&fixture().sources.join("methylation/tracks.tsv"), true);
    let ids = track_ids();
    let mut samples: Vec<(i64, String)> = manifest
        .iter()
        .map(|m| (ids[&m[1]], m[0].clone()))
        .collect();
    samples.sort();
    // (chrom, cpg) -> per sample (coverage, methylated)
    let mut calls: BTreeMap<(String, i64), Vec<(i64, i64)>> = BTreeMap::new();
    for (i, (_, file)) in samples.iter().enumerate() {
        for f in lines(&fixture().sources.join("methylation").join(file), false) {
            let start: i64 = f[1].parse().unwrap();
            let cpg = if f[5] == "-" { start - 1 } else { start };
            let cov: i64 = f[9].parse().unwrap();
            let pct: f64 = f[10].parse().unwrap();
            let entry = calls
                .entry((f[0].clone(), cpg))
                .or_insert_with(|| vec![(0, 0); samples.len()]);
            entry[i].0 += cov;
            entry[i].1 += (cov as f64 * pct / 100.0).round() as i64;
        }
    }
    let want: BTreeMap<(String, i64), Vec<Option<f64>>> = calls
        .into_iter()
        .filter(|(_, v)| v.iter().any(|(c, _)| *c >= 10))
        .map(|(k, v)| {
            let t = v
                .iter()
                .map(|(c, m)| (*c >= 10).then(|| *m as f64 / *c as f64))
                .collect();
            (k, t)
        })
        .collect();
    let rows = examples("methylation");
    assert_eq!(rows.len(), want.len());
    for r in &rows {
        let cpg = int(r, "start") + 250;
        let expected = &want[&(text(r, "chrom"), cpg)];
        let got: Vec<Option<f64>> = r["targets"]
            .as_array()
            .unwrap()
            .iter()
            .map(Value::as_f64)
            .collect();
        assert_eq!(got.len(), expected.len());
        for (g, e) in got.iter().zip(expected) {
            match (g, e) {
                (Some(g), Some(e)) => assert!((g - e).abs() < 1e-6, "{r:?}"),
                (None, None) => {}
                _ => panic!("{r:?} vs {expected:?}"),
            }
        }
        assert_eq!(&text(r, "seq")[250..252], "CG");
        let chrom = text(r, "chrom");
        let split = match chrom.trim_start_matches("chr") {
            "12" | "13" => "valid",
            "10" | "11" | "X" | "Y" => "test",
            _ => "train",
        };
        assert_eq!(text(r, "split"), split);
    }
}

#[test]
fn expression_targets_are_the_matrix_rows_in_track_order() {
    let matrix = lines(&fixture().sources.join("expression.tsv"), false);
    let header = &matrix[0];
    let ids = track_ids();
    let mut order: Vec<(i64, usize)> = (1..header.len()).map(|c| (ids[&header[c]], c)).collect();
    order.sort();
    let rows = examples("expression");
    assert_eq!(rows.len(), matrix.len() - 1);
    let by_gene: HashMap<String, &serde_json::Map<String, Value>> =
        rows.iter().map(|r| (text(r, "example_id"), r)).collect();
    for line in &matrix[1..] {
        let r = by_gene[&line[0]];
        let got: Vec<f64> = r["targets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let want: Vec<f64> = order
            .iter()
            .map(|(_, c)| line[*c].parse::<f64>().unwrap())
            .collect();
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() < 1e-4, "{} {got:?} {want:?}", line[0]);
        }
        assert_eq!(int(r, "end") - int(r, "start"), 40_000);
        let split = match text(r, "chrom").as_str() {
            "chrX" | "chrY" => "valid",
            "chr8" => "test",
            _ => "train",
        };
        assert_eq!(text(r, "split"), split);
    }
}

#[test]
fn causal_snps_follow_the_pip_rules_and_ratio() {
    let table = lines(&fixture().sources.join("eqtl_finemapping.tsv"), true);
    let rows = examples("causal_snp");
    for tissue in ["Whole_Blood", "Liver"] {
        let positives: BTreeSet<String> = table
            .iter()
            .filter(|r| r[0] == tissue && r[3].parse::<f64>().unwrap() > 0.9)
            .map(|r| r[2].trim_end_matches("_b38").to_string())
            .collect();
        let negatives: BTreeSet<String> = table
            .iter()
            .filter(|r| r[0] == tissue && r[3].parse::<f64>().unwrap() < 0.01)
            .map(|r| r[2].trim_end_matches("_b38").to_string())
            .collect();
        let mine: Vec<_> = rows
            .iter()
            .filter(|r| text(r, "context") == tissue)
            .collect();
        let got_pos: BTreeSet<String> = mine
            .iter()
            .filter(|r| float(r, "label") == 1.0)
            .map(|r| text(r, "variant_id"))
            .collect();
        assert_eq!(got_pos, positives);
        let got_neg: Vec<String> = mine
            .iter()
            .filter(|r| float(r, "label") == 0.0)
            .map(|r| text(r, "variant_id"))
            .collect();
        assert_eq!(got_neg.len(), (2 * positives.len()).min(negatives.len()));
        assert!(got_neg.iter().all(|v| negatives.contains(v)));
    }
    let mut split_of: HashMap<String, String> = HashMap::new();
    for r in &rows {
        let (seq, alt_seq) = (text(r, "seq"), text(r, "alt_seq"));
        assert_eq!(seq.len(), 1000);
        assert_eq!(&seq[500..501], text(r, "ref"));
        assert_eq!(&alt_seq[500..501], text(r, "alt"));
        assert_eq!(
            (&seq[..500], &seq[501..]),
            (&alt_seq[..500], &alt_seq[501..])
        );
        // A variant is in one split whatever the tissue.
        let previous = split_of.insert(text(r, "variant_id"), text(r, "split"));
        assert!(previous.is_none_or(|p| p == text(r, "split")));
    }
}

#[test]
fn mpra_rows_are_the_snvs_with_their_effects() {
    let table = lines(&fixture().sources.join("mpra.tsv"), true);
    let rows = examples("mpra");
    assert_eq!(rows.len(), table.len());
    let effects: HashMap<String, f64> = table
        .iter()
        .map(|r| {
            let pos = r[1].parse::<i64>().unwrap() - 1;
            (
                format!("{}:{pos}:{}>{}", r[9], r[2], r[3]),
                r[7].parse().unwrap(),
            )
        })
        .collect();
    let mut split_of: HashMap<(String, i64), String> = HashMap::new();
    for r in &rows {
        assert!((float(r, "label") - effects[&text(r, "example_id")]).abs() < 1e-3);
        let offset = (int(r, "pos") - int(r, "start")) as usize;
        assert_eq!(&text(r, "seq")[offset..offset + 1], text(r, "ref"));
        assert_eq!(&text(r, "alt_seq")[offset..offset + 1], text(r, "alt"));
        let key = (text(r, "context"), int(r, "pos"));
        let previous = split_of.insert(key, text(r, "split"));
        assert!(previous.is_none_or(|p| p == text(r, "split")));
    }
    assert!(splits_of(&rows).values().all(|&n| n > 0));
}
