//! The interval join on real interval files: the same rows as bedtools.

use crate::common::{ok, repo};
use md5::{Digest, Md5};

#[test]
fn overlap_join_equals_bedtools_intersect_on_real_chr1_sets() {
    let fixture = std::fs::read_to_string(repo("tests/fixtures/intersect.bedtools.md5")).unwrap();
    let line = fixture.lines().find(|l| !l.starts_with('#')).unwrap();
    let (want_md5, want_rows) = line.split_once(' ').unwrap();
    let query = repo("tests/fixtures/intersect.sql");
    let a = repo("data/intervals/gerp.chr1.bed.gz");
    let b = repo("data/intervals/refseq.chr1.exons.bed.gz");
    let (a, b) = (format!("a={}", a.display()), format!("b={}", b.display()));
    let args = [
        "sql",
        "--store",
        "no-such-store",
        "-f",
        query.to_str().unwrap(),
    ];
    let out = ok(&[
        &args[..],
        &["--param", &a, "--param", &b, "--format", "csv"],
    ]
    .concat());
    // bedtools writes tab-separated lines: the same fields, in the same order.
    let mut lines: Vec<String> = out.lines().skip(1).map(|l| l.replace(',', "\t")).collect();
    lines.sort();
    let mut md5 = Md5::new();
    for l in &lines {
        md5.update(l.as_bytes());
        md5.update(b"\n");
    }
    assert_eq!(lines.len().to_string(), want_rows);
    let md5: String = md5.finalize().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(md5, want_md5);
}

#[test]
fn explain_shows_the_interval_join_not_a_hash_join() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(repo("tests/fixtures/intersect.sql")).unwrap();
    let query = dir.path().join("explain.sql");
    std::fs::write(&query, text.replace("SELECT a.*", "EXPLAIN SELECT a.*")).unwrap();
    let a = format!("a={}", repo("data/intervals/gerp.chr1.bed.gz").display());
    let b = format!(
        "b={}",
        repo("data/intervals/refseq.chr1.exons.bed.gz").display()
    );
    let plan = ok(&[
        "sql",
        "--store",
        "no-such-store",
        "-f",
        query.to_str().unwrap(),
        "--param",
        &a,
        "--param",
        &b,
    ]);
    assert!(
        plan.contains("IntervalJoinExec: on=[(chrom@0, chrom@0)]"),
        "{plan}"
    );
    assert!(!plan.contains("HashJoinExec"), "{plan}");
}
