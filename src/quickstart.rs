//! `dnabench quickstart`: the whole benchmark on the bundled data, from
//! simulation to the report, a line per step.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use dnabench_engine::{materialize, open_session, Store};
use dnabench_queries::{Task, TASKS};
use dnabench_simulate as simulate;
use dnabench_training as training;
use training::config::{ConfigFile, ModelKind, TokenizerKind};
use training::downstream::DownstreamModel;

use crate::embedding_commands::{fit_with, FitConfig};
use crate::{data_dir, eval, simulated_line, split_counts};

/// The quickstart's configs, embedded so that it runs from any folder.
/// They hold the `--full` budgets; the default run caps them (`FAST_STEPS`).
pub(crate) const QUICKSTART_CNN: &str = include_str!("../training/configs/quickstart_cnn.toml");
pub(crate) const QUICKSTART_TRANSFORMER: &str =
    include_str!("../training/configs/quickstart_transformer.toml");
const QUICKSTART_BACKBONE: &str = include_str!("../training/configs/quickstart_backbone.toml");
pub(crate) const QUICKSTART_DOWNSTREAM: &str =
    include_str!("../training/configs/quickstart_downstream.toml");

/// The default run's budgets: optimizer steps at most per dataset, each
/// near the smallest at which the quickstart test's learning thresholds held
/// with a margin (methylation's NRF1 needs more steps than promoter's TATA
/// and GC box; the CNNs of the last three tasks and of chromatin learn little
/// from a few hundred examples at any budget, so they only run).
const FAST_STEPS: [(&str, usize); 7] = [
    ("promoter", 200),
    ("methylation", 500),
    ("chromatin", 100),
    ("expression", 3),
    ("causal_snp", 40),
    ("mpra", 40),
    (BACKBONE_DATASET, 1600),
];

/// The default run's backbone: larger batches at a higher rate reach in
/// 1,600 steps the score the config's 3,000 steps reach, in less time
/// (`experiments/README.md`, "Model choices").
fn fast_backbone(config: &mut ConfigFile) {
    config.train.batch_size = 64;
    config.train.lr = 5e-3;
}

/// The default run's upper Transformer: one layer of 32, a quarter of the
/// config's two of 64 in time per epoch, for 4 epochs; it keeps its best
/// validation epoch, and three times the epochs gain next to nothing
/// (`experiments/README.md`, "Model choices").
fn fast_upper(upper: &mut training::downstream::upper::UpperConfig) {
    upper.hidden = 32;
    upper.layers = 1;
    upper.heads = 2;
    upper.ffn = 64;
    upper.epochs = 4;
    upper.lr = 3e-3;
}

/// What `--full` takes on 2 cores, printed before it starts.
const FULL_MINUTES: &str = "about 6 minutes (355 s measured, peak RSS 3.2 GB)";

/// Optimizer steps at most with `--full`, for the tasks whose examples cost
/// most: the 40 kb expression windows (one epoch) and the ref + alt pairs of
/// the variant tasks.
const FULL_STEPS: [(&str, usize); 3] = [("expression", 5), ("causal_snp", 100), ("mpra", 100)];

/// Caps `config`'s steps for `dataset` by the budget of the mode.
fn budget(config: &mut ConfigFile, dataset: &str, full: bool) {
    let caps: &[(&str, usize)] = if full { &FULL_STEPS } else { &FAST_STEPS };
    if let Some((_, cap)) = caps.iter().find(|(d, _)| *d == dataset) {
        config.train.max_steps = config.train.max_steps.min(*cap);
    }
    if !full && dataset == "expression" {
        // 40 kb windows train at 5 examples/s: three small batches.
        config.train.batch_size = 8;
    }
}

/// Tasks the Transformer leaves out: 40 kb is 10,000 patches, and MPRA's
/// 1400 bp ref + alt pairs train at 4 examples/s.
const TRANSFORMER_SKIPS: [&str; 2] = ["expression", "mpra"];

/// The backbone of the downstream tasks: a CNN on the chromatin task's
/// 200 bp bins alone (`flank = 0`), the segment length it embeds. On the
/// 1000 bp inputs a max over positions cannot tell a motif in the bin from
/// one in the flanks; on the bins alone it learns the TF motifs, and at 5×
/// fewer bases per example it trains 5× the steps in the same time.
const BACKBONE_DATASET: &str = "chromatin_bins";

/// What the quickstart runs.
pub(crate) struct QuickstartOptions {
    pub store: PathBuf,
    pub data: Option<PathBuf>,
    /// cnn and/or transformer; empty: the data steps only.
    pub models: Vec<String>,
    /// The configs' whole budgets rather than the default's caps.
    pub full: bool,
    /// Epochs of every run, overriding the configs'.
    pub epochs: Option<usize>,
}

impl QuickstartOptions {
    /// `--models` as given, else the CNNs (and the Transformers with `--full`).
    pub fn models(given: Option<&str>, full: bool) -> Result<Vec<String>> {
        let given = given.unwrap_or(if full { "cnn,transformer" } else { "cnn" });
        let models: Vec<String> = given
            .split(',')
            .map(str::trim)
            .filter(|m| !m.is_empty() && *m != "none")
            .map(str::to_string)
            .collect();
        if let Some(m) = models
            .iter()
            .find(|m| !matches!(m.as_str(), "cnn" | "transformer"))
        {
            bail!("--models takes cnn and transformer (or none), not '{m}'");
        }
        Ok(models)
    }
}

/// A line per step on standard output; on a terminal, a spinner on
/// standard error while a step without a bar of its own runs.
pub(crate) struct Steps {
    spinner: bool,
}

impl Steps {
    pub(crate) fn new() -> Steps {
        Steps {
            spinner: std::io::IsTerminal::is_terminal(&std::io::stderr()),
        }
    }

    /// Runs `work`, which has no bar of its own, under a spinner.
    fn spin<T>(&self, step: &str, what: &str, work: impl FnOnce() -> Result<T>) -> Result<T> {
        let bar = if self.spinner {
            let bar = indicatif::ProgressBar::new_spinner()
                .with_message(format!("{step} {what}"))
                .with_style(
                    indicatif::ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
                        .expect("a valid spinner template"),
                );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        } else {
            indicatif::ProgressBar::hidden()
        };
        let result = work();
        bar.finish_and_clear();
        result
    }

    pub(crate) fn line(&self, step: &str, what: &str, detail: &str, took: Duration) {
        println!(
            "{step:<12} {what:<24} {detail} ({:.1} s)",
            took.as_secs_f64()
        );
    }
}

/// The quickstart: data steps in an async runtime, training outside it.
pub(crate) fn quickstart(options: QuickstartOptions) -> Result<()> {
    let started = Instant::now();
    if options.full {
        println!(
            "quickstart --full: the Transformers and the configs' whole step budgets, {FULL_MINUTES} on 2 cores (CPU)"
        );
    }
    let steps = Steps::new();
    let runtime = tokio::runtime::Runtime::new()?;
    let store_path = options.store.as_path();
    prepare_data(&steps, &runtime, store_path, options.data.clone())?;
    if options.models.is_empty() {
        println!(
            "quickstart data done in {:.0} s; store {}",
            started.elapsed().as_secs_f64(),
            store_path.display()
        );
        return Ok(());
    }
    let store = Store::open(store_path)?;
    let run = Runner {
        steps: &steps,
        store: &store,
        runtime: &runtime,
        options: &options,
    };
    let mut runs = Vec::new();
    for task in TASKS {
        for model in &options.models {
            if model == "transformer" && TRANSFORMER_SKIPS.contains(&task.name) {
                continue;
            }
            let (text, kind, tokenizer) = match model.as_str() {
                "cnn" => (QUICKSTART_CNN, ModelKind::Cnn, TokenizerKind::OneHot),
                _ => (
                    QUICKSTART_TRANSFORMER,
                    ModelKind::Transformer,
                    TokenizerKind::Kpatch,
                ),
            };
            let mut config = ConfigFile::parse(text)?;
            budget(&mut config, task.name, options.full);
            runs.push(run.train_and_score(task.name, config, kind, tokenizer)?);
        }
    }
    if options.models.iter().any(|m| m == "cnn") {
        let mut config = ConfigFile::parse(QUICKSTART_BACKBONE)?;
        budget(&mut config, BACKBONE_DATASET, options.full);
        if !options.full {
            fast_backbone(&mut config);
        }
        let backbone = run.train_and_score(
            BACKBONE_DATASET,
            config,
            ModelKind::Cnn,
            TokenizerKind::OneHot,
        )?;
        runs.extend(run.downstream(&backbone)?);
        runs.push(backbone);
    }
    let out = sibling(store_path, "report");
    if out.exists() {
        std::fs::remove_dir_all(&out)
            .with_context(|| format!("cannot replace {}", out.display()))?;
    }
    let report = runtime.block_on(crate::report::report(&store, &runs, &out))?;
    println!("\n{}", report.summary);
    println!(
        "quickstart done in {:.0} s. The report, every metric and {} figures: {}",
        started.elapsed().as_secs_f64(),
        report.figures.len(),
        report.markdown.display()
    );
    Ok(())
}

/// `STORE-NAME` beside the store folder; for a store on an object store
/// (`s3://bucket/STORE`), in the working folder.
pub(crate) fn sibling(store: &Path, name: &str) -> PathBuf {
    let stem = store
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("quickstart");
    if Store::is_object_store(store) {
        return PathBuf::from(format!("{stem}-{name}"));
    }
    store.with_file_name(format!("{stem}-{name}"))
}

/// The training steps of one quickstart.
struct Runner<'a> {
    steps: &'a Steps,
    store: &'a Store,
    runtime: &'a tokio::runtime::Runtime,
    options: &'a QuickstartOptions,
}

impl Runner<'_> {
    /// Trains on `dataset`, predicts valid and test, scores test; the run id.
    fn train_and_score(
        &self,
        dataset: &str,
        mut config: ConfigFile,
        model: ModelKind,
        tokenizer: TokenizerKind,
    ) -> Result<String> {
        if let Some(e) = self.options.epochs {
            config.train.epochs = e;
        }
        let clock = Instant::now();
        let record = training::train::train(
            self.store,
            training::train::TrainRequest {
                dataset: dataset.to_string(),
                model,
                tokenizer,
                positions: training::models::Positions::Rotary,
                config,
                device: training::Device::Cpu,
                init: None,
                run_id: None,
                progress: training::Progress::on_terminal(training::Progress::Bar),
            },
        )?;
        let run_id = record.config.run_id.clone();
        training::predict::predict(
            self.store,
            &training::predict::PredictRequest {
                run_id: run_id.clone(),
                splits: vec!["valid".into(), "test".into()],
                device: training::Device::Cpu,
                batch_size: 256,
                progress: training::Progress::Hidden,
            },
        )?;
        let score = self.score(&run_id)?;
        self.steps.line(
            "train",
            &run_id,
            &format!(
                "{} epochs, {:.0} examples/s, {score}",
                record.train_loss.len(),
                record.examples_per_s
            ),
            clock.elapsed(),
        );
        Ok(run_id)
    }

    /// Scores a run's test split into `metrics`; its headline metric.
    fn score(&self, run_id: &str) -> Result<String> {
        let evaluation = self.runtime.block_on(eval(self.store, run_id, "test"))?;
        Ok(headline(&evaluation))
    }

    /// Embeds the downstream tasks with the backbone run and fits their
    /// models; the run ids, scored.
    fn downstream(&self, backbone: &str) -> Result<Vec<String>> {
        let mut config = FitConfig::parse(QUICKSTART_DOWNSTREAM)?;
        if !self.options.full {
            fast_upper(&mut config.upper);
        }
        let mut runs = Vec::new();
        let downstream = TASKS
            .iter()
            .filter_map(|t| Some((t.name, DownstreamModel::for_task(t.name)?)));
        for (task, model) in downstream {
            let clock = Instant::now();
            let summary = training::embed::embed(
                self.store,
                &training::embed::EmbedRequest {
                    run_id: backbone.to_string(),
                    dataset: task.to_string(),
                    table: None,
                    device: training::Device::Cpu,
                    batch_size: 256,
                    progress: training::Progress::on_terminal(training::Progress::Bar),
                },
            )?;
            self.steps.line(
                "embed",
                task,
                &format!(
                    "{} examples × {} features into {}, by {backbone}",
                    summary.rows, summary.dim, summary.table
                ),
                clock.elapsed(),
            );
            let clock = Instant::now();
            let row = self.steps.spin("fit", &format!("{task} {model}"), || {
                fit_with(self.store, task, model, None, config.clone(), None)
            })?;
            let score = self.score(&row.run_id)?;
            self.steps.line(
                "fit",
                &row.run_id,
                &format!("{model} on {task} embeddings, {score}"),
                clock.elapsed(),
            );
            runs.push(row.run_id);
        }
        Ok(runs)
    }
}

/// "test AUROC 0.931": the first headline metric of the run's task.
pub(crate) fn headline(evaluation: &dnabench_engine::eval::Evaluation) -> String {
    let wanted = Task::named(&evaluation.task).map(|t| t.headline_metric());
    let Some((metric, group, label)) = wanted else {
        return format!("{} test metrics", evaluation.scores.len());
    };
    let value = evaluation
        .scores
        .iter()
        .find(|s| s.metric == *metric && s.group == *group)
        .and_then(|s| s.value);
    match value {
        Some(v) => format!("test {label} {v:.3}"),
        None => format!("test {label} NULL"),
    }
}

/// Simulates the mini benchmark, ingests it, and materializes the six
/// tasks and the backbone's variant of chromatin.
fn prepare_data(
    steps: &Steps,
    runtime: &tokio::runtime::Runtime,
    store_path: &Path,
    data: Option<PathBuf>,
) -> Result<()> {
    let data = data_dir(data)?;
    let sources = sibling(store_path, "sources");
    for dir in [store_path, sources.as_path()] {
        if dir.exists() {
            std::fs::remove_dir_all(dir)
                .with_context(|| format!("cannot replace {}", dir.display()))?;
        }
    }
    let clock = Instant::now();
    let sim = steps.spin("simulate", "the mini benchmark", || {
        Ok(simulate::simulate(&data, &sources, 1)?)
    })?;
    steps.line(
        "simulate",
        &sources.display().to_string(),
        &format!("{} (seed 1; see its README.md)", simulated_line(&sim)),
        clock.elapsed(),
    );
    let clock = Instant::now();
    let store = Store::create(store_path)?;
    let files = simulate::SimulatedFiles {
        dir: sources.clone(),
    };
    let reports = steps.spin("ingest", "the simulated files", || {
        Ok(runtime.block_on(simulate::ingest_simulated(&store, &files))?)
    })?;
    steps.line(
        "ingest",
        &store_path.display().to_string(),
        &format!("{} source files", reports.len()),
        clock.elapsed(),
    );
    let chromatin = Task::named("chromatin").context("the chromatin task")?;
    let mut datasets: Vec<(&Task, &str, BTreeMap<String, String>)> =
        TASKS.iter().map(|t| (t, t.name, BTreeMap::new())).collect();
    let bins = BTreeMap::from([("flank".to_string(), "0".to_string())]);
    datasets.push((&chromatin, BACKBONE_DATASET, bins));
    let ctx = runtime.block_on(open_session(&store))?;
    for (task, name, params) in &datasets {
        let clock = Instant::now();
        let m = steps.spin("materialize", name, || {
            runtime.block_on(async {
                let spec = materialize::Materialization::of_task(task, name, params)?;
                Ok::<_, anyhow::Error>(materialize::materialize(&ctx, &store, &spec).await?)
            })
        })?;
        let variant: String = params.iter().map(|(k, v)| format!(", {k}={v}")).collect();
        steps.line(
            "materialize",
            name,
            &format!(
                "{} examples ({}) from queries/{}.sql{variant}",
                m.rows(),
                split_counts(&m),
                task.name
            ),
            clock.elapsed(),
        );
    }
    Ok(())
}
