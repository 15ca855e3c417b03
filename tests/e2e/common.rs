//! Helpers of the end-to-end tests: run the built binary, read CSV results.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

pub fn dnabench(args: &[&str]) -> Output {
    dnabench_with(&[], args)
}

/// dnabench with `env` set for it.
pub fn dnabench_with(env: &[(&str, &Path)], args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dnabench"))
        .args(args)
        .env_remove("DNABENCH_STORE")
        .envs(env.iter().copied())
        .output()
        .expect("the dnabench binary runs")
}

/// Runs dnabench, expecting success; its standard output.
pub fn ok(args: &[&str]) -> String {
    ok_with(&[], args)
}

/// [`ok`] with `env` set for it.
pub fn ok_with(env: &[(&str, &Path)], args: &[&str]) -> String {
    let out = dnabench_with(env, args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "dnabench {args:?} failed:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    String::from_utf8(out.stdout).unwrap()
}

/// Runs dnabench, expecting a clean failure (no panic); its standard error.
pub fn fails(args: &[&str]) -> String {
    let out = dnabench(args);
    assert!(!out.status.success(), "dnabench {args:?} should fail");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(!err.contains("panicked"), "{err}");
    err
}

/// The rows of a query as CSV lines, header dropped.
pub fn csv(store: &Path, sql: &str) -> Vec<String> {
    let out = ok(&[
        "sql",
        "--store",
        store.to_str().unwrap(),
        "--format",
        "csv",
        sql,
    ]);
    out.lines().skip(1).map(str::to_string).collect()
}

/// Ingests the bundled 1 Mb slice of chr22 as the genome of `store`.
pub fn ingest_bundled_genome(store: &str) {
    ok(&[
        "ingest",
        "genome",
        repo("data/genome/grch37_chr22_20-21M.fa").to_str().unwrap(),
        "--store",
        store,
    ]);
}

/// Starts dnabench with `args` and kills it (SIGKILL) once `begun` holds,
/// within `limit_s` seconds; fails when it never does, or when the command
/// ended first.
pub fn kill_once(args: &[&str], what: &str, limit_s: u64, begun: impl Fn() -> bool) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dnabench"))
        .args(args)
        .env_remove("DNABENCH_STORE")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the dnabench binary runs");
    let started = std::time::Instant::now();
    while !begun() && started.elapsed().as_secs() < limit_s {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(begun(), "{what} in {limit_s} s");
    assert!(
        child.try_wait().unwrap().is_none(),
        "it finished before it was killed"
    );
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
}

/// Every file under a store with its size: what a failed command must not change.
pub fn snapshot(store: &Path) -> Vec<(PathBuf, u64)> {
    let mut files = Vec::new();
    let mut stack = vec![store.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries {
            let p = e.unwrap().path();
            // Derived copies a read may keep (the packed genome), not data.
            if p.file_name().is_some_and(|n| n == "_cache") {
                continue;
            }
            if p.is_dir() {
                stack.push(p.clone());
            }
            let len = p.metadata().map(|m| m.len()).unwrap_or(0);
            files.push((p, len));
        }
    }
    files.sort();
    files
}

/// The reverse complement of ACGTN bases, as the tests compute it by hand.
pub fn revcomp(s: &[u8]) -> String {
    s.iter()
        .rev()
        .map(|b| match b {
            b'A' => 'T',
            b'C' => 'G',
            b'G' => 'C',
            b'T' => 'A',
            _ => 'N',
        })
        .collect()
}

/// A store of the mini benchmark's data steps (`quickstart --models
/// none`) at `dest`: built once per test run, then copied for each test, so
/// tests that write to it never share one.
pub fn quickstart_store(dest: &Path) -> PathBuf {
    static TEMPLATE: std::sync::OnceLock<(tempfile::TempDir, PathBuf)> = std::sync::OnceLock::new();
    let (_, template) = TEMPLATE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("store");
        ok(&[
            "quickstart",
            "--store",
            store.to_str().unwrap(),
            "--models",
            "none",
        ]);
        (dir, store)
    });
    copy_folder(template, dest);
    dest.to_path_buf()
}

/// A copy of the [`quickstart_store`] in a temporary folder of its own,
/// removed with it: a test module's fixture store.
pub struct QuickstartCopy {
    _dir: tempfile::TempDir,
    pub store: PathBuf,
}

impl QuickstartCopy {
    pub fn new() -> QuickstartCopy {
        let dir = tempfile::tempdir().unwrap();
        let store = quickstart_store(&dir.path().join("store"));
        QuickstartCopy { _dir: dir, store }
    }
}

fn copy_folder(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_folder(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
