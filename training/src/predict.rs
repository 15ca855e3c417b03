//! `dnabench predict`: runs a trained model over a split of its dataset and
//! writes `predictions` (run_id, dataset, example_id, split, output) in one
//! commit.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use arrow::array::{ArrayRef, AsArray, Float32Builder, ListBuilder, RecordBatch, StringArray};
use candle_core::{DType, Device};
use candle_nn::{VarBuilder, VarMap};
use dnabench_engine::Store;

use crate::checkpoint;
use crate::config::TokenizerKind;
use crate::heads::Head;
use crate::loader::{Loader, LoaderConfig};
use crate::network::{Encoder, Network};
use crate::runs::{self, RunConfig};
use crate::tokenizers::BpeTokenizer;
use crate::train::{progress_bar, Predictor, Progress};

/// What `dnabench predict` was asked for.
#[derive(Debug, Clone)]
pub struct PredictRequest {
    pub run_id: String,
    /// Splits to predict (`train`, `valid`, `test`).
    pub splits: Vec<String>,
    pub device: Device,
    /// Examples per forward pass, at most; see [`batch_for`].
    pub batch_size: usize,
    pub progress: Progress,
}

/// Bases one forward pass reads at most: 256 windows of 1 kb. A pass's
/// activations grow with its bases, so 256 windows of 40 kb (expression)
/// would hold 2.6 GB per layer of a 64-channel CNN.
pub const PASS_BASES: usize = 256 * 1024;

/// The examples per pass for windows of `length` bp (two sequences each
/// for `pair` tasks): `requested`, capped at [`PASS_BASES`], at least one.
pub fn batch_for(requested: usize, length: usize, pair: bool) -> usize {
    let bases = length.max(1) * if pair { 2 } else { 1 };
    requested.min(PASS_BASES / bases).max(1)
}

#[derive(Debug, Clone, PartialEq)]
pub struct PredictSummary {
    pub rows: usize,
    pub examples_per_s: f64,
}

/// The model of a finished run, with its best checkpoint loaded.
pub fn load_predictor(store: &Store, config: &RunConfig, device: &Device) -> Result<Predictor> {
    let dir = runs::fetch_run(store, &config.run_id)?;
    let bpe = match config.tokenizer {
        TokenizerKind::Bpe => {
            Some(BpeTokenizer::load(&dir.join("bpe.json")).map_err(anyhow::Error::msg)?)
        }
        _ => None,
    };
    let encoder = Encoder::new(config.tokenizer, bpe)?;
    let map = VarMap::new();
    let network = Network::new(
        VarBuilder::from_varmap(&map, DType::F32, device),
        &config.network,
    )?;
    checkpoint::load(&map, &dir.join("model.safetensors"), device)?;
    Ok(Predictor {
        network,
        encoder,
        pair: config.pair,
        device: device.clone(),
    })
}

pub fn predict(store: &Store, req: &PredictRequest) -> Result<PredictSummary> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let config = rt.block_on(runs::read_run(store, &req.run_id))?;
    if config.head.is_none() {
        bail!(
            "run '{}' is a {} run with no task head; predict with a run that fine-tuned it",
            req.run_id,
            config.kind
        );
    }
    rt.block_on(refuse_existing(store, &req.run_id, &req.splits))?;
    let predictor = load_predictor(store, &config, &req.device)?;
    let mut columns = vec!["example_id", "seq"];
    if config.pair {
        columns.push("alt_seq");
    }
    let clock = Instant::now();
    let schema = dnabench_schemas::predictions_schema();
    // Dropped on an error before finish: nothing is committed.
    let mut writer = store.table_writer("predictions", schema, HashMap::new())?;
    let mut rows = 0;
    for split in &req.splits {
        let loader = Loader::open(
            store,
            LoaderConfig {
                batch_size: batch_for(req.batch_size, config.length, config.pair),
                shuffle: false,
                ..LoaderConfig::new(&config.dataset, split, &columns)
            },
        )?;
        let bar = progress_bar(req.progress, loader.batches_per_epoch() as u64);
        bar.set_prefix(format!("{} {split}", req.run_id));
        for batch in loader.epoch(0) {
            let batch = batch?;
            let mut outputs = predictor.outputs(&batch, false)?;
            if config.head.as_ref().is_some_and(Head::predicts_probability) {
                outputs = candle_nn::ops::sigmoid(&outputs)?;
            }
            let outputs = outputs.to_vec2::<f32>()?;
            writer.write(prediction_batch(&config, split, &batch, &outputs)?)?;
            rows += batch.num_rows();
            bar.inc(1);
        }
        bar.finish_and_clear();
    }
    let per_s = rows as f64 / clock.elapsed().as_secs_f64().max(1e-9);
    writer.finish().context("writing predictions")?;
    Ok(PredictSummary {
        rows,
        examples_per_s: per_s,
    })
}

fn prediction_batch(
    config: &RunConfig,
    split: &str,
    batch: &RecordBatch,
    outputs: &[Vec<f32>],
) -> Result<RecordBatch> {
    let ids = batch
        .column_by_name("example_id")
        .context("batch has no example_id")?
        .as_string::<i32>();
    let rows: Vec<(String, String, Vec<f32>)> = outputs
        .iter()
        .enumerate()
        .map(|(i, out)| (ids.value(i).to_string(), split.to_string(), out.clone()))
        .collect();
    prediction_rows(&config.run_id, &config.dataset, &rows)
}

/// `predictions` rows of one run: (example_id, split, output) each.
pub fn prediction_rows(
    run_id: &str,
    dataset: &str,
    rows: &[(String, String, Vec<f32>)],
) -> Result<RecordBatch> {
    let n = rows.len();
    let mut output = ListBuilder::new(Float32Builder::new());
    for (_, _, row) in rows {
        output.values().append_slice(row);
        output.append(true);
    }
    let repeat = |s: &str| Arc::new(StringArray::from(vec![s; n])) as ArrayRef;
    Ok(RecordBatch::try_new(
        dnabench_schemas::predictions_schema(),
        vec![
            repeat(run_id),
            repeat(dataset),
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| &r.0))),
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| &r.1))),
            Arc::new(output.finish()),
        ],
    )?)
}

/// Predictions are written once per run and split.
async fn refuse_existing(store: &Store, run_id: &str, splits: &[String]) -> Result<()> {
    if !store.has_table("predictions") {
        return Ok(());
    }
    let ds = store.dataset("predictions").await?;
    for split in splits {
        let filter = format!(
            "run_id = '{}' AND split = '{}'",
            run_id.replace('\'', "''"),
            split.replace('\'', "''")
        );
        let n = ds.count_rows(Some(filter)).await?;
        if n > 0 {
            bail!("predictions already holds {n} rows of run '{run_id}', split '{split}'");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::batch_for;

    #[test]
    fn a_pass_reads_at_most_256_kb_whatever_the_window() {
        assert_eq!(batch_for(256, 1000, false), 256);
        assert_eq!(batch_for(64, 1000, false), 64);
        // Expression's 40 kb windows: 6 a pass, not 256 (2.6 GB a layer).
        assert_eq!(batch_for(256, 40_000, false), 6);
        // Reference and alternative of 1400 bp.
        assert_eq!(batch_for(256, 1400, true), 93);
        assert_eq!(batch_for(256, 10_000_000, false), 1);
    }
}
