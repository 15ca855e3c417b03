//! `dnabench train`, `pretrain` and `predict` through the command line, on
//! the quickstart's mini benchmark: every task trains a tiny model, writes
//! its `runs` row and checkpoint, and predicts one row per test example.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::common::{csv, fails, ok, QuickstartCopy};

fn fixture() -> &'static QuickstartCopy {
    static FIXTURE: OnceLock<QuickstartCopy> = OnceLock::new();
    FIXTURE.get_or_init(QuickstartCopy::new)
}

fn store() -> &'static str {
    fixture().store.to_str().unwrap()
}

fn config(name: &str, text: &str) -> PathBuf {
    let path = fixture().store.with_file_name(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

const TINY_CNN: &str = "[train]\nepochs = 2\nbatch_size = 16\nmax_batches = 3\nlr = 1e-3\n\
    [model]\nchannels = [8, 8]\nkernels = [9, 5]\nstrides = [1, 2]\nfc = 8\nhead_hidden = 8\n";

fn one(store: &str, sql: &str) -> String {
    let rows = csv(Path::new(store), sql);
    assert_eq!(rows.len(), 1, "{sql}: {rows:?}");
    rows[0].clone()
}

#[test]
fn every_task_trains_predicts_and_records_its_run() {
    let cfg = config("tiny_cnn", TINY_CNN);
    // Outputs per task: chromatin one per track with a peak, methylation and
    // expression one per sample.
    for (task, outputs) in [
        ("promoter", 1),
        ("methylation", 4),
        ("chromatin", 11),
        ("expression", 6),
        ("causal_snp", 1),
        ("mpra", 1),
    ] {
        let run = format!("{task}-tiny");
        let out = ok(&[
            "train",
            "--task",
            task,
            "--model",
            "cnn",
            "--config",
            cfg.to_str().unwrap(),
            "--run-id",
            &run,
            "--store",
            store(),
        ]);
        assert!(
            out.contains(&format!("run {run}: cnn one_hot on {task}")),
            "{out}"
        );
        assert!(fixture()
            .store
            .join("runs")
            .join(&run)
            .join("model.safetensors")
            .is_file());
        assert!(fixture()
            .store
            .join("runs")
            .join(&run)
            .join("config.json")
            .is_file());
        let row = one(
            store(),
            &format!(
                "SELECT kind, task, model, tokenizer, data_table, epochs, cardinality(train_loss), \
                 cardinality(valid_loss), best_epoch BETWEEN 1 AND 2, finished >= started, \
                 data_version > 0, examples_per_s > 0 FROM runs WHERE run_id = '{run}'"
            ),
        );
        assert_eq!(
            row,
            format!("train,{task},cnn,one_hot,examples,2,2,2,true,true,true,true"),
            "{task}"
        );
        ok(&["predict", "--run", &run, "--store", store()]);
        let row = one(
            store(),
            &format!(
                "SELECT count(*) AS n, min(cardinality(output)), max(cardinality(output)), \
                 (SELECT count(*) FROM examples WHERE dataset = '{task}' AND split = 'test') AS want \
                 FROM predictions p WHERE run_id = '{run}' AND split = 'test' \
                 AND EXISTS (SELECT 1 FROM examples e WHERE e.example_id = p.example_id AND e.dataset = '{task}')"
            ),
        );
        let cells: Vec<&str> = row.split(',').collect();
        assert_eq!(
            cells[0], cells[3],
            "{task}: one prediction per test example"
        );
        assert_eq!(cells[1], outputs.to_string(), "{task}");
        assert_eq!(cells[2], outputs.to_string(), "{task}");
        let err = fails(&["predict", "--run", &run, "--store", store()]);
        assert!(err.contains("already holds"), "{err}");
    }
}

#[test]
fn the_papers_heads_train_predict_and_score() {
    // Methylation as the paper trains it: sigmoid + BCE on the measured
    // fractions, so the predictions written are probabilities.
    let bce = config(
        "tiny_cnn_bce",
        &TINY_CNN.replace("[train]\n", "[train]\nregression_loss = \"bce\"\n"),
    );
    ok(&[
        "train",
        "--task",
        "methylation",
        "--model",
        "cnn",
        "--config",
        bce.to_str().unwrap(),
        "--run-id",
        "methylation-bce",
        "--store",
        store(),
    ]);
    ok(&["predict", "--run", "methylation-bce", "--store", store()]);
    let row = one(
        store(),
        "SELECT min(v) >= 0 AND max(v) <= 1, count(*) > 0 FROM \
         (SELECT unnest(output) AS v FROM predictions WHERE run_id = 'methylation-bce')",
    );
    assert_eq!(row, "true,true");
    let out = ok(&["eval", "--run", "methylation-bce", "--store", store()]);
    assert!(out.contains("mse"), "{out}");
    // An expression target is no fraction: a clear error.
    let err = fails(&[
        "train",
        "--task",
        "expression",
        "--model",
        "cnn",
        "--config",
        bce.to_str().unwrap(),
        "--run-id",
        "expression-bce",
        "--store",
        store(),
    ]);
    assert!(err.contains("needs fractions in [0, 1]"), "{err}");
    // Table 6.2's one-hot Transformer, with the paper's MLP head.
    let cfg = config(
        "tiny_one_hot_transformer",
        "[train]\nepochs = 1\nbatch_size = 16\nmax_batches = 3\nlr = 1e-3\n\
         [model]\nhidden = 16\nlayers = 1\nheads = 2\nffn = 32\nhead_hidden = 8\n",
    );
    let out = ok(&[
        "train",
        "--task",
        "promoter",
        "--model",
        "transformer",
        "--tokenizer",
        "one_hot",
        "--config",
        cfg.to_str().unwrap(),
        "--run-id",
        "promoter-one-hot-transformer",
        "--store",
        store(),
    ]);
    assert!(out.contains("transformer one_hot on promoter"), "{out}");
    ok(&[
        "predict",
        "--run",
        "promoter-one-hot-transformer",
        "--store",
        store(),
    ]);
    let out = ok(&[
        "eval",
        "--run",
        "promoter-one-hot-transformer",
        "--store",
        store(),
    ]);
    assert!(out.contains("auroc"), "{out}");
}

#[test]
fn pretraining_then_fine_tuning_a_transformer() {
    let cfg = config(
        "tiny_transformer",
        "[train]\nepochs = 1\nbatch_size = 8\nmax_batches = 2\nlr = 1e-3\n\
         [model]\nhidden = 16\nlayers = 1\nheads = 2\nffn = 32\n",
    );
    let out = ok(&[
        "pretrain",
        "--window",
        "256",
        "--config",
        cfg.to_str().unwrap(),
        "--run-id",
        "mlm-tiny",
        "--store",
        store(),
    ]);
    assert!(
        out.contains("run mlm-tiny: transformer kpatch on genome"),
        "{out}"
    );
    let row = one(
        store(),
        "SELECT kind, task, data_table, config LIKE '%\"hidden\": 16%' OR config LIKE '%\"hidden\":16%' \
         FROM runs WHERE run_id = 'mlm-tiny'",
    );
    assert_eq!(row, "pretrain,mlm,genome,true");
    // No [model] sizes given: they come from the pre-trained run.
    let plain = config(
        "plain",
        "[train]\nepochs = 1\nbatch_size = 8\nmax_batches = 2\n",
    );
    ok(&[
        "train",
        "--task",
        "promoter",
        "--model",
        "transformer",
        "--init",
        "mlm-tiny",
        "--config",
        plain.to_str().unwrap(),
        "--run-id",
        "promoter-tuned",
        "--store",
        store(),
    ]);
    let row = one(
        store(),
        "SELECT init IS NOT NULL, config LIKE '%\"hidden\":16%' FROM runs WHERE run_id = 'promoter-tuned'",
    );
    assert_eq!(row, "true,true");
    ok(&[
        "predict",
        "--run",
        "promoter-tuned",
        "--split",
        "valid,test",
        "--store",
        store(),
    ]);
    let err = fails(&[
        "train",
        "--task",
        "promoter",
        "--model",
        "transformer",
        "--tokenizer",
        "kmer",
        "--init",
        "mlm-tiny",
        "--store",
        store(),
    ]);
    assert!(err.contains("--tokenizer kpatch"), "{err}");
    let err = fails(&["predict", "--run", "mlm-tiny", "--store", store()]);
    assert!(err.contains("no task head"), "{err}");
}

#[test]
fn bpe_and_cnn_lstm_train_from_the_command_line() {
    let cfg = config(
        "tiny_bpe",
        "[train]\nepochs = 1\nbatch_size = 8\nmax_batches = 2\nbpe_vocab = 64\n\
         [model]\nhidden = 16\nlayers = 1\nheads = 2\nffn = 32\n",
    );
    ok(&[
        "train",
        "--task",
        "promoter",
        "--model",
        "transformer",
        "--tokenizer",
        "bpe",
        "--pos",
        "relative",
        "--config",
        cfg.to_str().unwrap(),
        "--run-id",
        "bpe-tiny",
        "--store",
        store(),
    ]);
    let vocab = std::fs::read_to_string(fixture().store.join("runs/bpe-tiny/bpe.json")).unwrap();
    assert!(vocab.contains("[MASK]"));
    ok(&["predict", "--run", "bpe-tiny", "--store", store()]);
    let lstm = config(
        "tiny_lstm",
        "[train]\nepochs = 1\nbatch_size = 8\nmax_batches = 2\n\
         [model]\nchannels = 8\nkernel = 9\npool_kernel = 13\npool_stride = 13\nlstm_hidden = 4\nfc = 8\n",
    );
    ok(&[
        "train",
        "--task",
        "promoter",
        "--model",
        "cnn_lstm",
        "--config",
        lstm.to_str().unwrap(),
        "--run-id",
        "lstm-tiny",
        "--store",
        store(),
    ]);
}

#[test]
fn bad_requests_are_clear_errors_and_leave_no_run_behind() {
    let before: Vec<_> = std::fs::read_dir(fixture().store.join("runs"))
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    let err = fails(&[
        "train",
        "--task",
        "promoter",
        "--model",
        "rnn",
        "--store",
        store(),
    ]);
    assert!(err.contains("one of: cnn, cnn_lstm, transformer"), "{err}");
    let err = fails(&[
        "train",
        "--task",
        "promoter",
        "--model",
        "cnn",
        "--tokenizer",
        "kpatch",
        "--store",
        store(),
    ]);
    assert!(err.contains("--tokenizer one_hot"), "{err}");
    let err = fails(&[
        "train",
        "--task",
        "splicing",
        "--model",
        "cnn",
        "--store",
        store(),
    ]);
    assert!(err.contains("no dataset 'splicing'"), "{err}");
    let bad = config("bad", "[model]\nchanels = [4]\n");
    let err = fails(&[
        "train",
        "--task",
        "promoter",
        "--model",
        "cnn",
        "--config",
        bad.to_str().unwrap(),
        "--store",
        store(),
    ]);
    assert!(err.contains("no field 'chanels'"), "{err}");
    let err = fails(&[
        "train",
        "--task",
        "promoter",
        "--model",
        "cnn",
        "--device",
        "tpu",
        "--store",
        store(),
    ]);
    assert!(err.contains("unknown device 'tpu'"), "{err}");
    let err = fails(&["predict", "--run", "nope", "--store", store()]);
    assert!(
        err.contains("no run 'nope'") || err.contains("no runs yet"),
        "{err}"
    );
    let err = fails(&[
        "predict",
        "--run",
        "nope",
        "--split",
        "dev",
        "--store",
        store(),
    ]);
    assert!(err.contains("unknown split 'dev'"), "{err}");
    let after: Vec<_> = std::fs::read_dir(fixture().store.join("runs"))
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        after
            .iter()
            .all(|f| before.contains(f) || !f.to_string_lossy().starts_with("promoter-cnn")),
        "{after:?}"
    );
}

/// Trains `model` on promoter with `seed` and predicts its test split; the
/// checkpoint's bytes and the predictions.
fn seeded_run(model: &str, seed: u64, run: &str) -> (Vec<u8>, Vec<String>) {
    let sizes = match model {
        "cnn" => "channels = [8, 8]\nkernels = [9, 5]\nstrides = [1, 2]\nfc = 8\nhead_hidden = 8\ndropout = 0.3\n",
        _ => "hidden = 16\nlayers = 1\nheads = 2\nffn = 32\ndropout = 0.2\n",
    };
    // The config says seed 1; `--seed` overrides it.
    let cfg = config(
        &format!("seeded_{model}"),
        &format!(
            "[train]\nepochs = 2\nbatch_size = 16\nmax_batches = 3\nlr = 1e-3\nseed = 1\n\
             reverse_complement = true\njitter = 5\n[model]\n{sizes}"
        ),
    );
    let seed = seed.to_string();
    let args = [
        "--seed",
        &seed,
        "--model",
        model,
        "--config",
        cfg.to_str().unwrap(),
        "--run-id",
        run,
        "--store",
        store(),
    ];
    ok(&[&["train", "--task", "promoter"][..], &args].concat());
    ok(&["predict", "--run", run, "--store", store()]);
    let checkpoint = fixture()
        .store
        .join("runs")
        .join(run)
        .join("model.safetensors");
    let predictions = csv(
        &fixture().store,
        &format!(
            "SELECT example_id, output FROM predictions WHERE run_id = '{run}' ORDER BY example_id"
        ),
    );
    (std::fs::read(checkpoint).unwrap(), predictions)
}

#[test]
fn one_seed_gives_byte_identical_runs_and_another_seed_differs() {
    // Dropout, reverse-complement and jitter draws, the shuffle and the
    // start all follow the seed.
    for model in ["cnn", "transformer"] {
        let (weights, predictions) = seeded_run(model, 1, &format!("{model}-seed1"));
        let (again, again_predictions) = seeded_run(model, 1, &format!("{model}-seed1-again"));
        assert!(weights == again, "{model}: one seed, two checkpoints");
        assert_eq!(predictions, again_predictions, "{model}");
        assert!(!predictions.is_empty());
        let (other, other_predictions) = seeded_run(model, 2, &format!("{model}-seed2"));
        assert!(
            weights != other,
            "{model}: seeds 1 and 2 gave one checkpoint"
        );
        assert_ne!(predictions, other_predictions, "{model}");
    }
}
