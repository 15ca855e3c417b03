//! The methylation task does not depend on the order its samples were
//! ingested in: each sample's targets follow it, whatever track id it got.

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;

use crate::common::ok;
use crate::tasks::{fixture, rows, text};

/// `example_id` → (sample name → target), for the methylation examples of `store`.
fn targets_by_sample(store: &Path) -> HashMap<String, HashMap<String, Option<f64>>> {
    let samples: Vec<String> = rows(
        store,
        "SELECT name FROM tracks WHERE kind = 'methylation' ORDER BY track_id",
    )
    .iter()
    .map(|r| text(r, "name"))
    .collect();
    rows(
        store,
        "SELECT example_id, targets FROM examples WHERE dataset = 'methylation'",
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
        (text(r, "example_id"), by_sample)
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
    let store = dir.path().join("store");
    let s = store.to_str().unwrap();
    ok(&[
        "ingest",
        "genome",
        sources.join("genome.fa").to_str().unwrap(),
        "--store",
        s,
    ]);
    ok(&[
        "ingest",
        "methylation",
        "--manifest",
        reordered.to_str().unwrap(),
        "--store",
        s,
    ]);
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
