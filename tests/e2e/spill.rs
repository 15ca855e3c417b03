//! Spilling within bounds: spill files live under the store, a budget stops
//! a query before the disk fills (committing nothing), and what a killed
//! command left is removed by the next one.

use std::path::{Path, PathBuf};

use crate::common::{dnabench, ingest_bundled_genome, kill_once, ok, snapshot};

/// A store with the bundled 1 Mb genome and one small materialized dataset.
fn store_with_examples(dir: &Path) -> PathBuf {
    let store = dir.join("store");
    ingest_bundled_genome(store.to_str().unwrap());
    let small = dir.join("small.sql");
    std::fs::write(&small, windows_sql(1000, 1000, 1, "")).unwrap();
    ok(&materialize_args(&[], "small", &small, &store));
    store
}

/// `materialize` of task `task` from the SQL file `sql` into `store`, after
/// the global options `options`.
fn materialize_args<'a>(
    options: &[&'a str],
    task: &'a str,
    sql: &'a Path,
    store: &'a Path,
) -> Vec<&'a str> {
    let mut args = options.to_vec();
    args.extend([
        "materialize",
        "--task",
        task,
        "--sql",
        sql.to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
    ]);
    args
}

/// Windows of `width` every `step` bp as a task, each `copies` times, in `order`.
fn windows_sql(width: u32, step: u32, copies: u32, order: &str) -> String {
    format!(
        "SELECT 'tiles' AS task, chrom || ':' || CAST(start AS VARCHAR) || ':' || CAST(k AS VARCHAR) AS example_id, \
                CASE WHEN start / {step} % 10 = 0 THEN 'valid' WHEN start / {step} % 10 = 1 THEN 'test' ELSE 'train' END AS split, \
                chrom, start, \"end\" \
         FROM (SELECT chrom, start, \"end\", unnest(range({copies})) AS k FROM tiles({width}, {step})) {order}"
    )
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    snapshot(dir)
        .into_iter()
        .map(|(path, _)| path)
        .filter(|path| !path.is_dir())
        .collect()
}

fn examples_version(store: &Path) -> String {
    let out = ok(&["tables", "--store", store.to_str().unwrap()]);
    out.lines()
        .find(|l| l.split_whitespace().next() == Some("examples"))
        .unwrap_or_else(|| panic!("no examples table:\n{out}"))
        .to_string()
}

#[test]
fn a_query_over_its_spill_budget_fails_clearly_and_commits_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_examples(dir.path());
    let before = examples_version(&store);
    // A million rows sorted in 96 MB: it must spill, and 64 KB is not enough.
    let big = dir.path().join("big.sql");
    std::fs::write(
        &big,
        windows_sql(100, 1, 1, "ORDER BY hash_uniform(start, 7)"),
    )
    .unwrap();
    let out = dnabench(&materialize_args(
        &["--memory-limit", "96MB", "--spill-limit", "64KB"],
        "big",
        &big,
        &store,
    ));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "it should fail:\n{err}");
    assert!(!err.contains("panicked"), "{err}");
    for said in [
        "spilled more than its budget of 64.0 KiB",
        &store.join("_spill").display().to_string(),
        "nothing was committed",
        "--spill-limit",
    ] {
        assert!(err.contains(said), "the error says '{said}':\n{err}");
    }
    assert_eq!(examples_version(&store), before, "examples changed");
    assert!(
        files_under(&store.join("_spill")).is_empty(),
        "spill files left behind: {:?}",
        files_under(&store.join("_spill"))
    );
    // With room to spill, the same query runs, and spills under the store.
    let out = ok(&materialize_args(
        &["--memory-limit", "96MB"],
        "big",
        &big,
        &store,
    ));
    assert!(out.contains("spilled to disk"), "{out}");
    assert!(
        !store.join("_spill").exists(),
        "the spill folder is removed"
    );
}

#[test]
fn after_a_kill_mid_spill_the_next_command_removes_the_leftover_files() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_examples(dir.path());
    let s = store.to_str().unwrap();
    let big = dir.path().join("big.sql");
    // Four million rows sorted in 256 MB: seconds of spilling and merging.
    std::fs::write(
        &big,
        windows_sql(100, 1, 4, "ORDER BY hash_uniform(start * 4 + k, 7)"),
    )
    .unwrap();
    // Kill it once a spill file is on disk, or after 60 s at most.
    let spill = store.join("_spill");
    kill_once(
        &materialize_args(&["--memory-limit", "256MB"], "big", &big, &store),
        "the materialize wrote no spill file",
        60,
        || {
            files_under(&spill).iter().any(|f| {
                f.components()
                    .any(|c| c.as_os_str().to_string_lossy().starts_with("datafusion-"))
            })
        },
    );
    let left = files_under(&spill);
    assert!(
        left.iter()
            .any(|f| f.extension().is_none_or(|e| e != "lock")),
        "a killed command leaves its spill files: {left:?}"
    );
    // The next command to open the store removes them, and says so.
    let out = dnabench(&["tables", "--store", s]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("that an interrupted command left in"), "{err}");
    assert!(files_under(&spill).is_empty(), "{:?}", files_under(&spill));
}
