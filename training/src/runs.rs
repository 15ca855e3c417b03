//! Runs: each training or pre-training run has a folder in the store
//! (`runs/RUN_ID/` with `model.safetensors`, `config.json` and, for BPE,
//! `bpe.json`) and one row in the `runs` table, written when it finishes.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use anyhow::{bail, Context, Result};
use arrow::array::{
    ArrayRef, AsArray, Float32Builder, Float64Array, Int32Array, Int64Array, ListBuilder,
    RecordBatch, StringArray, TimestampMicrosecondArray, UInt64Array,
};
use dnabench_engine::Store;
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};

use crate::config::{ModelKind, TokenizerKind, TrainConfig};
use crate::heads::Head;
use crate::network::NetworkConfig;

/// Everything needed to rebuild a run's model and read its data again:
/// written as `config.json` and into `runs.config`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    pub run_id: String,
    /// `train` or `pretrain`.
    pub kind: String,
    pub task: String,
    pub dataset: String,
    pub model: ModelKind,
    pub tokenizer: TokenizerKind,
    pub network: NetworkConfig,
    /// None for pre-training, whose head predicts masked tokens.
    pub head: Option<Head>,
    /// Whether the model reads `alt_seq` beside `seq` (variant tasks).
    pub pair: bool,
    /// Sequence length in bp.
    pub length: usize,
    pub train: TrainConfig,
    /// The checkpoint this run started from.
    pub init: Option<String>,
}

/// What a finished run measured.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    pub config: RunConfig,
    pub data_table: String,
    pub data_version: u64,
    pub device: String,
    pub parameters: usize,
    pub started: SystemTime,
    pub finished: SystemTime,
    /// The epoch whose weights the checkpoint holds (1-based).
    pub best_epoch: usize,
    pub train_loss: Vec<f32>,
    pub valid_loss: Vec<f32>,
    pub examples_per_s: f64,
}

/// The run's folder: in the store, or on an object store its local copy
/// (made by [`fetch_run`] for reading, by [`start_run`] for a new run).
pub fn run_dir(store: &Store, run_id: &str) -> PathBuf {
    store.folder(&run_folder(run_id))
}

fn run_folder(run_id: &str) -> String {
    format!("runs/{run_id}")
}

/// The folder of a finished run, downloaded first when the store is on an
/// object store and its local copy is missing.
pub fn fetch_run(store: &Store, run_id: &str) -> Result<PathBuf> {
    store.fetch_folder(&run_folder(run_id)).with_context(|| {
        format!(
            "cannot fetch run '{run_id}' from {}",
            store.root().display()
        )
    })
}

pub fn checkpoint_path(store: &Store, run_id: &str) -> PathBuf {
    run_dir(store, run_id).join("model.safetensors")
}

/// A new run id: `DATASET-MODEL-N`, N one more than the runs so far with
/// that prefix (or folders left by runs that did not finish).
pub fn new_run_id(store: &Store, dataset: &str, model: &str) -> String {
    let prefix = format!("{dataset}-{model}-");
    let mut used: Vec<String> = store.list_folder("runs").unwrap_or_default();
    if !store.is_local() {
        // Local copies of runs whose upload failed count as used too.
        used.extend(
            std::fs::read_dir(store.folder("runs"))
                .into_iter()
                .flatten()
                .flatten()
                .filter_map(|e| e.file_name().to_str().map(str::to_string)),
        );
    }
    let last = used
        .iter()
        .filter_map(|name| name.strip_prefix(&prefix)?.parse::<usize>().ok())
        .max()
        .unwrap_or(0);
    format!("{prefix}{}", last + 1)
}

/// A run folder being written: removed on drop unless the run finished,
/// so a failed run leaves nothing behind.
pub struct RunDirGuard {
    store: Store,
    run_id: String,
    path: PathBuf,
    keep: bool,
}

impl RunDirGuard {
    pub fn create(store: &Store, run_id: &str) -> Result<RunDirGuard> {
        let path = run_dir(store, run_id);
        if path.exists()
            || (!store.is_local() && !store.list_folder(&run_folder(run_id))?.is_empty())
        {
            bail!("run folder {} exists already", path.display());
        }
        std::fs::create_dir_all(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        Ok(RunDirGuard {
            store: store.clone(),
            run_id: run_id.to_string(),
            path,
            keep: false,
        })
    }

    /// Puts the finished folder where readers find it: a no-op in a local
    /// store, an upload on an object store. Call it before the `runs` row
    /// is written, so that a row never names a folder that is not there.
    pub fn publish(&self) -> Result<()> {
        self.store
            .publish_folder(&run_folder(&self.run_id))
            .with_context(|| {
                format!(
                    "cannot upload run '{}' to {}",
                    self.run_id,
                    self.store.root().display()
                )
            })
    }

    pub fn keep(mut self) {
        self.keep = true;
    }
}

impl Drop for RunDirGuard {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// Creates the run's folder with its `config.json` (and `bpe.json`), written
/// before any checkpoint so that a run folder always says what it is.
pub fn start_run(
    store: &Store,
    config: &RunConfig,
    bpe: Option<&crate::tokenizers::BpeTokenizer>,
) -> Result<RunDirGuard> {
    let guard = RunDirGuard::create(store, &config.run_id)?;
    let dir = &guard.path;
    std::fs::write(
        dir.join("config.json"),
        serde_json::to_string_pretty(config)?,
    )?;
    if let Some(bpe) = bpe {
        bpe.save(&dir.join("bpe.json"))?;
    }
    Ok(guard)
}

fn micros(t: SystemTime) -> i64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

fn losses(values: &[f32]) -> ArrayRef {
    let mut b = ListBuilder::new(Float32Builder::new());
    b.values().append_slice(values);
    b.append(true);
    Arc::new(b.finish())
}

/// One row of `runs`, as written: a trained run's record, or a downstream
/// model's.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRow {
    pub run_id: String,
    pub kind: String,
    pub task: String,
    pub dataset: String,
    pub model: String,
    pub tokenizer: String,
    /// The run's configuration as JSON.
    pub config: String,
    pub data_table: String,
    pub data_version: u64,
    pub init: Option<String>,
    pub device: String,
    pub parameters: usize,
    pub started: SystemTime,
    pub finished: SystemTime,
    pub best_epoch: usize,
    pub train_loss: Vec<f32>,
    pub valid_loss: Vec<f32>,
    pub examples_per_s: f64,
    /// Relative to the store; empty when the model has no checkpoint.
    pub checkpoint: String,
}

impl RunRecord {
    pub fn row(&self) -> Result<RunRow> {
        let c = &self.config;
        Ok(RunRow {
            run_id: c.run_id.clone(),
            kind: c.kind.clone(),
            task: c.task.clone(),
            dataset: c.dataset.clone(),
            model: c.model.to_string(),
            tokenizer: c.tokenizer.to_string(),
            config: serde_json::to_string(c)?,
            data_table: self.data_table.clone(),
            data_version: self.data_version,
            init: c.init.clone(),
            device: self.device.clone(),
            parameters: self.parameters,
            started: self.started,
            finished: self.finished,
            best_epoch: self.best_epoch,
            train_loss: self.train_loss.clone(),
            valid_loss: self.valid_loss.clone(),
            examples_per_s: self.examples_per_s,
            checkpoint: Path::new("runs")
                .join(&c.run_id)
                .join("model.safetensors")
                .to_string_lossy()
                .into_owned(),
        })
    }
}

/// Appends `record` to `runs` in one commit.
pub async fn write_run(store: &Store, record: &RunRecord) -> Result<()> {
    write_row(store, &record.row()?).await
}

/// Appends `row` to `runs` in one commit.
pub async fn write_row(store: &Store, row: &RunRow) -> Result<()> {
    let utc = |t: SystemTime| {
        Arc::new(TimestampMicrosecondArray::from(vec![micros(t)]).with_timezone("UTC")) as ArrayRef
    };
    let text = |s: &str| Arc::new(StringArray::from(vec![s])) as ArrayRef;
    let columns: Vec<ArrayRef> = vec![
        text(&row.run_id),
        text(&row.kind),
        text(&row.task),
        text(&row.dataset),
        text(&row.model),
        text(&row.tokenizer),
        text(&row.config),
        text(&row.data_table),
        Arc::new(UInt64Array::from(vec![row.data_version])),
        Arc::new(StringArray::from(vec![row.init.clone()])),
        text(&row.device),
        Arc::new(Int64Array::from(vec![row.parameters as i64])),
        utc(row.started),
        utc(row.finished),
        Arc::new(Int32Array::from(vec![row.train_loss.len() as i32])),
        Arc::new(Int32Array::from(vec![row.best_epoch as i32])),
        losses(&row.train_loss),
        losses(&row.valid_loss),
        Arc::new(Float64Array::from(vec![row.examples_per_s])),
        text(&row.checkpoint),
    ];
    let schema = dnabench_schemas::runs_schema();
    let batch = RecordBatch::try_new(schema.clone(), columns)?;
    store.append("runs", schema, vec![batch]).await?;
    Ok(())
}

/// The config of run `run_id`, from the `runs` table.
pub async fn read_run(store: &Store, run_id: &str) -> Result<RunConfig> {
    if !store.has_table("runs") {
        bail!(
            "store {} has no runs yet; train one with 'dnabench train'",
            store.root().display()
        );
    }
    let ds = store.dataset("runs").await?;
    let filter = format!("run_id = '{}'", run_id.replace('\'', "''"));
    let mut scan = ds.scan();
    scan.filter(&filter)?.project(&["config", "kind"])?;
    let batches: Vec<RecordBatch> = scan.try_into_stream().await?.try_collect().await?;
    let Some((json, kind)) = batches.iter().find(|b| b.num_rows() > 0).map(|b| {
        (
            b.column(0).as_string::<i32>().value(0).to_string(),
            b.column(1).as_string::<i32>().value(0).to_string(),
        )
    }) else {
        let mut scan = ds.scan();
        scan.project(&["run_id"])?;
        let all: Vec<RecordBatch> = scan.try_into_stream().await?.try_collect().await?;
        let ids: Vec<String> = all
            .iter()
            .flat_map(|b| {
                let c = b.column(0).as_string::<i32>();
                (0..b.num_rows())
                    .map(|i| c.value(i).to_string())
                    .collect::<Vec<_>>()
            })
            .collect();
        bail!(
            "no run '{run_id}' in runs; the runs are: {}",
            ids.join(", ")
        );
    };
    if kind == "outside" || kind == "downstream" {
        bail!(
            "run '{run_id}' is a{} run: it has predictions but no dnabench network to load",
            if kind == "outside" {
                "n outside model's (its predictions were imported)"
            } else {
                " downstream model's"
            }
        );
    }
    serde_json::from_str(&json).with_context(|| format!("runs.config of run '{run_id}'"))
}
