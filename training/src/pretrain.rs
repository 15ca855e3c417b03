//! `dnabench pretrain`: masked-language-model pre-training of the
//! Transformer on the genome table. Non-overlapping windows (1024 bp by
//! default) on both strands are tokenized; 30 % of the tokens are chosen,
//! and of those 80 % become `[MASK]`, 10 % a random token and 10 % stay;
//! the model predicts the original token at each chosen position.
//! `dnabench train --init RUN` then fine-tunes the backbone on a task.

use std::time::SystemTime;

use anyhow::{bail, Context, Result};
use candle_core::{DType, Device, Module, Tensor, D};
use candle_nn::{linear, ops, Linear, VarMap};
use dnabench_engine::genome::Genome;
use dnabench_engine::hash::hash_uniform;
use dnabench_engine::Store;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::config::{override_fields, ConfigFile, ModelKind, TokenizerKind};
use crate::epochs::{parameter_count, EpochLoss, Epochs};
use crate::models::{Positions, Transformer, TransformerConfig};
use crate::network::{Encoder, NetworkConfig};
use crate::optim::Optim;
use crate::runs::{self, RunConfig, RunRecord};
use crate::tokenizers::{Special, SPECIALS};
use crate::train::{bpe_for_run, device_name, progress_bar, Progress};

#[derive(Debug, Clone)]
pub struct PretrainRequest {
    pub tokenizer: TokenizerKind,
    pub positions: Positions,
    pub config: ConfigFile,
    pub device: Device,
    /// Window length in bp.
    pub window: usize,
    pub mask_rate: f64,
    /// Share of windows held out to validate on.
    pub valid_fraction: f64,
    pub run_id: Option<String>,
    pub progress: Progress,
}

/// A window of the genome: chromosome index, start, strand.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Window {
    chrom: usize,
    start: usize,
    reverse: bool,
}

/// Non-overlapping windows with at most 10 % N, each on both strands,
/// split into training and validation windows by a hash of their place.
fn windows(
    genome: &Genome,
    width: usize,
    valid_fraction: f64,
    seed: u64,
) -> (Vec<Window>, Vec<Window>) {
    let (mut train, mut valid) = (Vec::new(), Vec::new());
    for (chrom, c) in genome.chroms().iter().enumerate() {
        for start in (0..c.seq.len() as usize / width).map(|i| i * width) {
            let ns = c.seq.n_count(start as u64, (start + width) as u64) as usize;
            if ns * 10 > width {
                continue;
            }
            let key = format!("{}:{start}", c.name);
            let held_out = hash_uniform(key.as_bytes(), seed as i64) < valid_fraction;
            for reverse in [false, true] {
                let w = Window {
                    chrom,
                    start,
                    reverse,
                };
                if held_out {
                    valid.push(w)
                } else {
                    train.push(w)
                }
            }
        }
    }
    (train, valid)
}

/// Token ids with masking applied, the original ids, and a 0/1 weight per
/// position (1 where the model must predict).
fn mask_tokens(ids: &[u32], vocab: usize, rate: f64, rng: &mut ChaCha8Rng) -> (Vec<u32>, Vec<f32>) {
    let mut input = ids.to_vec();
    let mut weight = vec![0f32; ids.len()];
    for (i, id) in ids.iter().enumerate() {
        if *id == Special::Pad as u32 || !rng.random_bool(rate) {
            continue;
        }
        weight[i] = 1.0;
        let roll: f64 = rng.random();
        input[i] = if roll < 0.8 {
            Special::Mask as u32
        } else if roll < 0.9 {
            rng.random_range(SPECIALS..vocab as u32)
        } else {
            *id
        };
    }
    if !ids.is_empty() && weight.iter().all(|&w| w == 0.0) {
        let i = rng.random_range(0..ids.len());
        weight[i] = 1.0;
        input[i] = Special::Mask as u32;
    }
    (input, weight)
}

struct Mlm {
    backbone: Transformer,
    to_vocab: Linear,
    encoder: Encoder,
    width: usize,
    rate: f64,
    device: Device,
}

impl Mlm {
    /// Cross-entropy at the masked positions of one batch of windows.
    fn loss(
        &self,
        genome: &Genome,
        windows: &[Window],
        rng: &mut ChaCha8Rng,
        train: bool,
    ) -> Result<Tensor> {
        let (encoder, width, rate, device) = (&self.encoder, self.width, self.rate, &self.device);
        let mut seqs = Vec::with_capacity(windows.len());
        for w in windows {
            let mut s = Vec::with_capacity(width);
            genome.window_into(
                w.chrom,
                w.start as i64,
                (w.start + width) as i64,
                w.reverse,
                &mut s,
            );
            seqs.push(s);
        }
        let refs: Vec<&[u8]> = seqs.iter().map(|s| &s[..]).collect();
        let original = encoder.encode(&refs, device)?;
        let (rows, tokens) = original.dims2()?;
        let flat: Vec<u32> = original.flatten_all()?.to_vec1()?;
        let (mut input, mut weight) = (
            Vec::with_capacity(flat.len()),
            Vec::with_capacity(flat.len()),
        );
        for row in flat.chunks(tokens) {
            let (i, w) = mask_tokens(row, encoder.vocab_size(), rate, rng);
            input.extend(i);
            weight.extend(w);
        }
        let input = Tensor::from_vec(input, (rows, tokens), device)?;
        let weight = Tensor::from_vec(weight, rows * tokens, device)?;
        let states = self.backbone.states(&input, train)?.narrow(1, 1, tokens)?;
        let logits = self
            .to_vocab
            .forward(&states)?
            .reshape((rows * tokens, ()))?
            .to_dtype(DType::F32)?;
        let log_p = ops::log_softmax(&logits, D::Minus1)?;
        let picked = log_p
            .gather(&original.flatten_all()?.unsqueeze(1)?, 1)?
            .squeeze(1)?;
        Ok(crate::losses::masked_mean(&picked.neg()?, &weight)?)
    }
}

pub fn pretrain(store: &Store, req: &PretrainRequest) -> Result<RunRecord> {
    if req.tokenizer == TokenizerKind::OneHot {
        bail!("pre-training predicts tokens; give --tokenizer kpatch, kmer or bpe");
    }
    if !(0.0..1.0).contains(&req.mask_rate) || req.mask_rate == 0.0 {
        bail!("--mask-rate must be in (0, 1), not {}", req.mask_rate);
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let started = SystemTime::now();
    let cfg = &req.config.train;
    let genome = rt.block_on(Genome::load(store))?.context(
        "pre-training reads the genome, and the store has none (dnabench ingest genome)",
    )?;
    let version = rt.block_on(store.dataset("genome"))?.version_id();
    let (train, valid) = windows(&genome, req.window, req.valid_fraction, cfg.seed);
    if train.is_empty() || valid.is_empty() {
        bail!(
            "the genome gives {} training and {} validation windows of {} bp; a smaller --window or another --valid-fraction gives some",
            train.len(), valid.len(), req.window
        );
    }
    let bpe = match req.tokenizer {
        TokenizerKind::Bpe => Some(rt.block_on(bpe_for_run(store, None, cfg.bpe_vocab))?),
        _ => None,
    };
    let encoder = Encoder::new(req.tokenizer, bpe.clone())?;
    let NetworkConfig::Transformer(base) = NetworkConfig::new(
        ModelKind::Transformer,
        &encoder,
        req.positions,
        req.window,
        1,
        &serde_json::Map::new(),
    )?
    else {
        unreachable!("a transformer config")
    };
    let model_cfg: TransformerConfig = override_fields(&base, &req.config.model, "transformer")?;
    let run_id = req
        .run_id
        .clone()
        .unwrap_or_else(|| runs::new_run_id(store, "genome", "mlm"));
    let dir = runs::run_dir(store, &run_id);
    if dir.exists() {
        bail!("run '{run_id}' exists already at {}", dir.display());
    }
    let config = RunConfig {
        run_id: run_id.clone(),
        kind: "pretrain".to_string(),
        task: "mlm".to_string(),
        dataset: "genome".to_string(),
        model: ModelKind::Transformer,
        tokenizer: req.tokenizer,
        network: NetworkConfig::Transformer(model_cfg.clone()),
        head: None,
        pair: false,
        length: req.window,
        train: cfg.clone(),
        init: None,
    };
    let map = VarMap::new();
    let vb = crate::seeded::var_builder(&map, cfg.seed, DType::F32, &req.device);
    crate::ops::seed_dropout(cfg.seed);
    let mlm = Mlm {
        backbone: Transformer::new(vb.clone(), &model_cfg)?.with_compute(cfg.precision.dtype()),
        to_vocab: linear(model_cfg.hidden, model_cfg.vocab, vb.pp("mlm"))?,
        encoder,
        width: req.window,
        rate: req.mask_rate,
        device: req.device.clone(),
    };
    let batch = cfg.batch_size.max(1);
    let per_epoch = cfg.batches_per_epoch(train.len().div_ceil(batch));
    let mut optim = Optim::for_run(map.all_vars(), cfg, per_epoch)?;
    let guard = runs::start_run(store, &config, bpe.as_ref())?;
    let epoch_count = cfg.epochs_at(per_epoch);
    let bar = progress_bar(req.progress, (per_epoch * epoch_count) as u64);
    let mut epochs = Epochs::new(&run_id, dir.join("model.safetensors"), cfg)
        .with_epoch_lines(req.progress == Progress::Epochs);
    let mut order = train.clone();
    for epoch in 0..epoch_count {
        bar.set_prefix(format!("{run_id} epoch {}/{epoch_count}", epoch + 1));
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed.wrapping_add(epoch as u64));
        order.shuffle(&mut rng);
        let mut running = EpochLoss::start();
        for chunk in order.chunks(batch).take(per_epoch) {
            let loss = mlm.loss(&genome, chunk, &mut rng, true)?;
            optim.backward_step(&loss)?;
            running.add(loss.to_scalar::<f32>()?, chunk.len(), &bar, "windows");
        }
        // The same masks every epoch, so validation losses compare.
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x5eed);
        let (mut vsum, mut vseen) = (0f64, 0usize);
        for chunk in valid.chunks(batch) {
            let loss = mlm.loss(&genome, chunk, &mut rng, false)?;
            vsum += f64::from(loss.to_scalar::<f32>()?) * chunk.len() as f64;
            vseen += chunk.len();
        }
        let v = (vsum / vseen.max(1) as f64) as f32;
        if epochs.end(&map, running.mean(), running.seen, running.secs(), v, &bar)? {
            break;
        }
    }
    bar.finish_and_clear();
    epochs.check_saved()?;
    let record = RunRecord {
        config,
        data_table: "genome".to_string(),
        data_version: version,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn about_the_mask_rate_is_masked_and_mostly_with_mask() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let ids: Vec<u32> = (0..10_000).map(|i| 4 + (i % 600) as u32).collect();
        let (input, weight) = mask_tokens(&ids, 629, 0.3, &mut rng);
        let chosen = weight.iter().filter(|&&w| w == 1.0).count();
        assert!((2800..3200).contains(&chosen), "{chosen}");
        let masked = input.iter().filter(|&&i| i == Special::Mask as u32).count();
        assert!((masked as f64 / chosen as f64 - 0.8).abs() < 0.05);
        // Unchosen positions keep their token.
        for ((a, b), w) in input.iter().zip(&ids).zip(&weight) {
            if *w == 0.0 {
                assert_eq!(a, b);
            }
        }
        // Padding is never chosen.
        let (_, w) = mask_tokens(&[0, 0, 9], 629, 0.99, &mut rng);
        assert_eq!(w[..2], [0.0, 0.0]);
    }

    #[test]
    fn windows_cover_both_strands_and_skip_gaps() {
        let mut seq = b"ACGT".repeat(100);
        seq[100..200].fill(b'N');
        let genome = Genome::from_sequences([("chr1".to_string(), seq)]);
        let (train, valid) = windows(&genome, 100, 0.5, 1);
        let all: Vec<Window> = train.iter().chain(&valid).copied().collect();
        assert_eq!(all.len(), 6, "3 of 4 windows, 2 strands: {all:?}");
        assert!(all.iter().all(|w| w.start != 100));
        assert_eq!(all.iter().filter(|w| w.reverse).count(), 3);
    }
}
