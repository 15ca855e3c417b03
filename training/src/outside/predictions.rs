//! An outside model's predictions into `predictions`, and its row in
//! `runs` (kind `outside`, the model's name and config as given), so that
//! `eval` scores it with the task's SQL as it scores dnabench's runs.
//!
//! Outputs are what `dnabench predict` writes for the task: a logit per
//! output for promoter, chromatin and causal SNPs (scores whose order is
//! what counts; the SQL applies the sigmoid where it needs a probability),
//! values on the targets' scale for methylation, expression and MPRA.

use std::collections::HashMap;
use std::time::SystemTime;

use anyhow::{bail, Context, Result};
use arrow::array::ArrayRef;
use dnabench_engine::table_writer::TableWriter;
use dnabench_engine::Store;

use super::{check_run_id, first_not_finite, rows_of, ExampleCatalog, SplitCoverage, Vectors};
use crate::heads::Head;
use crate::predict::prediction_rows;
use crate::runs::{self, RunRow};
use crate::train::DatasetInfo;

/// The splits an outside model predicts by default: valid (where the
/// promoter task picks its F1 threshold) and test.
pub const PREDICTED_SPLITS: [&str; 2] = ["valid", "test"];

/// What a committed import wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct PredictionSummary {
    pub run_id: String,
    pub dataset: String,
    pub task: String,
    pub rows: usize,
    pub coverage: Vec<SplitCoverage>,
}

/// An import under way; see the module's text.
pub struct PredictionImport {
    store: Store,
    run_id: String,
    task: String,
    outputs: usize,
    data_version: u64,
    catalog: ExampleCatalog,
    writer: TableWriter,
    started: SystemTime,
    rt: tokio::runtime::Runtime,
}

impl PredictionImport {
    /// Starts run `run_id`'s predictions of `dataset` for `splits` (valid
    /// and test when empty). Nothing is written until [`commit`].
    ///
    /// [`commit`]: PredictionImport::commit
    pub fn start(
        store: &Store,
        run_id: &str,
        dataset: &str,
        splits: &[String],
    ) -> Result<PredictionImport> {
        check_run_id(run_id)?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        rt.block_on(refuse_taken(store, run_id))?;
        let info = rt.block_on(DatasetInfo::read(store, dataset))?;
        let head = Head::for_task(&info.task, info.tracks.clone(), info.samples, false)?;
        let splits: Vec<String> = if splits.is_empty() {
            PREDICTED_SPLITS.iter().map(|s| s.to_string()).collect()
        } else {
            splits.to_vec()
        };
        let catalog = rt.block_on(ExampleCatalog::read(store, dataset, &splits))?;
        let writer = store.table_writer(
            "predictions",
            dnabench_schemas::predictions_schema(),
            HashMap::new(),
        )?;
        Ok(PredictionImport {
            store: store.clone(),
            run_id: run_id.to_string(),
            task: info.task,
            outputs: head.outputs(),
            data_version: info.version,
            catalog,
            writer,
            started: SystemTime::now(),
            rt,
        })
    }

    /// The width of an output vector the task asks for.
    pub fn outputs(&self) -> usize {
        self.outputs
    }

    pub fn task(&self) -> &str {
        &self.task
    }

    /// Takes a batch: `ids` (text) and `outputs` (a number, a list or a
    /// fixed-size list a row), all checked before any is taken. `row_of(i)`
    /// names the batch's row i in messages (`preds.csv row 12`).
    pub fn write(
        &mut self,
        ids: &ArrayRef,
        outputs: &ArrayRef,
        row_of: &dyn Fn(usize) -> String,
    ) -> Result<usize> {
        let (ids, vectors) = rows_of(ids, outputs, "output", row_of)?;
        self.write_rows(ids, vectors, row_of)
    }

    /// [`PredictionImport::write`] of rows already read.
    pub fn write_rows(
        &mut self,
        ids: Vec<String>,
        vectors: Vectors,
        row_of: &dyn Fn(usize) -> String,
    ) -> Result<usize> {
        if !ids.is_empty() && vectors.width != self.outputs {
            bail!(
                "{}: the output has {} values; the '{}' task's model gives {} an example{}",
                row_of(0),
                vectors.width,
                self.task,
                self.outputs,
                if self.task == "chromatin" {
                    " (one a track of the dataset, in the loader's order)"
                } else {
                    ""
                }
            );
        }
        if let Some((row, column, value)) = first_not_finite(&vectors) {
            bail!(
                "{} (example '{}'): output {column} is {value}; outputs must be finite",
                row_of(row),
                ids[row]
            );
        }
        let splits = self.rt.block_on(self.catalog.check(&ids, row_of))?;
        let rows: Vec<(String, String, Vec<f32>)> = ids
            .iter()
            .zip(&splits)
            .enumerate()
            .map(|(i, (id, &s))| {
                (
                    id.clone(),
                    self.catalog.split_name(s).to_string(),
                    vectors.values[i * self.outputs..(i + 1) * self.outputs].to_vec(),
                )
            })
            .collect();
        let batch = prediction_rows(&self.run_id, self.catalog.dataset(), &rows)?;
        self.writer.write(batch)?;
        self.catalog.take(&ids);
        Ok(ids.len())
    }

    /// How much of each split the rows so far cover.
    pub fn coverage(&self) -> Vec<SplitCoverage> {
        self.catalog.coverage()
    }

    /// Commits the predictions, then the run's row in `runs`: `model` is
    /// the model's name as a leaderboard shows it, `config` its settings as
    /// JSON (a `seed` in it groups runs of one setup on the leaderboard).
    pub fn commit(self, model: &str, config: Option<&str>) -> Result<PredictionSummary> {
        let config = match config {
            Some(text) => {
                serde_json::from_str::<serde_json::Value>(text)
                    .with_context(|| format!("the config of run '{}' is not JSON", self.run_id))?;
                text.to_string()
            }
            None => "{}".to_string(),
        };
        let rows = self.writer.rows();
        if rows == 0 {
            bail!(
                "run '{}' has no predictions to commit; write some first",
                self.run_id
            );
        }
        let coverage = self.catalog.coverage();
        self.writer.finish().context("writing predictions")?;
        let row = RunRow {
            run_id: self.run_id.clone(),
            kind: "outside".into(),
            task: self.task.clone(),
            dataset: self.catalog.dataset().to_string(),
            model: if model.is_empty() {
                self.run_id.clone()
            } else {
                model.to_string()
            },
            tokenizer: "outside".into(),
            config,
            data_table: "examples".into(),
            data_version: self.data_version,
            init: None,
            device: "outside".into(),
            parameters: 0,
            started: self.started,
            finished: SystemTime::now(),
            best_epoch: 0,
            train_loss: Vec::new(),
            valid_loss: Vec::new(),
            examples_per_s: 0.0,
            checkpoint: String::new(),
        };
        self.rt.block_on(runs::write_row(&self.store, &row))?;
        Ok(PredictionSummary {
            run_id: self.run_id,
            dataset: row.dataset,
            task: self.task,
            rows,
            coverage,
        })
    }
}

/// A run id is used once. Predictions of it with no `runs` row are what a
/// commit interrupted between its two writes left: removed, so the import
/// can be made again.
async fn refuse_taken(store: &Store, run_id: &str) -> Result<()> {
    let filter = format!("run_id = '{}'", run_id.replace('\'', "''"));
    if store.has_table("runs") {
        let runs = store.dataset("runs").await?;
        if runs.count_rows(Some(filter.clone())).await? > 0 {
            bail!("run '{run_id}' exists already in runs; give the import another run id");
        }
    }
    if store.has_table("predictions") {
        let mut predictions = store.dataset("predictions").await?;
        let left = predictions.count_rows(Some(filter.clone())).await?;
        if left > 0 {
            eprintln!(
                "note: removing {left} predictions of run '{run_id}' that an interrupted import left without a runs row"
            );
            predictions.delete(&filter).await?;
        }
    }
    Ok(())
}
