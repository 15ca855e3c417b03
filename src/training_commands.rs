//! The training commands: `train`, `pretrain` and `predict`. They own
//! their threads (the loader's runtime), so they run outside the async one.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::{bail, Result};
use dnabench_engine::Store;
use dnabench_training as training;

use crate::{PredictArgs, PretrainArgs, TrainArgs};

pub(crate) fn device(name: &str) -> Result<training::Device> {
    training::config::parse_device(name)
}

fn config_file(path: Option<&Path>) -> Result<training::config::ConfigFile> {
    Ok(match path {
        Some(p) => training::config::ConfigFile::read(p)?,
        None => training::config::ConfigFile::default(),
    })
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
        config: config_file(args.config.as_deref())?,
        device: device(&args.device)?,
        init: args.init.clone(),
        run_id: args.run_id.clone(),
        progress: std::io::stderr().is_terminal(),
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
        config: config_file(args.config.as_deref())?,
        device: device(&args.device)?,
        window: args.window,
        mask_rate: args.mask_rate,
        valid_fraction: args.valid_fraction,
        run_id: args.run_id.clone(),
        progress: std::io::stderr().is_terminal(),
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
        progress: std::io::stderr().is_terminal(),
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
