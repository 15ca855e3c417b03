//! A store on an object store through the whole pipeline, with `--store
//! URL`: simulate and ingest, materialize, train, predict, eval, and the
//! run read back by a second machine (an empty run cache).
//!
//! Lance's `file-object-store://` serves a local folder through the
//! object-store API in every build. With the `s3` feature (on by default)
//! the same pipeline runs against `DNABENCH_S3_STORE`: `bash scripts/test-s3`
//! starts moto's S3 server on loopback, sets it and the `AWS_*` credentials,
//! and runs the ignored test.

use std::path::Path;

use crate::common::{ok_with, repo};

/// dnabench with its run cache in `cache`; its standard output.
fn run(cache: &Path, args: &[&str]) -> String {
    ok_with(&[("DNABENCH_CACHE", cache)], args)
}

fn pipeline(store: &str, work: &Path) {
    let cache = work.join("cache");
    let sources = work.join("sources");
    let data = repo("data");
    run(
        &cache,
        &[
            "simulate",
            "--out",
            sources.to_str().unwrap(),
            "--store",
            store,
            "--data",
            data.to_str().unwrap(),
        ],
    );
    let tables = run(&cache, &["tables", "--store", store]);
    assert!(
        tables.contains("genome") && tables.contains("peaks"),
        "{tables}"
    );
    run(
        &cache,
        &["materialize", "--task", "promoter", "--store", store],
    );
    let config = work.join("cnn.toml");
    std::fs::write(
        &config,
        "[train]\nepochs = 2\nbatch_size = 32\nmax_batches = 20\n[model]\nchannels = [16]\nkernels = [15]\nstrides = [1]\npool_kernel = 1\npool_stride = 1\nglobal_pool = true\n",
    )
    .unwrap();
    run(
        &cache,
        &[
            "train",
            "--task",
            "promoter",
            "--model",
            "cnn",
            "--config",
            config.to_str().unwrap(),
            "--run-id",
            "promoter-cnn-s",
            "--store",
            store,
        ],
    );
    // Another machine: nothing of the run on its disk but what it fetches.
    let elsewhere = work.join("cache-elsewhere");
    run(
        &elsewhere,
        &["predict", "--run", "promoter-cnn-s", "--store", store],
    );
    assert!(elsewhere.join("stores").exists(), "predict fetched the run");
    let scored = run(
        &elsewhere,
        &["eval", "--run", "promoter-cnn-s", "--store", store],
    );
    assert!(scored.contains("auroc"), "{scored}");
    let rows = run(
        &elsewhere,
        &[
            "sql",
            "--store",
            store,
            "--format",
            "csv",
            "SELECT count(*) AS n FROM predictions WHERE run_id = 'promoter-cnn-s'",
        ],
    );
    let n: usize = rows.lines().nth(1).unwrap().parse().unwrap();
    assert!(n >= 500, "one prediction per test example: {rows}");
}

#[test]
fn the_pipeline_runs_on_a_store_behind_the_object_store_api() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("bucket").join("store");
    let url = format!("file-object-store://{}", folder.display());
    pipeline(&url, dir.path());
    // The tables are Lance datasets under the prefix, nothing else is local.
    assert!(folder.join("examples.lance").join("_versions").is_dir());
    assert!(folder
        .join("runs")
        .join("promoter-cnn-s")
        .join("model.safetensors")
        .is_file());
}

#[cfg(feature = "s3")]
#[test]
#[ignore = "needs an S3 server: bash scripts/test-s3 starts moto's"]
fn the_pipeline_runs_on_s3() {
    let store = std::env::var("DNABENCH_S3_STORE").expect(
        "DNABENCH_S3_STORE names an S3 store to test against; bash scripts/test-s3 starts one",
    );
    let dir = tempfile::tempdir().unwrap();
    pipeline(&store, dir.path());
}

#[test]
fn a_failed_ingest_leaves_no_table_on_the_object_store() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("store");
    let url = format!("file-object-store://{}", folder.display());
    let fasta = dir.path().join("g.fa");
    std::fs::write(&fasta, ">chr1\nACGTACGTACGTACGTACGTACGTACGTAC\n").unwrap();
    let cache = dir.path().join("cache");
    run(
        &cache,
        &["ingest", "genome", fasta.to_str().unwrap(), "--store", &url],
    );
    let bad = dir.path().join("bad.narrowPeak");
    std::fs::write(&bad, "chr1\t10\t20\t.\t0\t.\t5\t-1\t-1\t5\nchr1\t10\t20\n").unwrap();
    let err = crate::common::fails(&["ingest", "peaks", bad.to_str().unwrap(), "--store", &url]);
    assert!(
        err.contains(":2: 3 tab-separated columns, expected 10"),
        "{err}"
    );
    let tables = run(&cache, &["tables", "--store", &url]);
    assert!(
        !tables.contains("peaks") && !tables.contains("tracks"),
        "{tables}"
    );
    assert!(!folder.join("peaks.lance").exists() && !folder.join("tracks.lance").exists());
}

#[cfg(not(feature = "s3"))]
#[test]
fn an_s3_store_in_a_build_without_s3_says_how_to_get_it() {
    let err = crate::common::fails(&["tables", "--store", "s3://bucket/store"]);
    assert!(err.contains("--features s3"), "{err}");
}
