//! Helpers of the end-to-end tests: run the built binary, read CSV results.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

pub fn dnabench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dnabench"))
        .args(args)
        .env_remove("DNABENCH_STORE")
        .output()
        .expect("the dnabench binary runs")
}

/// Runs dnabench, expecting success; its standard output.
pub fn ok(args: &[&str]) -> String {
    let out = dnabench(args);
    assert!(
        out.status.success(),
        "dnabench {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
