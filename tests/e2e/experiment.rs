//! `dnabench experiment` on the mini benchmark with tiny models: every
//! kind of cell (variants of a trained and of a downstream task, a CNN, an
//! MLM-started Transformer, one started from its backbone, a downstream
//! fit on a backbone) trained,
//! scored and rendered over seeds, then resumed, after a clean finish and
//! after `kill -9`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use crate::common::{csv, fails, ok, quickstart_store};

const TINY_CNN: &str = "[train]\nepochs = 2\nbatch_size = 16\nmax_batches = 3\nlr = 1e-3\n\
    [model]\nchannels = [8]\nkernels = [9]\nstrides = [1]\nglobal_pool = true\npool_kernel = 1\npool_stride = 1\n";
const TINY_TRANSFORMER: &str = "[train]\nepochs = 1\nbatch_size = 8\nmax_batches = 2\nlr = 1e-3\n\
    [model]\nhidden = 16\nlayers = 1\nheads = 2\nffn = 32\n";

/// A tiny experiment file in `dir`, its configs beside it.
fn experiment_file(dir: &Path) -> String {
    for (name, text) in [("cnn", TINY_CNN), ("transformer", TINY_TRANSFORMER)] {
        std::fs::write(dir.join(format!("{name}.toml")), text).unwrap();
    }
    let config = |name: &str| dir.join(format!("{name}.toml")).display().to_string();
    let text = format!(
        "[experiment]\nname = \"tiny\"\ntitle = \"A tiny grid\"\nseeds = 2\nbackbone = \"chromatin_bins\"\n\
         pretrain_window = 256\n\
         [datasets]\nprom_set = {{ task = \"promoter\", params = {{ max_shift = 0 }} }}\n\
         snp_1to1 = {{ task = \"causal_snp\", params = {{ neg_ratio = 1 }} }}\n\
         [configs]\ncnn = \"{}\"\ntransformer = \"{}\"\npretrain = \"{}\"\n\
         [[table]]\ntitle = \"Models\"\ndatasets = [\"prom_set\", \"snp_1to1\"]\n\
         metrics = [\"auroc\", \"auprc_paper\"]\n\
         arms = [{{ model = \"cnn\" }}, {{ name = \"attention\", model = \"transformer\", init = \"mlm\", \
         start_from_backbone = [\"prom_set\"] }}]\n\
         paper = [{{ dataset = \"prom_set\", arm = \"cnn\", auroc = 0.939 }}]\n",
        config("cnn"),
        config("transformer"),
        config("transformer"),
    );
    let path = dir.join("tiny.toml");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// How many of the experiment's runs have test metrics.
fn scored_runs(store: &Path) -> Vec<String> {
    csv(
        store,
        "SELECT count(DISTINCT run_id) FROM metrics WHERE split = 'test' AND run_id LIKE 'tiny-%'",
    )
}

#[test]
fn an_experiment_scores_every_cell_renders_its_table_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let s = store.to_str().unwrap();
    quickstart_store(&store);
    let file = experiment_file(dir.path());
    let report = dir.path().join("report");
    let r = report.to_str().unwrap();
    let out = ok(&["experiment", &file, "--report", r, "--store", s]);
    // 2 datasets × 2 arms × 2 seeds scored; the variant materialized, one
    // MLM pre-training shared by the seeds, a backbone per arm and seed.
    assert!(out.contains("materialize  prom_set"), "{out}");
    assert_eq!(out.matches("\npretrain ").count(), 1, "{out}");
    assert_eq!(out.matches("\nscore ").count(), 8, "{out}");
    // Run ids: what a run trains, a tag of its configs, its seed.
    let backbone = "tiny-chromatin_bins-transformer-kpatch-rotary-mlm30-";
    assert!(
        out.lines()
            .any(|l| l.contains(backbone) && l.contains("-s1 ")),
        "{out}"
    );
    assert_eq!(scored_runs(&store), ["8"]);
    // The attention arm starts prom_set from its backbone of the same seed
    // (a curriculum), which started from the MLM.
    let init = csv(
        &store,
        "SELECT init FROM runs WHERE run_id LIKE 'tiny-prom_set-transformer-kpatch-rotary-mlm30-bb-%-s1'",
    );
    assert!(
        init.len() == 1 && init[0].contains(backbone) && init[0].contains("-s1/"),
        "{init:?}"
    );
    let md = std::fs::read_to_string(report.join("tiny.md")).unwrap();
    assert!(
        md.contains("| dataset | metric | cnn | attention |"),
        "{md}"
    );
    assert!(md.contains("| prom_set | auroc |"), "{md}");
    assert!(md.contains("[paper 0.939]"), "{md}");
    // A downstream task's variant is fitted and scored by its task's query.
    assert!(md.contains("| snp_1to1 | auprc_paper |"), "{md}");
    // Every cell has both seeds: no "1 of 2 seeds", no empty cell.
    assert!(!md.contains("of 2 seeds") && !md.contains("—"), "{md}");
    assert!(std::fs::metadata(report.join("tiny-1.png")).unwrap().len() > 1000);

    // Run again: nothing left to do.
    let again = ok(&["experiment", &file, "--report", r, "--store", s]);
    assert!(
        !again.contains("\ntrain ") && !again.contains("\nscore "),
        "{again}"
    );

    // A third seed, killed once its first run is trained, then resumed.
    let three_seeds = [
        "experiment",
        &file,
        "--seeds",
        "3",
        "--report",
        r,
        "--store",
        s,
    ];
    let mut child = Command::new(env!("CARGO_BIN_EXE_dnabench"))
        .args(three_seeds)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines {
        if line.unwrap().starts_with("train") {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let resumed = ok(&three_seeds);
    assert!(resumed.contains("-s2"), "{resumed}");
    assert_eq!(scored_runs(&store), ["12"]);
    let md = std::fs::read_to_string(report.join("tiny.md")).unwrap();
    assert!(md.contains("3 seeds") && !md.contains("of 3 seeds"), "{md}");

    // An edited CNN config trains the CNN's runs anew (and refits the
    // downstream task on its new backbones); the Transformer's stay.
    std::fs::write(
        dir.path().join("cnn.toml"),
        TINY_CNN.replace("lr = 1e-3", "lr = 2e-3"),
    )
    .unwrap();
    let edited = ok(&three_seeds);
    assert!(!edited.contains("\npretrain "), "{edited}");
    assert_eq!(edited.matches("\nscore ").count(), 6, "{edited}");
    assert!(
        !edited.contains("score        tiny-prom_set-transformer"),
        "{edited}"
    );
    assert_eq!(scored_runs(&store), ["18"]);
}

#[test]
fn a_bad_experiment_file_is_an_error_that_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "[experiment]\nname = \"x\"\ntitle = \"x\"\n[[table]]\ntitle = \"t\"\ndatasets = []\narms = []\n").unwrap();
    let err = fails(&[
        "experiment",
        path.to_str().unwrap(),
        "--store",
        dir.path().to_str().unwrap(),
    ]);
    assert!(
        err.contains("bad.toml") && err.contains("needs datasets and arms"),
        "{err}"
    );
    std::fs::write(
        &path,
        "[experiment]\nname = \"x\"\ntitle = \"x\"\nseed = 3\n",
    )
    .unwrap();
    let err = fails(&[
        "experiment",
        path.to_str().unwrap(),
        "--store",
        dir.path().to_str().unwrap(),
    ]);
    assert!(err.contains("bad.toml") && err.contains("seed"), "{err}");

    // A curriculum on a downstream task is refused before any training.
    let store = dir.path().join("store");
    let s = store.to_str().unwrap();
    quickstart_store(&store);
    std::fs::write(
        &path,
        "[experiment]\nname = \"x\"\ntitle = \"x\"\n[[table]]\ntitle = \"t\"\n\
         datasets = [\"promoter\", \"causal_snp\"]\n\
         arms = [{ model = \"cnn\", start_from_backbone = [\"causal_snp\"] }]\n",
    )
    .unwrap();
    let err = fails(&["experiment", path.to_str().unwrap(), "--store", s]);
    assert!(
        err.contains("bad.toml") && err.contains("'causal_snp' is a downstream task"),
        "{err}"
    );
    assert!(
        !store.join("runs").exists()
            || std::fs::read_dir(store.join("runs"))
                .unwrap()
                .next()
                .is_none()
    );
}

#[test]
fn a_dataset_that_names_its_own_backbone_starts_its_curriculum_there() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let s = store.to_str().unwrap();
    quickstart_store(&store);
    let config = dir.path().join("transformer.toml");
    std::fs::write(&config, TINY_TRANSFORMER).unwrap();
    let path = dir.path().join("split.toml");
    let write = |own_backbone: &str| {
        std::fs::write(
            &path,
            format!(
                "[experiment]\nname = \"split\"\ntitle = \"x\"\nseeds = 1\nbackbone = \"chromatin_bins\"\n\
                 [datasets]\n\
                 by_chrom = {{ task = \"chromatin\", variant = \"chrom_split\", params = {{ source = \"chromatin\", valid_chroms = \"chr12\", test_chroms = \"chr8\" }}, backbone = \"{own_backbone}\" }}\n\
                 bins_by_chrom = {{ task = \"chromatin\", variant = \"chrom_split\", params = {{ source = \"chromatin_bins\", valid_chroms = \"chr12\", test_chroms = \"chr8\" }} }}\n\
                 [configs]\ntransformer = \"{}\"\n\
                 [[table]]\ntitle = \"t\"\ndatasets = [\"by_chrom\"]\n\
                 arms = [{{ model = \"transformer\", start_from_backbone = [\"by_chrom\"] }}]\n",
                config.display()
            ),
        )
        .unwrap();
    };

    // A backbone that is no dataset is refused before any training.
    write("no_such_bins");
    let err = fails(&["experiment", path.to_str().unwrap(), "--store", s]);
    assert!(
        err.contains("split.toml") && err.contains("from its backbone 'no_such_bins'"),
        "{err}"
    );
    assert!(!err.contains("\ntrain "), "{err}");

    write("bins_by_chrom");
    let out = ok(&["experiment", path.to_str().unwrap(), "--store", s]);
    assert_eq!(out.matches("\nscore ").count(), 1, "{out}");
    // Its curriculum starts from a backbone trained on the bins split the
    // same way, not from the experiment's (random) chromatin_bins.
    let init = csv(
        &store,
        "SELECT init FROM runs WHERE run_id LIKE 'split-by_chrom-transformer-%-bb-%-s0'",
    );
    assert!(
        init.len() == 1 && init[0].contains("split-bins_by_chrom-transformer-"),
        "{init:?}"
    );
    let backbone_test_chroms = csv(
        &store,
        "SELECT DISTINCT chrom FROM examples WHERE dataset = 'bins_by_chrom' AND split = 'test'",
    );
    assert_eq!(backbone_test_chroms, ["chr8"]);
    assert_eq!(
        csv(
            &store,
            "SELECT count(*) FROM runs WHERE run_id LIKE 'split-chromatin_bins-%'"
        ),
        ["0"]
    );
}
