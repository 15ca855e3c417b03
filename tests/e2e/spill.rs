//! Spilling within bounds: spill files live under the store, a budget stops
//! a query before the disk fills (committing nothing), and what a killed
//! command left is removed by the next one.

use std::path::{Path, PathBuf};

use crate::common::{dnabench, ok, repo};

/// A store with the bundled 1 Mb genome and one small materialized dataset.
fn store_with_examples(dir: &Path) -> PathBuf {
    let store = dir.join("store");
    let s = store.to_str().unwrap();
    ok(&[
        "ingest",
        "genome",
        repo("data/genome/grch37_chr22_20-21M.fa").to_str().unwrap(),
        "--store",
        s,
    ]);
    let small = dir.join("small.sql");
    std::fs::write(&small, windows_sql(1000, 1000, 1, "")).unwrap();
    ok(&[
        "materialize",
        "--task",
        "small",
        "--sql",
        small.to_str().unwrap(),
        "--store",
        s,
    ]);
    store
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
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path());
            }
        }
    }
    out
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
    let s = store.to_str().unwrap();
    let before = examples_version(&store);
    // A million rows sorted in 96 MB: it must spill, and 64 KB is not enough.
    let big = dir.path().join("big.sql");
    std::fs::write(
        &big,
        windows_sql(100, 1, 1, "ORDER BY hash_uniform(start, 7)"),
    )
    .unwrap();
    let out = dnabench(&[
        "--memory-limit",
        "96MB",
        "--spill-limit",
        "64KB",
        "materialize",
        "--task",
        "big",
        "--sql",
        big.to_str().unwrap(),
        "--store",
        s,
    ]);
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
    let out = ok(&[
        "--memory-limit",
        "96MB",
        "materialize",
        "--task",
        "big",
        "--sql",
        big.to_str().unwrap(),
        "--store",
        s,
    ]);
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
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_dnabench"))
        .args([
            "--memory-limit",
            "256MB",
            "materialize",
            "--task",
            "big",
            "--sql",
            big.to_str().unwrap(),
            "--store",
            s,
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once a spill file is on disk, or after 60 s at most.
    let spill = store.join("_spill");
    let spilled = || {
        files_under(&spill).iter().any(|f| {
            f.components()
                .any(|c| c.as_os_str().to_string_lossy().starts_with("datafusion-"))
        })
    };
    let started = std::time::Instant::now();
    while !spilled() && started.elapsed().as_secs() < 60 {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(spilled(), "the materialize wrote no spill file in 60 s");
    assert!(
        child.try_wait().unwrap().is_none(),
        "it finished before it was killed"
    );
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
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
