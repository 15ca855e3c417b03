//! The methylation task does not depend on the order its samples were
//! ingested in: each sample's targets follow it, whatever track id it got.
//! Its few-shot variant, sampled from the materialized rows, is the task's
//! own query at the same fraction.

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;

use crate::common::{fails, ok};
use crate::tasks::{fixture, rows, text};

/// A store of the fixture's genome and the methylation samples of `manifest`.
fn methylation_store(dir: &Path, manifest: &Path) -> std::path::PathBuf {
    let store = dir.join("store");
    let s = store.to_str().unwrap();
    let genome = fixture().sources.join("genome.fa");
    ok(&["ingest", "genome", genome.to_str().unwrap(), "--store", s]);
    ok(&[
        "ingest",
        "methylation",
        "--manifest",
        manifest.to_str().unwrap(),
        "--store",
        s,
    ]);
    store
}

/// `example_id` → (sample name → target), for the methylation examples of `store`.
fn targets_by_sample(store: &Path) -> HashMap<String, HashMap<String, Option<f64>>> {
    dataset_targets(store, "methylation")
}

/// [`targets_by_sample`] of any dataset, with each example's split.
fn dataset_targets(store: &Path, dataset: &str) -> HashMap<String, HashMap<String, Option<f64>>> {
    let samples: Vec<String> = rows(
        store,
        "SELECT name FROM tracks WHERE kind = 'methylation' ORDER BY track_id",
    )
    .iter()
    .map(|r| text(r, "name"))
    .collect();
    rows(
        store,
        &format!("SELECT example_id, split, targets FROM examples WHERE dataset = '{dataset}'"),
    )
    .iter()
    .map(|r| {
        let targets = r["targets"].as_array().unwrap();
        assert_eq!(targets.len(), samples.len(), "{r:?}");
        let by_sample = samples
            .iter()
            .cloned()
            .zip(targets.iter().map(Value::as_f64))
            .collect();
        (
            format!("{} {}", text(r, "split"), text(r, "example_id")),
            by_sample,
        )
    })
    .collect()
}

#[test]
fn samples_ingested_in_any_order_give_the_same_targets() {
    let sources = &fixture().sources;
    let manifest = std::fs::read_to_string(sources.join("methylation/tracks.tsv")).unwrap();
    let mut lines: Vec<&str> = manifest.lines().collect();
    let header = lines.remove(0);
    // The last sample first, then the rest in their order: every track id moves.
    lines.rotate_right(1);
    let dir = tempfile::tempdir().unwrap();
    let reordered = sources.join("methylation/reordered.tsv");
    std::fs::write(&reordered, format!("{header}\n{}\n", lines.join("\n"))).unwrap();
    let store = methylation_store(dir.path(), &reordered);
    let s = store.to_str().unwrap();
    std::fs::remove_file(&reordered).unwrap();
    ok(&["materialize", "--task", "methylation", "--store", s]);
    let want = targets_by_sample(&fixture().store);
    let got = targets_by_sample(&store);
    assert!(!want.is_empty());
    assert_eq!(got, want);
    // The reordering did move the samples.
    let first = |store: &Path| {
        text(
            &rows(
                store,
                "SELECT name FROM tracks WHERE kind = 'methylation' ORDER BY track_id LIMIT 1",
            )[0],
            "name",
        )
    };
    assert_ne!(first(&store), first(&fixture().store));
}

#[test]
fn the_few_shot_subset_of_the_materialized_rows_is_the_query_at_that_fraction() {
    let dir = tempfile::tempdir().unwrap();
    let store = methylation_store(
        dir.path(),
        &fixture().sources.join("methylation/tracks.tsv"),
    );
    let s = store.to_str().unwrap();
    ok(&["materialize", "--task", "methylation", "--store", s]);
    let fraction = "train_fraction=0.3";
    ok(&[
        "materialize",
        "--task",
        "methylation",
        "--param",
        fraction,
        "--name",
        "direct",
        "--store",
        s,
    ]);
    let subset = |name: &str, task: &str| {
        vec![
            "materialize".to_string(),
            "--task".into(),
            task.into(),
            "--variant".into(),
            "train_subset".into(),
            "--param".into(),
            "source=methylation".into(),
            "--param".into(),
            fraction.into(),
            "--name".into(),
            name.into(),
            "--store".into(),
            s.into(),
        ]
    };
    let args = subset("few", "methylation");
    ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let (full, direct, few) = (
        dataset_targets(&store, "methylation"),
        dataset_targets(&store, "direct"),
        dataset_targets(&store, "few"),
    );
    assert_eq!(few, direct);
    let train = |d: &HashMap<String, _>| d.keys().filter(|k| k.starts_with("train ")).count();
    assert!(
        train(&few) > 0 && train(&few) * 2 < train(&full),
        "{} of {}",
        train(&few),
        train(&full)
    );
    let held_out = |d: &HashMap<String, HashMap<String, Option<f64>>>| {
        d.iter()
            .filter(|(k, _)| !k.starts_with("train "))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<HashMap<_, _>>()
    };
    assert_eq!(held_out(&few), held_out(&full));
    // The rows of a methylation dataset cannot become a promoter dataset.
    let args = subset("wrong", "promoter");
    let err = fails(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        err.contains("queries/variants/train_subset.sql")
            && err.contains("is of task 'methylation', not 'promoter'"),
        "{err}"
    );
    let err = fails(&[
        "materialize",
        "--task",
        "methylation",
        "--variant",
        "nope",
        "--store",
        s,
    ]);
    assert!(
        err.contains("unknown variant 'nope'") && err.contains("train_subset"),
        "{err}"
    );
}
