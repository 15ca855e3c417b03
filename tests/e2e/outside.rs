//! Models outside dnabench on the benchmark, through the command line:
//! predictions from a file (`eval --predictions`), embeddings from a file
//! (`embed --from`) for the downstream fits, and the leaderboard. The files
//! are a dnabench run's own outputs exported with `dnabench sql`, so an
//! import must score exactly as the run it came from.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::common::{csv, fails, ok, quickstart_store};

struct Fixture {
    _dir: tempfile::TempDir,
    store: PathBuf,
}

const TINY_CNN: &str = "[train]\nepochs = 1\nbatch_size = 16\nmax_batches = 4\nlr = 1e-3\n\
    [model]\nchannels = [8]\nkernels = [9]\nstrides = [1]\nfc = 0\npadding = \"valid\"\nhead = \"linear\"\n";

/// The mini benchmark with a tiny promoter CNN that predicted valid and test.
fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let store = quickstart_store(&dir.path().join("store"));
        let s = store.to_str().unwrap();
        let cfg = dir.path().join("tiny.toml");
        std::fs::write(&cfg, TINY_CNN).unwrap();
        for task in ["promoter", "chromatin"] {
            ok(&[
                "train",
                "--task",
                task,
                "--model",
                "cnn",
                "--config",
                cfg.to_str().unwrap(),
                "--run-id",
                &format!("{task}-tiny"),
                "--store",
                s,
            ]);
        }
        ok(&[
            "predict",
            "--run",
            "promoter-tiny",
            "--split",
            "valid,test",
            "--store",
            s,
        ]);
        ok(&["eval", "--run", "promoter-tiny", "--store", s]);
        Fixture { _dir: dir, store }
    })
}

fn store() -> &'static str {
    fixture().store.to_str().unwrap()
}

fn file(name: &str) -> PathBuf {
    fixture().store.with_file_name(name)
}

/// Writes the rows of `sql` to `name` (format from its extension).
fn export(name: &str, sql: &str) -> PathBuf {
    let path = file(name);
    let format = path.extension().unwrap().to_str().unwrap().to_string();
    ok(&[
        "sql",
        "--store",
        store(),
        "--format",
        &format,
        "--output",
        path.to_str().unwrap(),
        sql,
    ]);
    path
}

fn metrics(run: &str) -> Vec<String> {
    csv(
        Path::new(store()),
        &format!(
            "SELECT metric, \"group\", value FROM metrics WHERE run_id = '{run}' AND split = 'test' \
             ORDER BY metric, \"group\""
        ),
    )
}

fn count(sql: &str) -> usize {
    csv(Path::new(store()), sql)[0].parse().unwrap()
}

#[test]
fn predictions_made_elsewhere_score_exactly_as_the_run_they_came_from() {
    let parquet = export(
        "tiny.parquet",
        "SELECT example_id, output FROM predictions WHERE run_id = 'promoter-tiny'",
    );
    let out = ok(&[
        "eval",
        "--predictions",
        parquet.to_str().unwrap(),
        "--run",
        "outside-parquet",
        "--dataset",
        "promoter",
        "--model",
        "my CNN",
        "--config",
        r#"{"seed": 3, "width": 8}"#,
        "--store",
        store(),
    ]);
    assert!(out.contains("valid 586 of 586, test 570 of 570"), "{out}");
    let want = metrics("promoter-tiny");
    assert!(want.len() >= 6, "{want:?}");
    assert_eq!(metrics("outside-parquet"), want);
    // A CSV of one numeric column per output gives the same numbers.
    let text = export(
        "tiny.csv",
        "SELECT example_id, output[1] AS output_0 FROM predictions WHERE run_id = 'promoter-tiny'",
    );
    ok(&[
        "eval",
        "--predictions",
        text.to_str().unwrap(),
        "--run",
        "outside-csv",
        "--dataset",
        "promoter",
        "--store",
        store(),
    ]);
    assert_eq!(metrics("outside-csv"), want);
    let row = &csv(
        Path::new(store()),
        "SELECT kind, model, tokenizer, config, checkpoint FROM runs WHERE run_id = 'outside-parquet'",
    )[0];
    assert_eq!(
        row,
        r#"outside,my CNN,outside,"{""seed"": 3, ""width"": 8}","#
    );
    // An outside run has no network for the commands that need one.
    let e = fails(&["predict", "--run", "outside-csv", "--store", store()]);
    assert!(e.contains("outside model's"), "{e}");
}

#[test]
fn bad_predictions_are_refused_naming_the_row_and_nothing_is_written() {
    let ids = csv(
        Path::new(store()),
        "SELECT example_id, split FROM examples WHERE dataset = 'promoter' ORDER BY split, example_id",
    );
    let id_of = |split: &str| {
        ids.iter()
            .find(|r| r.ends_with(&format!(",{split}")))
            .unwrap()
            .split(',')
            .next()
            .unwrap()
            .to_string()
    };
    let (train, test) = (id_of("train"), id_of("test"));
    let chromatin = csv(
        Path::new(store()),
        "SELECT example_id FROM examples WHERE dataset = 'chromatin' AND example_id NOT IN \
         (SELECT example_id FROM examples WHERE dataset = 'promoter') LIMIT 1",
    )[0]
    .clone();
    let cases = [
        (
            "unknown",
            format!("{test},1\nno-such-example,2\n"),
            "row 2 (example 'no-such-example'): no example",
        ),
        (
            "repeated",
            format!("{test},1\n{test},2\n"),
            "row 2 (example '",
        ),
        (
            "train split",
            format!("{test},1\n{train},2\n"),
            "is in split 'train'; this import takes valid, test",
        ),
        (
            "other dataset",
            format!("{chromatin},1\n"),
            "is one of dataset 'chromatin', not 'promoter'",
        ),
        ("not finite", format!("{test},inf\n"), "row 1 (example '"),
        (
            "wrong width",
            format!("{test},1,2\n"),
            "row 1: the output has 2 values; the 'promoter' task's model gives 1",
        ),
    ];
    for (i, (case, rows, message)) in cases.iter().enumerate() {
        let header = if rows.matches(',').count() > rows.lines().count() {
            "example_id,output_0,output_1\n"
        } else {
            "example_id,output_0\n"
        };
        let path = file(&format!("bad{i}.csv"));
        std::fs::write(&path, format!("{header}{rows}")).unwrap();
        let e = fails(&[
            "eval",
            "--predictions",
            path.to_str().unwrap(),
            "--run",
            &format!("bad-{i}"),
            "--dataset",
            "promoter",
            "--store",
            store(),
        ]);
        assert!(e.contains(path.to_str().unwrap()), "{case}: {e}");
        assert!(e.contains(message), "{case}: {e}");
        let run = format!("bad-{i}");
        for table in ["runs", "predictions"] {
            assert_eq!(
                count(&format!(
                    "SELECT count(*) FROM {table} WHERE run_id = '{run}'"
                )),
                0,
                "{case}: {table}"
            );
        }
    }
}

#[test]
fn a_run_missing_examples_is_scored_only_when_asked() {
    let half = export(
        "half.parquet",
        "SELECT example_id, output FROM predictions WHERE run_id = 'promoter-tiny' \
         AND (split = 'valid' OR hash_uniform(example_id, 1) < 0.5)",
    );
    let args = |extra: &'static [&'static str]| {
        let mut a = vec![
            "eval",
            "--predictions",
            half.to_str().unwrap(),
            "--dataset",
            "promoter",
            "--store",
            store(),
        ];
        a.extend_from_slice(extra);
        a
    };
    let e = fails(&args(&["--run", "half"]));
    assert!(e.contains("of the 570 examples of split 'test'"), "{e}");
    assert!(e.contains("--allow-partial"), "{e}");
    // The predictions are committed (the run is reported, not lost): it
    // scores when asked.
    let out = ok(&[
        "eval",
        "--run",
        "half",
        "--allow-partial",
        "--store",
        store(),
    ]);
    assert!(out.contains("metrics written"), "{out}");
    assert!(!metrics("half").is_empty());
}

#[test]
fn the_leaderboard_groups_seeds_and_shows_the_papers_values() {
    let parquet = export(
        "seeds.parquet",
        "SELECT example_id, output FROM predictions WHERE run_id = 'promoter-tiny'",
    );
    for seed in [0, 1] {
        ok(&[
            "eval",
            "--predictions",
            parquet.to_str().unwrap(),
            "--run",
            &format!("seeded-{seed}"),
            "--dataset",
            "promoter",
            "--model",
            "seeded model",
            "--config",
            &format!(r#"{{"seed": {seed}, "width": 8}}"#),
            "--store",
            store(),
        ]);
    }
    let table = export_leaderboard();
    let row = table
        .iter()
        .find(|r| r.starts_with("promoter,promoter,seeded model,store,"))
        .unwrap_or_else(|| panic!("{table:?}"));
    assert!(
        row.contains(r#",2,"seeded-0,seeded-1","0,1",AUROC,"#),
        "{row}"
    );
    assert!(
        row.ends_with(",0.0") || row.ends_with(",0"),
        "two equal runs: sd 0: {row}"
    );
    assert!(
        table.contains(
            &"promoter,promoter,attention,paper (Table 6.4),0,,,AUROC,0.954,".to_string()
        ),
        "{table:?}"
    );
    let md = ok(&["leaderboard", "--store", store()]);
    assert!(md.contains("## promoter (AUROC)"), "{md}");
    assert!(
        md.contains("| *paper: attention* | promoter | 0.954 |"),
        "{md}"
    );
    assert!(md.contains("| seeded model | promoter |"), "{md}");
}

fn export_leaderboard() -> Vec<String> {
    let path = file("leaderboard.csv");
    ok(&[
        "leaderboard",
        "--format",
        "csv",
        "--output",
        path.to_str().unwrap(),
        "--store",
        store(),
    ]);
    std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .skip(1)
        .map(str::to_string)
        .collect()
}

#[test]
fn embeddings_made_elsewhere_feed_the_downstream_fit_as_a_backbones_do() {
    let s = store();
    ok(&[
        "embed",
        "--run",
        "chromatin-tiny",
        "--task",
        "causal_snp",
        "--store",
        s,
    ]);
    let parquet = export(
        "embeddings.parquet",
        "SELECT example_id, vector FROM embeddings_causal_snp",
    );
    let out = ok(&[
        "embed",
        "--from",
        parquet.to_str().unwrap(),
        "--run",
        "my-lm",
        "--task",
        "causal_snp",
        "--store",
        s,
    ]);
    assert!(out.contains("embeddings_causal_snp_my_lm"), "{out}");
    for (table, run) in [
        ("embeddings_causal_snp", "fit-backbone"),
        ("embeddings_causal_snp_my_lm", "fit-outside"),
    ] {
        ok(&[
            "fit",
            "--task",
            "causal_snp",
            "--model",
            "forest",
            "--table",
            table,
            "--run-id",
            run,
            "--store",
            s,
        ]);
        ok(&["eval", "--run", run, "--store", s]);
    }
    assert_eq!(metrics("fit-outside"), metrics("fit-backbone"));
    assert_eq!(
        csv(
            Path::new(s),
            "SELECT init FROM runs WHERE run_id = 'fit-outside'"
        ),
        vec!["my-lm".to_string()]
    );
    // A missing value is refused, naming its row, and no table is left.
    let bad = file("ragged.csv");
    let ids = csv(
        Path::new(s),
        "SELECT example_id FROM examples WHERE dataset = 'causal_snp' LIMIT 2",
    );
    std::fs::write(
        &bad,
        format!("example_id,a,b\n{},1,2\n{},1,\n", ids[0], ids[1]),
    )
    .unwrap();
    let e = fails(&[
        "embed",
        "--from",
        bad.to_str().unwrap(),
        "--run",
        "ragged",
        "--task",
        "causal_snp",
        "--store",
        s,
    ]);
    assert!(e.contains("row 2") && e.contains("NULL"), "{e}");
    assert!(!fixture()
        .store
        .join("embeddings_causal_snp_ragged.lance")
        .exists());
}
