//! `dnabench train`: fits a model to one materialized dataset of
//! `examples`, validating each epoch, keeping the best checkpoint and
//! stopping early; the run's config and losses go to `runs`.

use std::time::SystemTime;

use anyhow::{bail, Context, Result};
use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::Int64Type;
use candle_core::{DType, Device, Tensor};
use candle_nn::VarMap;
use dnabench_engine::Store;
use futures::TryStreamExt;

use crate::checkpoint;
use crate::config::{ConfigFile, ModelKind, TokenizerKind};
use crate::epochs::{parameter_count, EpochLoss, Epochs};
use crate::heads::Head;
use crate::loader::{Loader, LoaderConfig};
use crate::models::Positions;
use crate::network::{Encoder, Network, NetworkConfig};
use crate::optim::Optim;
use crate::runs::{self, RunConfig, RunRecord};
use crate::tokenizers::{BpeConfig, BpeTokenizer};

/// What `dnabench train` was asked for.
#[derive(Debug, Clone)]
pub struct TrainRequest {
    /// A dataset of `examples` (a task's name unless materialized with `--name`).
    pub dataset: String,
    pub model: ModelKind,
    pub tokenizer: TokenizerKind,
    pub positions: Positions,
    pub config: ConfigFile,
    pub device: Device,
    /// A run id or a checkpoint file to start from (pre-training).
    pub init: Option<String>,
    pub run_id: Option<String>,
    pub progress: Progress,
}

/// The dataset as training needs to know it.
#[derive(Debug)]
pub struct DatasetInfo {
    pub task: String,
    pub length: usize,
    /// Track ids with a positive example, sorted (chromatin).
    pub tracks: Vec<i32>,
    /// Values per example in `targets`.
    pub samples: usize,
    pub version: u64,
}

impl DatasetInfo {
    pub async fn read(store: &Store, dataset: &str) -> Result<DatasetInfo> {
        let ds = store
            .dataset("examples")
            .await
            .context("no examples to train on; run 'dnabench materialize' first")?;
        let filter = format!("dataset = '{}'", dataset.replace('\'', "''"));
        let mut scan = ds.scan();
        scan.filter(&filter)?
            .project(&["task", "start", "end", "targets"])?
            .limit(Some(1), None)?;
        let first: Vec<RecordBatch> = scan.try_into_stream().await?.try_collect().await?;
        let Some(first) = first.iter().find(|b| b.num_rows() > 0) else {
            bail!("examples has no dataset '{dataset}'; see 'dnabench tasks' for what is materialized");
        };
        let task = first.column(0).as_string::<i32>().value(0).to_string();
        let (start, end) = (
            first.column(1).as_primitive::<Int64Type>().value(0),
            first.column(2).as_primitive::<Int64Type>().value(0),
        );
        let length = (end - start).max(0) as usize;
        let targets = first.column(3).as_list::<i32>();
        let samples = if targets.is_null(0) {
            0
        } else {
            targets.value(0).len()
        };
        let tracks = if task == "chromatin" {
            crate::dataset_tracks::positive_tracks(store, &ds, dataset, &filter).await?
        } else {
            Vec::new()
        };
        Ok(DatasetInfo {
            task,
            length,
            tracks,
            samples,
            version: ds.version_id(),
        })
    }
}

/// The `seq` (and `alt_seq`) of a batch as byte strings, reference rows
/// first then alternative ones.
pub fn batch_sequences(batch: &RecordBatch, pair: bool) -> Result<Vec<&[u8]>> {
    let mut seqs = Vec::with_capacity(batch.num_rows() * (1 + usize::from(pair)));
    let names: &[&str] = if pair { &["seq", "alt_seq"] } else { &["seq"] };
    for name in names {
        let column = batch
            .column_by_name(name)
            .with_context(|| format!("batch has no '{name}' column"))?
            .as_string::<i32>();
        for i in 0..batch.num_rows() {
            if column.is_null(i) {
                bail!("example {i} of the batch has no {name}");
            }
            seqs.push(column.value(i).as_bytes());
        }
    }
    Ok(seqs)
}

/// A model, its tokenizer, and how its output is read.
pub struct Predictor {
    pub network: Network,
    pub encoder: Encoder,
    pub pair: bool,
    pub device: Device,
}

impl Predictor {
    /// `(batch, outputs)`: the model's output, or `f(alt) − f(ref)` for
    /// variant tasks (both read in one forward pass).
    pub fn outputs(&self, batch: &RecordBatch, train: bool) -> Result<Tensor> {
        let seqs = batch_sequences(batch, self.pair)?;
        let x = self.encoder.encode(&seqs, &self.device)?;
        let out = self.network.forward(&x, train)?;
        if !self.pair {
            return Ok(out);
        }
        let rows = batch.num_rows();
        Ok((out.narrow(0, rows, rows)? - out.narrow(0, 0, rows)?)?)
    }
}

/// The BPE vocabulary of a run: the starting run's, or learned from the
/// store's genome.
pub(crate) async fn bpe_for_run(
    store: &Store,
    init: Option<&std::path::Path>,
    vocab_size: usize,
) -> Result<BpeTokenizer> {
    if let Some(dir) = init.and_then(|p| p.parent()) {
        let path = dir.join("bpe.json");
        if path.exists() {
            return BpeTokenizer::load(&path).map_err(anyhow::Error::msg);
        }
    }
    let genome = dnabench_engine::genome::Genome::load(store)
        .await?
        .context("the bpe tokenizer is learned from the genome, and the store has none")?;
    let cfg = BpeConfig {
        vocab_size,
        ..BpeConfig::default()
    };
    let bases: Vec<Vec<u8>> = genome.chroms().iter().map(|c| c.seq.to_bases()).collect();
    BpeTokenizer::train(bases.iter().map(|b| &b[..]), &cfg).map_err(anyhow::Error::msg)
}

/// The checkpoint file `init` names: a run id of the store or a path.
pub(crate) async fn init_checkpoint(store: &Store, init: &str) -> Result<std::path::PathBuf> {
    let path = std::path::PathBuf::from(init);
    if path.is_file() {
        return Ok(path);
    }
    runs::read_run(store, init).await?;
    runs::fetch_run(store, init)?;
    let path = runs::checkpoint_path(store, init);
    if !path.is_file() {
        bail!("run '{init}' has no checkpoint at {}", path.display());
    }
    Ok(path)
}

/// What a long step (train, pretrain, predict, embed) shows on standard
/// error while it works.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Progress {
    /// Nothing.
    #[default]
    Hidden,
    /// A bar of batches.
    Bar,
    /// A bar, and a line per epoch with its losses.
    Epochs,
}

impl Progress {
    /// `wanted` where standard error is a terminal, else nothing: a log
    /// file gets the command's result lines only.
    pub fn on_terminal(wanted: Progress) -> Progress {
        if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            wanted
        } else {
            Progress::Hidden
        }
    }
}

pub(crate) fn progress_bar(show: Progress, total: u64) -> indicatif::ProgressBar {
    if show == Progress::Hidden {
        return indicatif::ProgressBar::hidden();
    }
    let style = indicatif::ProgressStyle::with_template(
        "{prefix} {wide_bar} {pos}/{len} batches {msg} [{elapsed_precise}, eta {eta}]",
    )
    .expect("a valid progress template");
    indicatif::ProgressBar::new(total).with_style(style)
}

pub(crate) fn device_name(device: &Device) -> String {
    match device {
        Device::Cpu => "cpu".to_string(),
        Device::Cuda(_) => "cuda".to_string(),
        Device::Metal(_) => "metal".to_string(),
    }
}

/// Mean loss over one pass of `loader`, without dropout.
fn evaluate(predictor: &Predictor, head: &Head, loader: &Loader) -> Result<f32> {
    let (mut total, mut count) = (0f64, 0usize);
    for batch in loader.epoch(0) {
        let batch = batch?;
        let out = predictor.outputs(&batch, false)?;
        let (y, mask) = head.targets(&batch, &predictor.device)?;
        let loss = head.loss(&out, &y, &mask)?.to_scalar::<f32>()?;
        total += f64::from(loss) * batch.num_rows() as f64;
        count += batch.num_rows();
    }
    Ok((total / count.max(1) as f64) as f32)
}

/// Trains, writes the best checkpoint and the `runs` row; returns the row.
pub fn train(store: &Store, req: TrainRequest) -> Result<RunRecord> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let started = SystemTime::now();
    let info = rt.block_on(DatasetInfo::read(store, &req.dataset))?;
    let cfg = &req.config.train;
    let head = Head::for_task(&info.task, info.tracks.clone(), info.samples, cfg.focal)?
        .with_regression_loss(cfg.regression_loss);
    let pair = Head::is_pair(&info.task);
    let init = match &req.init {
        Some(i) => Some(rt.block_on(init_checkpoint(store, i))?),
        None => None,
    };
    let bpe = match req.tokenizer {
        TokenizerKind::Bpe => {
            Some(rt.block_on(bpe_for_run(store, init.as_deref(), cfg.bpe_vocab))?)
        }
        _ => None,
    };
    let encoder = Encoder::new(req.tokenizer, bpe.clone())?;
    let mut network_cfg = NetworkConfig::new(
        req.model,
        &encoder,
        req.positions,
        info.length,
        head.outputs(),
        &req.config.model,
    )?;
    // Fine-tuning a pre-trained run keeps its sizes; the head, its readout,
    // dropout and, where positions allow, the input length are the task's.
    if let (Some(i), NetworkConfig::Transformer(task_cfg)) = (&req.init, &network_cfg) {
        if let Ok(pretrained) = rt.block_on(runs::read_run(store, i)) {
            if pretrained.tokenizer != req.tokenizer {
                bail!(
                    "run '{i}' was trained with the {} tokenizer; fine-tune it with --tokenizer {}",
                    pretrained.tokenizer,
                    pretrained.tokenizer
                );
            }
            if let NetworkConfig::Transformer(mut cfg) = pretrained.network {
                cfg.outputs = task_cfg.outputs;
                if cfg.positions != Positions::Absolute || task_cfg.max_tokens > cfg.max_tokens {
                    cfg.max_tokens = task_cfg.max_tokens;
                }
                cfg.dropout = task_cfg.dropout;
                cfg.readout = task_cfg.readout;
                cfg.head = task_cfg.head;
                cfg.head_hidden = task_cfg.head_hidden;
                network_cfg = NetworkConfig::Transformer(cfg);
            }
        }
    }
    let run_id = match &req.run_id {
        Some(id) => id.clone(),
        None => runs::new_run_id(store, &req.dataset, &req.model.to_string()),
    };
    let dir = runs::run_dir(store, &run_id);
    if dir.exists() {
        bail!("run '{run_id}' exists already at {}", dir.display());
    }
    let config = RunConfig {
        run_id: run_id.clone(),
        kind: "train".to_string(),
        task: info.task.clone(),
        dataset: req.dataset.clone(),
        model: req.model,
        tokenizer: req.tokenizer,
        network: network_cfg.clone(),
        head: Some(head.clone()),
        pair,
        length: info.length,
        train: cfg.clone(),
        init: init.as_ref().map(|p| p.display().to_string()),
    };

    let map = VarMap::new();
    let vb = crate::seeded::var_builder(&map, cfg.seed, DType::F32, &req.device);
    crate::ops::seed_dropout(cfg.seed);
    let network = Network::new(vb, &network_cfg)?.with_compute(cfg.precision.dtype());
    if let Some(path) = &init {
        checkpoint::load_backbone(&map, path, &req.device)?;
    }
    let predictor = Predictor {
        network,
        encoder,
        pair,
        device: req.device.clone(),
    };

    let mut columns = vec!["example_id", "seq", head.label_column()];
    if pair {
        columns.push("alt_seq");
    }
    let loader_config = |split: &str, shuffle: bool| LoaderConfig {
        batch_size: cfg.batch_size,
        shuffle,
        reverse_complement: shuffle && cfg.reverse_complement,
        jitter: if shuffle { cfg.jitter } else { 0 },
        seed: cfg.seed,
        prefetch: cfg.prefetch,
        threads: cfg.threads,
        ..LoaderConfig::new(&req.dataset, split, &columns)
    };
    let train_loader = Loader::open(store, loader_config("train", true))?;
    let valid_loader = Loader::open(store, loader_config("valid", false))?;
    let per_epoch = cfg.batches_per_epoch(train_loader.batches_per_epoch());
    let mut optim = Optim::for_run(map.all_vars(), cfg, per_epoch)?;

    let guard = runs::start_run(store, &config, bpe.as_ref())?;
    let epoch_count = cfg.epochs_at(per_epoch);
    let bar = progress_bar(req.progress, (per_epoch * epoch_count) as u64);
    let mut epochs = Epochs::new(&run_id, dir.join("model.safetensors"), cfg)
        .with_epoch_lines(req.progress == Progress::Epochs);
    for epoch in 0..epoch_count {
        bar.set_prefix(format!("{run_id} epoch {}/{epoch_count}", epoch + 1));
        let mut running = EpochLoss::start();
        for batch in train_loader.epoch(epoch as u64).take(per_epoch) {
            let batch = batch?;
            let out = predictor.outputs(&batch, true)?;
            let (y, mask) = head.targets(&batch, &req.device)?;
            let loss = head.loss(&out, &y, &mask)?;
            optim.backward_step(&loss)?;
            let loss = loss.to_scalar::<f32>()?;
            if !loss.is_finite() {
                bail!(
                    "run {run_id}: the loss became {loss} in epoch {}; try a lower lr",
                    epoch + 1
                );
            }
            running.add(loss, batch.num_rows(), &bar, "examples");
        }
        let valid = evaluate(&predictor, &head, &valid_loader)?;
        if epochs.end(
            &map,
            running.mean(),
            running.seen,
            running.secs(),
            valid,
            &bar,
        )? {
            break;
        }
    }
    bar.finish_and_clear();
    epochs.check_saved()?;
    let record = RunRecord {
        config,
        data_table: "examples".to_string(),
        data_version: info.version,
        device: device_name(&req.device),
        parameters: parameter_count(&map),
        started,
        finished: SystemTime::now(),
        best_epoch: epochs.best_epoch,
        examples_per_s: epochs.examples_per_s(),
        train_loss: epochs.train_loss,
        valid_loss: epochs.valid_loss,
    };
    guard.publish()?;
    rt.block_on(runs::write_run(store, &record))?;
    guard.keep();
    Ok(record)
}
