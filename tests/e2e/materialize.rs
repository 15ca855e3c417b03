//! How `examples` is built and read at scale, end to end on the tasks'
//! shared simulated store: the loader's windows against `seq()`, jitter and
//! strands, `--with-seq`, a killed materialize, spilling under a memory
//! limit; one seed giving one dataset, the query and parameters recorded
//! with it, bad parameters and SQL, and the quickstart's data steps.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use crate::common::{csv, fails, kill_once, ok, repo, revcomp};
use crate::tasks::{examples, exported, fixture, int, rows, text, window};
use dnabench_queries::TASKS;
use serde_json::Value;

#[test]
fn loader_sequences_equal_seq_in_sql_for_every_task() {
    for task in TASKS.iter().map(|t| t.name) {
        let by_sql: HashMap<String, (String, Option<String>)> = rows(
            &fixture().store,
            &format!(
                "SELECT example_id, seq(chrom, start, \"end\", strand) AS s, \
                        mutate(seq(chrom, start, \"end\"), pos - start, alt) AS a \
                 FROM examples WHERE dataset = '{task}'"
            ),
        )
        .iter()
        .map(|r| {
            (
                text(r, "example_id"),
                (
                    text(r, "s"),
                    r.get("a").and_then(Value::as_str).map(str::to_string),
                ),
            )
        })
        .collect();
        let exported = examples(task);
        assert_eq!(exported.len(), by_sql.len(), "{task}");
        let mut strands = BTreeSet::new();
        for r in &exported {
            let (s, a) = &by_sql[&text(r, "example_id")];
            assert_eq!(&text(r, "seq"), s, "{task} {r:?}");
            assert_eq!(
                r.get("alt_seq").and_then(Value::as_str),
                a.as_deref(),
                "{task} {r:?}"
            );
            strands.insert(text(r, "strand"));
        }
        if task == "promoter" || task == "expression" {
            assert_eq!(strands.len(), 2, "{task}: both strands are read");
        }
    }
}

#[test]
fn jitter_moves_windows_within_its_bound_and_keeps_the_variant() {
    const JITTER: i64 = 25;
    let flip = |s: &str| if s == "-" { "+" } else { "-" };
    for task in ["promoter", "chromatin", "causal_snp"] {
        let rows = exported(
            task,
            &["--jitter", "25", "--reverse-complement", "--seed", "3"],
        );
        let (mut moved, mut flipped) = (0, 0);
        for r in rows.iter().take(300) {
            let (c, s, e) = (text(r, "chrom"), int(r, "start"), int(r, "end"));
            let strand = text(r, "strand");
            let got = text(r, "seq");
            let found = (-JITTER..=JITTER).find_map(|d| {
                [strand.as_str(), flip(&strand)]
                    .into_iter()
                    .find(|st| window(&c, s + d, e + d, st) == got)
                    .map(|st| (d, st != strand))
            });
            let (d, turned) = found.unwrap_or_else(|| panic!("{task}: no shift explains {r:?}"));
            moved += usize::from(d != 0);
            flipped += usize::from(turned);
            if let Some(alt_seq) = r.get("alt_seq").and_then(Value::as_str) {
                // The variant is inside the moved window, at its place.
                let offset = (int(r, "pos") - (s + d)) as usize;
                let forward = if turned {
                    revcomp(alt_seq.as_bytes())
                } else {
                    alt_seq.to_string()
                };
                assert_eq!(&forward[offset..offset + 1], text(r, "alt"), "{r:?}");
            }
        }
        let n = rows.len().min(300);
        assert!(moved > n * 3 / 4, "{task}: {moved} of {n} moved");
        assert!(
            flipped > n / 4 && flipped < n * 3 / 4,
            "{task}: {flipped} of {n} flipped"
        );
    }
}

#[test]
fn materialize_with_seq_stores_the_bases_and_by_default_stores_none() {
    let store = fixture().store.to_str().unwrap();
    ok(&[
        "materialize",
        "--task",
        "causal_snp",
        "--name",
        "causal_snp_with_seq",
        "--with-seq",
        "--store",
        store,
    ]);
    let stored = rows(
        &fixture().store,
        "SELECT example_id, seq, alt_seq FROM examples WHERE dataset = 'causal_snp_with_seq'",
    );
    let cut: HashMap<String, (String, String)> = examples("causal_snp")
        .iter()
        .map(|r| (text(r, "example_id"), (text(r, "seq"), text(r, "alt_seq"))))
        .collect();
    assert_eq!(stored.len(), cut.len());
    for r in &stored {
        let (seq, alt_seq) = &cut[&text(r, "example_id")];
        assert_eq!((&text(r, "seq"), &text(r, "alt_seq")), (seq, alt_seq));
    }
    let without = rows(
        &fixture().store,
        "SELECT count(*) AS n FROM examples WHERE dataset = 'causal_snp' AND seq IS NOT NULL",
    );
    assert_eq!(int(&without[0], "n"), 0);
}

#[test]
fn a_killed_materialize_leaves_examples_at_its_previous_version() {
    // A store of its own: the shared fixture takes other tests' commits meanwhile.
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let s = store.to_str().unwrap();
    ok(&[
        "simulate",
        "--out",
        dir.path().join("sources").to_str().unwrap(),
        "--store",
        s,
        "--data",
        repo("data").to_str().unwrap(),
    ]);
    ok(&["materialize", "--task", "promoter", "--store", s]);
    let before = rows(
        &store,
        "SELECT dataset, count(*) AS n FROM examples GROUP BY dataset ORDER BY dataset",
    );
    // Two million windows with their bases (2 GB): seconds of writing.
    let sql = dir.path().join("big.sql");
    std::fs::write(
        &sql,
        "SELECT 'big' AS task, chrom || ':' || CAST(start AS VARCHAR) AS example_id, \
                CASE WHEN start % 10 = 0 THEN 'valid' WHEN start % 10 = 1 THEN 'test' ELSE 'train' END AS split, \
                chrom, start, \"end\", seq(chrom, start, \"end\") AS seq \
         FROM tiles(1000, 1) LIMIT 2000000",
    )
    .unwrap();
    let data = store.join("examples.lance/data");
    let files = || std::fs::read_dir(&data).unwrap().count();
    let files_before = files();
    // Kill it once it has begun writing data files, or after 20 s at most.
    kill_once(
        &[
            "materialize",
            "--task",
            "big",
            "--sql",
            sql.to_str().unwrap(),
            "--store",
            s,
        ],
        "the materialize wrote no data file",
        20,
        || files() > files_before,
    );
    let after = rows(
        &store,
        "SELECT dataset, count(*) AS n FROM examples GROUP BY dataset ORDER BY dataset",
    );
    assert_eq!(after, before);
    // The store takes the next materialize as if nothing had happened.
    ok(&[
        "materialize",
        "--task",
        "promoter",
        "--name",
        "after_kill",
        "--store",
        s,
    ]);
}

#[test]
fn chromatin_under_a_memory_limit_that_forces_spilling_gives_the_same_rows() {
    let store = fixture().store.to_str().unwrap();
    let want = examples("chromatin");
    // The smallest pool that still fits depends on the partitions (cores):
    // try smaller and smaller ones until the query spills.
    let mut spilled = None;
    for limit in ["24MB", "16MB", "12MB", "8MB", "6MB", "4MB", "3MB", "2MB"] {
        let name = format!("chromatin_in_{limit}");
        let out = crate::common::dnabench(&[
            "--memory-limit",
            limit,
            "materialize",
            "--task",
            "chromatin",
            "--name",
            &name,
            "--store",
            store,
        ]);
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        if out.status.success() && stdout.contains("spilled to disk") {
            spilled = Some(name);
            break;
        }
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.contains("give a larger --memory-limit"), "{err}");
        }
    }
    let name = spilled.expect("no memory limit made the chromatin query spill");
    let strip = |rows: Vec<serde_json::Map<String, Value>>| -> Vec<String> {
        rows.into_iter()
            .map(|mut r| {
                r.remove("dataset");
                serde_json::to_string(&r).unwrap()
            })
            .collect()
    };
    assert_eq!(strip(exported(&name, &[])), strip(want));
}

/// A digest of a materialization as NDJSON.
fn digest(store: &Path, args: &[&str]) -> String {
    let out = ok(&[
        &[
            "materialize",
            "--store",
            store.to_str().unwrap(),
            "--format",
            "ndjson",
        ][..],
        args,
    ]
    .concat());
    use md5::{Digest, Md5};
    Md5::digest(out.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn same_seed_same_examples_other_seed_other_negatives() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    ok(&[
        "simulate",
        "--out",
        dir.path().join("src").to_str().unwrap(),
        "--seed",
        "7",
        "--store",
        store.to_str().unwrap(),
        "--data",
        repo("data").to_str().unwrap(),
    ]);
    for task in ["promoter", "chromatin", "causal_snp"] {
        assert_eq!(
            digest(&store, &["--task", task]),
            digest(&fixture().store, &["--task", task]),
            "{task}: a second simulation with the same seed gives other rows"
        );
    }
    // Written rows are the same too: the examples tables hash alike.
    ok(&[
        "materialize",
        "--task",
        "promoter",
        "--store",
        store.to_str().unwrap(),
    ]);
    let table = |s: &Path| {
        ok(&[
            "sql",
            "--store",
            s.to_str().unwrap(),
            "--format",
            "ndjson",
            "SELECT * FROM examples WHERE dataset = 'promoter' ORDER BY example_id",
        ])
    };
    assert_eq!(table(&store), table(&fixture().store));
    assert_ne!(
        digest(&store, &["--task", "promoter"]),
        digest(&store, &["--task", "promoter", "--param", "seed=43"])
    );
}

#[test]
fn materialize_records_the_query_and_refuses_a_second_copy() {
    let store = fixture().store.to_str().unwrap();
    let err = fails(&["materialize", "--task", "mpra", "--store", store]);
    assert!(err.contains("already holds dataset 'mpra'"), "{err}");
    // Each dataset's commit records its query and every parameter's value.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let commits = runtime.block_on(async {
        let store = dnabench_engine::Store::open(&fixture().store).unwrap();
        store.commit_properties("examples").await.unwrap()
    });
    let promoter = commits
        .iter()
        .find(|c| c.get("dnabench.dataset").map(String::as_str) == Some("promoter"))
        .expect("a commit for the promoter dataset");
    assert!(promoter["dnabench.query"].contains("random_windows($max_negatives"));
    let params: BTreeMap<String, String> =
        serde_json::from_str(&promoter["dnabench.params"]).unwrap();
    assert_eq!(params["neg_ratio"], "1");
    assert_eq!(params["max_shift"], "100");
    let out = ok(&["tasks", "--store", store]);
    assert!(out.contains("--param neg_ratio=1"), "{out}");
    assert!(out.contains("materialized: chromatin test:"), "{out}");
}

#[test]
fn a_chromatin_materialization_records_its_heads_tracks_for_training() {
    let store = &fixture().store;
    let name = "chromatin_recorded_tracks";
    ok(&[
        "materialize",
        "--task",
        "chromatin",
        "--name",
        name,
        "--store",
        store.to_str().unwrap(),
    ]);
    // The record the loader reads instead of scanning the labels: the
    // version's file, equal to every positive track of the dataset.
    let hex: String = name.bytes().map(|b| format!("{b:02x}")).collect();
    let records: Vec<_> = std::fs::read_dir(store.join("_cache"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|f| f.starts_with(&format!("tracks-{hex}-v")))
        .collect();
    assert_eq!(records.len(), 1, "{records:?}");
    let version: u64 = records[0]
        .trim_start_matches(&format!("tracks-{hex}-v"))
        .trim_end_matches(".txt")
        .parse()
        .unwrap();
    let recorded = dnabench_engine::dataset_tracks::recorded(
        &dnabench_engine::Store::open(store).unwrap(),
        name,
        version,
    )
    .unwrap();
    let want: Vec<i32> = csv(
        store,
        &format!(
            "SELECT DISTINCT t FROM (SELECT unnest(positive_tracks) AS t FROM examples \
             WHERE dataset = '{name}') ORDER BY t"
        ),
    )
    .iter()
    .map(|t| t.parse().unwrap())
    .collect();
    assert!(want.len() > 3, "{want:?}");
    assert_eq!(recorded, want);
}

#[test]
fn bad_parameters_and_sql_name_the_query_and_the_parameter() {
    let store = fixture().store.to_str().unwrap();
    let err = fails(&[
        "materialize",
        "--task",
        "promoter",
        "--store",
        store,
        "--param",
        "ratio=3",
    ]);
    assert!(
        err.contains("queries/promoter.sql: unknown parameter 'ratio'"),
        "{err}"
    );
    assert!(err.contains("neg_ratio"), "{err}");
    let err = fails(&["materialize", "--task", "nope", "--store", store]);
    assert!(
        err.contains("unknown task 'nope'") && err.contains("causal_snp"),
        "{err}"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mine.sql");
    std::fs::write(&file, "SELECT chrom, start FROM tiles(200) WHERE").unwrap();
    let err = fails(&[
        "materialize",
        "--task",
        "mine",
        "--sql",
        file.to_str().unwrap(),
        "--store",
        store,
    ]);
    assert!(err.contains("mine.sql"), "{err}");
    std::fs::write(&file, "SELECT chrom, start FROM tiles(200)").unwrap();
    let err = fails(&[
        "materialize",
        "--task",
        "mine",
        "--sql",
        file.to_str().unwrap(),
        "--store",
        store,
    ]);
    assert!(
        err.contains("mine.sql: the query returns no column 'example_id'"),
        "{err}"
    );
    // An empty split names the task and the split.
    let err = fails(&[
        "materialize",
        "--task",
        "methylation",
        "--name",
        "methylation_without_valid",
        "--store",
        store,
        "--param",
        "valid_chroms=22",
    ]);
    assert!(
        err.contains("task 'methylation': the valid split is empty"),
        "{err}"
    );
}

#[test]
fn quickstart_simulates_ingests_and_materializes_every_task() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("qs");
    let out = ok(&[
        "quickstart",
        "--store",
        store.to_str().unwrap(),
        "--data",
        repo("data").to_str().unwrap(),
        "--models",
        "none",
    ]);
    // A line per dataset materialized: the six tasks and the backbone's bins.
    let materialized = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.starts_with("materialize "))
            .filter_map(|l| l.split_whitespace().nth(1).map(str::to_string))
            .collect()
    };
    let mut expected: Vec<String> = TASKS.iter().map(|t| t.name.to_string()).collect();
    expected.push("chromatin_bins".into());
    assert_eq!(materialized(&out), expected, "{out}");
    // Every task's test split is large enough to tell models apart.
    for line in out.lines().filter(|l| l.starts_with("materialize ")) {
        let test: usize = line
            .split("test ")
            .nth(1)
            .and_then(|t| t.split(')').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no test count in {line}"));
        assert!(test >= 500, "{line}");
    }
    assert!(dir.path().join("qs-sources/README.md").is_file());
    let tables = || ok(&["tables", "--store", store.to_str().unwrap()]);
    let examples_line = |text: &str| {
        text.lines()
            .find(|l| l.starts_with("examples "))
            .map(str::to_string)
    };
    let first = tables();
    // A second run replaces both folders rather than failing or appending.
    let again = ok(&[
        "quickstart",
        "--store",
        store.to_str().unwrap(),
        "--data",
        repo("data").to_str().unwrap(),
        "--models",
        "none",
    ]);
    assert_eq!(materialized(&again), expected, "{again}");
    assert!(examples_line(&first).is_some(), "{first}");
    assert_eq!(examples_line(&tables()), examples_line(&first));
}
