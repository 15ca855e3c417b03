//! `dnabench experiment FILE.toml`: every cell of an experiment's tables
//! (dataset × model setup × seed) trained, predicted and scored, then each
//! table rendered from `metrics` as mean ± sd over seeds beside the paper's
//! value, in Markdown and PNG.
//!
//! A cell whose run has test metrics is skipped, so a killed experiment
//! resumes where it stopped: a run is recorded in `runs` only when it is
//! complete, and a run folder without its row (a run killed mid-training)
//! is removed and trained again. Runs are named by what they train and a
//! tag of the configs, dataset parameters and start that shaped them
//! (`EXPERIMENT-DATASET-MODEL-TOKENIZER[-POSITIONS][-INIT]-TAG-sSEED`), so
//! tables that share a setup share its runs, and an edited config trains
//! new ones.

mod datasets;
mod plan;
mod run_ids;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Instant;

use crate::report::experiment::{test_metrics, ResultCell, ResultRow, ResultTable};
use anyhow::{bail, Context, Result};
use arrow::array::AsArray;
use dnabench_engine::{open_session, Store};
use dnabench_queries::Task;
use dnabench_training as training;
use training::config::ConfigFile;
use training::downstream::DownstreamModel;

use crate::embedding_commands::{fit_with, FitConfig};
use crate::quickstart::{Steps, QUICKSTART_CNN, QUICKSTART_DOWNSTREAM, QUICKSTART_TRANSFORMER};
use plan::{Arm, ExperimentFile, Init};

/// What `dnabench experiment` was asked.
pub(crate) struct ExperimentOptions {
    pub file: PathBuf,
    pub store: PathBuf,
    /// Seeds per cell, instead of the file's.
    pub seeds: Option<usize>,
    /// Where the tables go (default: `STORE-NAME` beside the store).
    pub report: Option<PathBuf>,
    /// Where every run trains and predicts (`cpu`, `cuda`, `cuda:N`).
    pub device: String,
    /// At most this many optimizer steps a run (a smoke run of the grid,
    /// on its own runs: the cap is part of each run's tag).
    pub max_steps: Option<usize>,
}

pub(crate) fn experiment(options: ExperimentOptions) -> Result<()> {
    let started = Instant::now();
    let file = ExperimentFile::read(&options.file)?;
    let seeds = options.seeds.unwrap_or(file.experiment.seeds);
    let store = Store::open(&options.store)?;
    let runtime = tokio::runtime::Runtime::new()?;
    let mut runner = Runner {
        file: &file,
        store: &store,
        runtime: &runtime,
        steps: Steps::new(),
        state: runtime.block_on(State::read(&store))?,
        configs: read_configs(&file)?,
        device: training::config::parse_device(&options.device)?,
        max_steps: options.max_steps,
    };
    let name = &file.experiment.name;
    println!(
        "experiment {name}: {} ({} tables, {seeds} seeds)",
        file.experiment.title,
        file.tables.len()
    );
    runner.materialize_datasets()?;
    runner
        .check_starts()
        .with_context(|| format!("experiment {}", options.file.display()))?;
    let mut tables = Vec::new();
    for spec in &file.tables {
        let arms = spec.arms()?;
        let mut cells: Vec<Vec<Vec<String>>> = Vec::new();
        for dataset in &spec.datasets {
            let mut row = Vec::new();
            for arm in &arms {
                let runs = (0..seeds as u64)
                    .map(|seed| runner.scored(dataset, arm, seed))
                    .collect::<Result<Vec<_>>>()?;
                row.push(runs);
            }
            cells.push(row);
        }
        tables.push((spec, arms, cells));
    }
    let metrics = runtime.block_on(test_metrics(&store))?;
    let out = options
        .report
        .clone()
        .unwrap_or_else(|| crate::quickstart::sibling(&options.store, name));
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut markdown = format!(
        "# {}\n\n`dnabench experiment {}`, {seeds} seeds, store `{}`. Each cell: the test metric's mean ± sd over seeds; [paper] the value the paper reports.\n\n",
        file.experiment.title,
        options.file.display(),
        options.store.display()
    );
    for (k, (spec, arms, cells)) in tables.iter().enumerate() {
        let table = runner.result_table(spec, arms, cells, &metrics)?;
        let figure = out.join(format!("{name}-{}.png", k + 1));
        table.figure(&metrics, &figure)?;
        let md = table.markdown(&metrics);
        println!("\n{md}");
        markdown.push_str(&md);
        markdown.push_str(&format!(
            "\n![{}]({})\n\n",
            table.title,
            figure
                .file_name()
                .and_then(|f| f.to_str())
                .unwrap_or_default()
        ));
    }
    let path = out.join(format!("{name}.md"));
    std::fs::write(&path, markdown).with_context(|| format!("cannot write {}", path.display()))?;
    println!(
        "experiment {name} done in {:.0} s: {}",
        started.elapsed().as_secs_f64(),
        path.display()
    );
    Ok(())
}

/// The text of every config the file names, so a missing one fails before
/// any training.
fn read_configs(file: &ExperimentFile) -> Result<BTreeMap<String, (String, String)>> {
    file.configs
        .iter()
        .map(|(name, path)| {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read config {}", path.display()))?;
            Ok((name.clone(), (path.display().to_string(), text)))
        })
        .collect()
}

/// What the store holds already: the runs complete, scored and predicted,
/// and the datasets materialized, each with its task.
struct State {
    runs: BTreeSet<String>,
    scored: BTreeSet<String>,
    predicted: BTreeSet<String>,
    datasets: BTreeMap<String, String>,
}

impl State {
    async fn read(store: &Store) -> Result<State> {
        let ctx = open_session(store).await?;
        // Each row's text columns, none when the table does not exist yet.
        let rows = |table: &str, sql: &str| {
            let ctx = ctx.clone();
            let (table, sql) = (table.to_string(), sql.to_string());
            async move {
                let mut rows = Vec::new();
                if !store.has_table(&table) {
                    return Ok::<_, anyhow::Error>(rows);
                }
                let result =
                    dnabench_engine::sql::run_sql(&ctx, "experiment", &sql, &BTreeMap::new())
                        .await?;
                for batch in &result.batches {
                    let columns: Vec<_> = batch
                        .columns()
                        .iter()
                        .map(|c| c.as_string::<i32>())
                        .collect();
                    for i in 0..batch.num_rows() {
                        rows.push(
                            columns
                                .iter()
                                .map(|c| c.value(i).to_string())
                                .collect::<Vec<_>>(),
                        );
                    }
                }
                Ok(rows)
            }
        };
        let ids = |rows: Vec<Vec<String>>| rows.into_iter().map(|r| r[0].clone()).collect();
        Ok(State {
            runs: ids(rows("runs", "SELECT run_id FROM runs").await?),
            scored: ids(rows(
                "metrics",
                "SELECT DISTINCT run_id FROM metrics WHERE split = 'test'",
            )
            .await?),
            predicted: ids(rows(
                "predictions",
                "SELECT DISTINCT run_id FROM predictions WHERE split = 'test'",
            )
            .await?),
            datasets: rows("examples", "SELECT DISTINCT dataset, task FROM examples")
                .await?
                .into_iter()
                .map(|r| (r[0].clone(), r[1].clone()))
                .collect(),
        })
    }
}

struct Runner<'a> {
    file: &'a ExperimentFile,
    store: &'a Store,
    runtime: &'a tokio::runtime::Runtime,
    steps: Steps,
    state: State,
    /// The text of each config the file names, read once: (path, text).
    configs: BTreeMap<String, (String, String)>,
    device: training::Device,
    max_steps: Option<usize>,
}

impl Runner<'_> {
    /// Refuses, before any training, a curriculum on a downstream task:
    /// those are fitted on the backbone's embeddings, not trained.
    fn check_starts(&self) -> Result<()> {
        for spec in &self.file.tables {
            for arm in spec.arms()? {
                for dataset in spec.datasets.iter().filter(|d| arm.starts_from_backbone(d)) {
                    let backbone = self.file.backbone_of(dataset);
                    self.task_of(backbone).with_context(|| {
                        format!(
                            "table '{}' starts '{dataset}' from its backbone '{backbone}'",
                            spec.title
                        )
                    })?;
                    let task = self.task_of(dataset)?;
                    if DownstreamModel::for_task(&task).is_some() {
                        bail!(
                            "table '{}', arm '{}': '{dataset}' is a downstream task, fitted on the backbone's embeddings; it cannot start from the backbone",
                            spec.title,
                            arm.name
                        );
                    }
                }
            }
        }
        Ok(())
    }

    /// The task of a dataset: the file's variant's, or the store's.
    fn task_of(&self, dataset: &str) -> Result<String> {
        match self.file.datasets.get(dataset) {
            Some(spec) => Ok(spec.task.clone()),
            None => self.state.datasets.get(dataset).cloned().with_context(|| {
                format!("dataset '{dataset}' is neither in the store's examples nor in the file's [datasets]")
            }),
        }
    }

    /// The cell's run, trained, predicted and scored on test (skipped
    /// where it is already).
    fn scored(&mut self, dataset: &str, arm: &Arm, seed: u64) -> Result<String> {
        let task = self.task_of(dataset)?;
        let run_id = format!("{}-s{seed}", self.stem(dataset, arm)?);
        if self.state.scored.contains(&run_id) {
            return Ok(run_id);
        }
        if let Some(model) = DownstreamModel::for_task(&task) {
            let backbone = self.trained(&self.file.experiment.backbone.clone(), arm, seed)?;
            self.fitted(dataset, &backbone, model, seed, &run_id)?;
        } else {
            self.trained(dataset, arm, seed)?;
            if !self.state.predicted.contains(&run_id) {
                training::predict::predict(
                    self.store,
                    &training::predict::PredictRequest {
                        run_id: run_id.clone(),
                        splits: vec!["test".into()],
                        device: self.device.clone(),
                        batch_size: 256,
                        progress: training::Progress::Hidden,
                    },
                )?;
                self.state.predicted.insert(run_id.clone());
            }
        }
        let evaluation = self
            .runtime
            .block_on(crate::eval(self.store, &run_id, "test"))?;
        let headline = crate::quickstart::headline(&evaluation);
        println!("{:<12} {run_id:<24} {headline}", "score");
        self.state.scored.insert(run_id.clone());
        Ok(run_id)
    }

    /// The arm trained on `dataset` with `seed`: its run id.
    fn trained(&mut self, dataset: &str, arm: &Arm, seed: u64) -> Result<String> {
        let run_id = format!("{}-s{seed}", self.stem(dataset, arm)?);
        if self.state.runs.contains(&run_id) {
            return Ok(run_id);
        }
        let init = match arm.init {
            _ if arm.starts_from_backbone(dataset) => {
                let backbone = self.file.backbone_of(dataset).to_string();
                Some(self.trained(&backbone, arm, seed)?)
            }
            Init::Scratch => None,
            Init::Mlm(rate) => Some(self.pretrained(arm, rate)?),
            Init::Chromatin => {
                Some(self.trained(&self.file.experiment.backbone.clone(), &arm.scratch(), seed)?)
            }
        };
        self.remove_leftover(&run_id)?;
        let (origin, text) = self.config_text(&arm.model.to_string(), dataset);
        let mut config =
            self.capped(ConfigFile::parse(text).with_context(|| format!("config {origin}"))?);
        config.train.seed = seed;
        let clock = Instant::now();
        let record = training::train::train(
            self.store,
            training::train::TrainRequest {
                dataset: dataset.to_string(),
                model: arm.model,
                tokenizer: arm.tokenizer,
                positions: arm.positions,
                config,
                device: self.device.clone(),
                init,
                run_id: Some(run_id.clone()),
                progress: training::Progress::on_terminal(training::Progress::Bar),
            },
        )?;
        self.steps.line(
            "train",
            &run_id,
            &format!(
                "{} epochs (kept {}), {:.0} examples/s",
                record.train_loss.len(),
                record.best_epoch,
                record.examples_per_s
            ),
            clock.elapsed(),
        );
        self.state.runs.insert(run_id.clone());
        Ok(run_id)
    }

    /// The MLM pre-training of the arm's Transformer at `rate`: one per
    /// setup, shared by the fine-tunings of every seed.
    fn pretrained(&mut self, arm: &Arm, rate: f64) -> Result<String> {
        let run_id = self.pretrain_id(arm, rate)?;
        if self.state.runs.contains(&run_id) {
            return Ok(run_id);
        }
        self.remove_leftover(&run_id)?;
        let (origin, text) = self.config_text("pretrain", "genome");
        let config =
            self.capped(ConfigFile::parse(text).with_context(|| format!("config {origin}"))?);
        let clock = Instant::now();
        let record = training::pretrain::pretrain(
            self.store,
            &training::pretrain::PretrainRequest {
                tokenizer: arm.tokenizer,
                positions: arm.positions,
                config,
                device: self.device.clone(),
                window: self.file.experiment.pretrain_window,
                mask_rate: rate,
                valid_fraction: 0.05,
                run_id: Some(run_id.clone()),
                progress: training::Progress::on_terminal(training::Progress::Bar),
            },
        )?;
        self.steps.line(
            "pretrain",
            &run_id,
            &format!(
                "{} epochs, mask rate {rate}, valid loss {:.4}",
                record.train_loss.len(),
                record.valid_loss.last().copied().unwrap_or(f32::NAN)
            ),
            clock.elapsed(),
        );
        self.state.runs.insert(run_id.clone());
        Ok(run_id)
    }

    /// The downstream model of `dataset` fitted on `backbone`'s embeddings.
    fn fitted(
        &mut self,
        dataset: &str,
        backbone: &str,
        model: DownstreamModel,
        seed: u64,
        run_id: &str,
    ) -> Result<()> {
        if self.state.runs.contains(run_id) {
            return Ok(());
        }
        let table = format!("embeddings_{}", run_id.replace('-', "_"));
        if self.store.has_table(&table) {
            // Left by a killed run: its fit never finished.
            self.store
                .drop_table(&table)
                .with_context(|| format!("cannot remove the leftover table {table}"))?;
        }
        self.remove_leftover(run_id)?;
        let clock = Instant::now();
        let summary = training::embed::embed(
            self.store,
            &training::embed::EmbedRequest {
                run_id: backbone.to_string(),
                dataset: dataset.to_string(),
                table: Some(table.clone()),
                device: self.device.clone(),
                batch_size: 256,
                progress: training::Progress::on_terminal(training::Progress::Bar),
            },
        )?;
        let (origin, text) = self.config_text("downstream", dataset);
        let mut config = FitConfig::parse(text).with_context(|| format!("config {origin}"))?;
        config.forest.seed = seed;
        config.boosted.seed = seed;
        config.upper.seed = seed;
        fit_with(
            self.store,
            dataset,
            model,
            Some(table),
            config,
            Some(run_id.to_string()),
        )?;
        self.steps.line(
            "fit",
            run_id,
            &format!(
                "{model} on {} × {} embeddings of {backbone}",
                summary.rows, summary.dim
            ),
            clock.elapsed(),
        );
        self.state.runs.insert(run_id.to_string());
        Ok(())
    }

    /// A run folder without its `runs` row: a run killed before it ended.
    fn remove_leftover(&self, run_id: &str) -> Result<()> {
        let dir = training::runs::run_dir(self.store, run_id);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .with_context(|| format!("cannot remove the unfinished run {}", dir.display()))?;
        }
        Ok(())
    }

    /// Where the config of `name` (a model, `pretrain` or `downstream`) on
    /// `dataset` comes from, and its text: the file's `"NAME@DATASET"`, else
    /// its `NAME`, else the quickstart's (the paper's for the CNN+LSTM).
    fn config_text(&self, name: &str, dataset: &str) -> (String, &str) {
        let given = self
            .configs
            .get(&format!("{name}@{dataset}"))
            .or_else(|| self.configs.get(name));
        if let Some((path, text)) = given {
            return (path.clone(), text);
        }
        let text = match name {
            "transformer" | "pretrain" => QUICKSTART_TRANSFORMER,
            "downstream" => QUICKSTART_DOWNSTREAM,
            "cnn" => QUICKSTART_CNN,
            // No quickstart config: the paper's sizes and loop.
            _ => "",
        };
        (format!("the quickstart's {name} config"), text)
    }

    /// The table of `spec`: a row per dataset and metric with any value.
    fn result_table(
        &self,
        spec: &plan::TableSpec,
        arms: &[Arm],
        cells: &[Vec<Vec<String>>],
        metrics: &BTreeMap<(String, String), f64>,
    ) -> Result<ResultTable> {
        let mut rows = Vec::new();
        for (dataset, runs) in spec.datasets.iter().zip(cells) {
            let task = self.task_of(dataset)?;
            let names: Vec<String> = if spec.metrics.is_empty() {
                Task::named(&task)
                    .map(|t| vec![t.headline_metric().0.to_string()])
                    .unwrap_or_default()
            } else {
                spec.metrics.clone()
            };
            for metric in names {
                let cells: Vec<ResultCell> = arms
                    .iter()
                    .zip(runs)
                    .map(|(arm, runs)| ResultCell {
                        runs: runs.clone(),
                        paper: spec
                            .paper
                            .iter()
                            .find(|p| &p.dataset == dataset && p.arm == arm.name)
                            .and_then(|p| p.values.get(&metric).copied()),
                    })
                    .collect();
                let any = cells.iter().any(|c| {
                    c.paper.is_some()
                        || c.runs
                            .iter()
                            .any(|r| metrics.contains_key(&(r.clone(), metric.clone())))
                });
                if any {
                    rows.push(ResultRow {
                        dataset: dataset.clone(),
                        metric,
                        cells,
                    });
                }
            }
        }
        Ok(ResultTable {
            title: spec.title.clone(),
            columns: arms.iter().map(|a| a.name.clone()).collect(),
            rows,
        })
    }
}

impl Runner<'_> {
    /// `config` with the smoke run's step cap, if any.
    fn capped(&self, mut config: ConfigFile) -> ConfigFile {
        if let Some(n) = self.max_steps {
            config.train.max_steps = match config.train.max_steps {
                0 => n,
                m => m.min(n),
            };
        }
        config
    }
}
