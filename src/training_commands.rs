//! The training commands: `train`, `pretrain` and `predict`. They own
//! their threads (the loader's runtime), so they run outside the async one.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use clap::Args;
use dnabench_engine::Store;
use dnabench_training as training;

use crate::StoreArg;

#[derive(Args)]
pub(crate) struct TrainArgs {
    /// The task whose dataset to train on (its materialized name).
    #[arg(long)]
    task: String,
    /// cnn, cnn_lstm or transformer.
    #[arg(long)]
    model: String,
    /// one_hot, kmer, kpatch or bpe (default: one_hot for the CNNs, kpatch for the transformer).
    #[arg(long)]
    tokenizer: Option<String>,
    /// Transformer positions: rotary, relative or absolute.
    #[arg(long = "pos", default_value = "rotary")]
    positions: String,
    /// A TOML file with [train] settings and [model] sizes.
    #[arg(long)]
    config: Option<PathBuf>,
    /// cpu, or cuda[:N] in a build with the cuda feature.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Start from this run's checkpoint (a pretrain run id) or a safetensors file.
    #[arg(long)]
    init: Option<String>,
    /// The run id (default: DATASET-MODEL-N).
    #[arg(long)]
    run_id: Option<String>,
    /// The seed of the weights' start, dropout, shuffles and jitter (default:
    /// the config's `seed`, else 0): one seed on one store and machine
    /// trains byte-identical weights.
    #[arg(long)]
    seed: Option<u64>,
    #[command(flatten)]
    store: StoreArg,
}

#[derive(Args)]
pub(crate) struct PretrainArgs {
    /// kpatch, kmer or bpe.
    #[arg(long, default_value = "kpatch")]
    tokenizer: String,
    #[arg(long = "pos", default_value = "rotary")]
    positions: String,
    #[arg(long)]
    config: Option<PathBuf>,
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Window length in bp (non-overlapping, both strands).
    #[arg(long, default_value_t = 1024)]
    window: usize,
    #[arg(long, default_value_t = 0.3)]
    mask_rate: f64,
    /// Share of windows held out for validation.
    #[arg(long, default_value_t = 0.05)]
    valid_fraction: f64,
    #[arg(long)]
    run_id: Option<String>,
    /// The seed of the weights' start, the masks, dropout and the windows'
    /// order (default: the config's `seed`, else 0).
    #[arg(long)]
    seed: Option<u64>,
    #[command(flatten)]
    store: StoreArg,
}

#[derive(Args)]
pub(crate) struct PredictArgs {
    /// The run whose best checkpoint predicts.
    #[arg(long)]
    run: String,
    /// Splits to predict, comma-separated, or `all`.
    #[arg(long, default_value = "test")]
    split: String,
    #[arg(long, default_value = "cpu")]
    device: String,
    #[arg(long, default_value_t = 256)]
    batch_size: usize,
    #[command(flatten)]
    store: StoreArg,
}

pub(crate) fn device(name: &str) -> Result<training::Device> {
    training::config::parse_device(name)
}

fn config_file(path: Option<&Path>) -> Result<training::config::ConfigFile> {
    Ok(match path {
        Some(p) => training::config::ConfigFile::read(p)?,
        None => training::config::ConfigFile::default(),
    })
}

/// `config` with `--seed` in place of its `[train] seed`, when given.
fn seeded(
    mut config: training::config::ConfigFile,
    seed: Option<u64>,
) -> training::config::ConfigFile {
    if let Some(seed) = seed {
        config.train.seed = seed;
    }
    config
}

pub(crate) fn print_run(record: &training::runs::RunRecord, store: &Path) {
    let c = &record.config;
    println!(
        "run {}: {} {} on {} ({} parameters, {}), kept epoch {} of {}, train loss {:.4}, valid loss {:.4}, {:.0} examples/s; checkpoint {}",
        c.run_id,
        c.model,
        c.tokenizer,
        c.dataset,
        record.parameters,
        record.device,
        record.best_epoch,
        record.train_loss.len(),
        record.train_loss.last().copied().unwrap_or(f32::NAN),
        record.valid_loss[record.best_epoch.saturating_sub(1)],
        record.examples_per_s,
        training::runs::checkpoint_path(&Store::open(store).expect("the store exists"), &c.run_id).display()
    );
}

pub(crate) fn train(args: TrainArgs) -> Result<()> {
    let model: training::config::ModelKind = args.model.parse().map_err(anyhow::Error::msg)?;
    let tokenizer = match &args.tokenizer {
        Some(t) => t.parse().map_err(anyhow::Error::msg)?,
        None if model == training::config::ModelKind::Transformer => {
            training::config::TokenizerKind::Kpatch
        }
        None => training::config::TokenizerKind::OneHot,
    };
    let store = Store::open(&args.store.store)?;
    let request = training::train::TrainRequest {
        dataset: args.task.clone(),
        model,
        tokenizer,
        positions: args.positions.parse().map_err(anyhow::Error::msg)?,
        config: seeded(config_file(args.config.as_deref())?, args.seed),
        device: device(&args.device)?,
        init: args.init.clone(),
        run_id: args.run_id.clone(),
        progress: training::Progress::on_terminal(training::Progress::Epochs),
    };
    let record = training::train::train(&store, request)?;
    print_run(&record, &args.store.store);
    Ok(())
}

pub(crate) fn pretrain(args: PretrainArgs) -> Result<()> {
    let store = Store::open(&args.store.store)?;
    let request = training::pretrain::PretrainRequest {
        tokenizer: args.tokenizer.parse().map_err(anyhow::Error::msg)?,
        positions: args.positions.parse().map_err(anyhow::Error::msg)?,
        config: seeded(config_file(args.config.as_deref())?, args.seed),
        device: device(&args.device)?,
        window: args.window,
        mask_rate: args.mask_rate,
        valid_fraction: args.valid_fraction,
        run_id: args.run_id.clone(),
        progress: training::Progress::on_terminal(training::Progress::Epochs),
    };
    let record = training::pretrain::pretrain(&store, &request)?;
    print_run(&record, &args.store.store);
    Ok(())
}

pub(crate) fn predict(args: PredictArgs) -> Result<()> {
    let store = Store::open(&args.store.store)?;
    let splits: Vec<String> = if args.split == "all" {
        dnabench_schemas::SPLITS
            .iter()
            .map(|s| s.to_string())
            .collect()
    } else {
        args.split
            .split(',')
            .map(|s| s.trim().to_string())
            .collect()
    };
    for s in &splits {
        if !dnabench_schemas::SPLITS.contains(&s.as_str()) {
            bail!("unknown split '{s}'; give train, valid, test (comma-separated) or all");
        }
    }
    let request = training::predict::PredictRequest {
        run_id: args.run.clone(),
        splits: splits.clone(),
        device: device(&args.device)?,
        batch_size: args.batch_size,
        progress: training::Progress::on_terminal(training::Progress::Bar),
    };
    let summary = training::predict::predict(&store, &request)?;
    println!(
        "predicted {} examples of run {} ({}) into predictions, {:.0} examples/s",
        summary.rows,
        args.run,
        splits.join(", "),
        summary.examples_per_s
    );
    Ok(())
}
