//! Downstream models on a backbone's embeddings, as the paper solves its
//! last three tasks: trees for causal SNPs (a random forest per tissue) and
//! MPRA (gradient-boosted trees), an upper Transformer over the 200 segment
//! embeddings of a 40 kb window for expression.
//!
//! `dnabench fit --task T --model forest|boosted|upper` reads the task's
//! embeddings table joined with `examples`, fits on the train split, and
//! writes `predictions` for valid and test in one commit plus a `runs` row,
//! so that `eval` and `report` score it like any trained run.

pub mod boosted;
pub mod forest;
pub mod upper;

use std::collections::BTreeMap;
use std::time::SystemTime;

use anyhow::{bail, Context, Result};
use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Float32Type};
use dnabench_engine::{open_session, sql::run_sql, Store};
use serde::{Deserialize, Serialize};

use crate::predict::prediction_rows;
use crate::runs::{self, RunRow};
use crate::similar::TableOrigin;

/// The downstream models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DownstreamModel {
    /// Random forest, one per tissue (causal SNPs).
    Forest,
    /// Gradient-boosted regression trees (MPRA).
    Boosted,
    /// An upper Transformer over segment embeddings (expression).
    Upper,
}

impl DownstreamModel {
    /// The model the paper fits `task` with on a backbone's embeddings
    /// (the task registry's `downstream`), none for a task trained end to end.
    pub fn for_task(task: &str) -> Option<DownstreamModel> {
        let downstream = dnabench_queries::Task::named(task)?.downstream?;
        Some(match downstream {
            dnabench_queries::Downstream::Forest => DownstreamModel::Forest,
            dnabench_queries::Downstream::Boosted => DownstreamModel::Boosted,
            dnabench_queries::Downstream::Upper => DownstreamModel::Upper,
        })
    }
}

impl std::str::FromStr for DownstreamModel {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "forest" => Ok(Self::Forest),
            "boosted" => Ok(Self::Boosted),
            "upper" => Ok(Self::Upper),
            other => Err(format!(
                "unknown downstream model '{other}'; give forest, boosted or upper"
            )),
        }
    }
}

impl std::fmt::Display for DownstreamModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Forest => "forest",
            Self::Boosted => "boosted",
            Self::Upper => "upper",
        })
    }
}

/// The downstream models' settings: a TOML file's `[forest]`, `[boosted]`
/// and `[upper]` sections (`dnabench fit --config`), or the same as JSON
/// (Python's `Store.fit(config=dict)`); a section left out keeps its
/// defaults (the upper Transformer's are the paper's 4 × 512).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FitConfig {
    pub forest: forest::ForestConfig,
    pub boosted: boosted::BoostedConfig,
    pub upper: upper::UpperConfig,
}

impl FitConfig {
    pub fn parse(text: &str) -> Result<FitConfig> {
        Ok(toml::from_str(text)?)
    }

    pub fn parse_json(text: &str) -> Result<FitConfig> {
        Ok(serde_json::from_str(text)?)
    }
}

/// What `dnabench fit` was asked for.
#[derive(Debug, Clone)]
pub struct FitRequest {
    pub task: String,
    /// The embeddings table (default `embeddings_TASK`).
    pub table: String,
    pub model: DownstreamModel,
    pub forest: forest::ForestConfig,
    pub boosted: boosted::BoostedConfig,
    pub upper: upper::UpperConfig,
    pub run_id: Option<String>,
}

/// Embedded examples of one dataset with their targets.
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// The task the dataset was materialized from.
    pub task: String,
    pub ids: Vec<String>,
    pub splits: Vec<String>,
    /// The context column: the tissue of a causal SNP, the MPRA element.
    pub contexts: Vec<Option<String>>,
    pub vectors: Vec<Vec<f32>>,
    /// One row of targets per example: the label, or the per-sample list.
    pub targets: Vec<Vec<Option<f32>>>,
    /// Sequence length of the examples (the longest).
    pub bp: usize,
}

/// What a downstream model gives: an output per predicted row, and for a
/// trained network its losses per epoch and weights.
pub struct Fitted {
    pub outputs: Vec<(usize, Vec<f32>)>,
    pub train_loss: Vec<f32>,
    pub valid_loss: Vec<f32>,
    pub weights: Option<candle_nn::VarMap>,
    /// The epoch whose weights predicted (0 for the trees, which have none).
    pub best_epoch: usize,
}

impl Fitted {
    /// A model that leaves only its predictions (the trees).
    pub fn predictions(outputs: Vec<(usize, Vec<f32>)>) -> Fitted {
        Fitted {
            outputs,
            train_loss: Vec::new(),
            valid_loss: Vec::new(),
            weights: None,
            best_epoch: 0,
        }
    }
}

impl Table {
    pub fn rows_of(&self, split: &str) -> Vec<usize> {
        (0..self.ids.len())
            .filter(|&i| self.splits[i] == split)
            .collect()
    }
}

/// The embeddings of `table` joined with the targets of their examples,
/// with the dataset and backbone run they came from.
pub async fn read_table(store: &Store, table: &str) -> Result<(TableOrigin, Table)> {
    if !store.has_table(table) {
        bail!("no table '{table}' in the store; run dnabench embed first");
    }
    let ctx = open_session(store).await?;
    let sql = format!(
        "SELECT m.example_id, m.split, m.dataset, e.context, m.vector, \
                CASE WHEN e.targets IS NULL THEN make_array(e.label) ELSE e.targets END AS targets, \
                e.\"end\" - e.start AS bp, m.run_id, e.task \
         FROM \"{table}\" m JOIN examples e ON e.dataset = m.dataset AND e.example_id = m.example_id \
         ORDER BY m.example_id"
    );
    let result = run_sql(&ctx, "fit", &sql, &BTreeMap::new()).await?;
    let mut out = Table::default();
    let mut origin = None;
    for b in &result.batches {
        let ids = utf8(b, 0)?;
        let splits = utf8(b, 1)?;
        let datasets = utf8(b, 2)?;
        let contexts = utf8(b, 3)?;
        let vectors = b.column(4).as_fixed_size_list();
        let targets = b.column(5).as_list::<i32>();
        let bp = b.column(6).as_primitive::<arrow::datatypes::Int64Type>();
        let run_ids = utf8(b, 7)?;
        let tasks = utf8(b, 8)?;
        for i in 0..b.num_rows() {
            out.bp = out.bp.max(bp.value(i) as usize);
            if out.task.is_empty() {
                out.task = tasks[i].clone().unwrap_or_default();
            }
            origin.get_or_insert_with(|| TableOrigin {
                dataset: datasets[i].clone().unwrap_or_default(),
                run_id: run_ids[i].clone().unwrap_or_default(),
            });
            out.ids.push(ids[i].clone().context("NULL example_id")?);
            out.splits.push(splits[i].clone().context("NULL split")?);
            out.contexts.push(contexts[i].clone());
            let v = vectors.value(i);
            out.vectors
                .push(v.as_primitive::<Float32Type>().values().to_vec());
            let t = targets.value(i);
            let t = t.as_primitive::<Float32Type>();
            out.targets.push(
                (0..t.len())
                    .map(|j| t.is_valid(j).then(|| t.value(j)))
                    .collect(),
            );
        }
    }
    let Some(origin) = origin else {
        bail!("table '{table}' has no rows whose example is in examples");
    };
    Ok((origin, out))
}

/// A string column as owned options (Utf8 or Utf8View).
fn utf8(b: &RecordBatch, i: usize) -> Result<Vec<Option<String>>> {
    let c = b.column(i);
    let c = arrow::compute::cast(c, &DataType::Utf8)?;
    let s = c.as_string::<i32>();
    Ok((0..s.len())
        .map(|j| s.is_valid(j).then(|| s.value(j).to_string()))
        .collect())
}

/// Fits the downstream model and writes its predictions and run.
pub fn fit(store: &Store, req: &FitRequest) -> Result<RunRow> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let started = SystemTime::now();
    let (origin, table) = rt.block_on(read_table(store, &req.table))?;
    let TableOrigin {
        dataset,
        run_id: backbone,
    } = origin;
    if dataset != req.task {
        bail!(
            "table '{}' holds embeddings of dataset '{dataset}', not '{}'",
            req.table,
            req.task
        );
    }
    let model = req.model.to_string();
    let run_id = req
        .run_id
        .clone()
        .unwrap_or_else(|| runs::new_run_id(store, &dataset, &model));
    let dir = runs::run_dir(store, &run_id);
    let (config_json, fitted) = match req.model {
        DownstreamModel::Forest => (
            serde_json::to_string(&req.forest)?,
            Fitted::predictions(forest::fit_per_context(&table, &req.forest)?),
        ),
        DownstreamModel::Boosted => (
            serde_json::to_string(&req.boosted)?,
            Fitted::predictions(boosted::fit_predict(&table, &req.boosted)?),
        ),
        DownstreamModel::Upper => (
            serde_json::to_string(&req.upper)?,
            upper::fit_predict(&table, &req.upper)?,
        ),
    };
    let guard = runs::RunDirGuard::create(store, &run_id)?;
    std::fs::write(dir.join("config.json"), &config_json)?;
    // The trees live only in their predictions; the upper Transformer's
    // weights are kept as any trained run's.
    let checkpoint = match &fitted.weights {
        Some(map) => {
            crate::checkpoint::save(map, &dir.join("model.safetensors"))?;
            format!("runs/{run_id}/model.safetensors")
        }
        None => String::new(),
    };
    let mut rows = Vec::new();
    for (i, out) in fitted.outputs {
        rows.push((table.ids[i].clone(), table.splits[i].clone(), out));
    }
    let batch = prediction_rows(&run_id, &dataset, &rows)?;
    let schema = dnabench_schemas::predictions_schema();
    rt.block_on(store.append("predictions", schema, vec![batch]))
        .context("writing predictions")?;
    let row = RunRow {
        run_id: run_id.clone(),
        kind: "downstream".into(),
        // A dataset variant (expression_10kb) is scored by its task's query.
        task: table.task.clone(),
        dataset: dataset.clone(),
        model,
        tokenizer: "embeddings".into(),
        config: config_json,
        data_table: req.table.clone(),
        data_version: 0,
        init: Some(backbone),
        device: "cpu".into(),
        parameters: 0,
        started,
        finished: SystemTime::now(),
        best_epoch: fitted.best_epoch,
        train_loss: fitted.train_loss,
        valid_loss: fitted.valid_loss,
        examples_per_s: 0.0,
        checkpoint,
    };
    guard.publish()?;
    rt.block_on(runs::write_row(store, &row))?;
    guard.keep();
    Ok(row)
}

/// Rows of `table` in the splits a downstream model predicts.
pub(crate) fn predicted_rows(table: &Table) -> Vec<usize> {
    (0..table.ids.len())
        .filter(|&i| table.splits[i] == "valid" || table.splits[i] == "test")
        .collect()
}

/// The first target of each row, when present (a label).
pub(crate) fn first_target(table: &Table, i: usize) -> Option<f32> {
    table.targets[i].first().copied().flatten()
}
