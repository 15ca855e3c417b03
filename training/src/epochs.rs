//! The bookkeeping every training loop shares: the mean loss of each epoch,
//! the best validation loss and its checkpoint, early stopping, and the
//! examples/s of the time spent training.

use std::path::PathBuf;

use anyhow::{bail, Result};
use candle_nn::VarMap;

use crate::checkpoint;
use crate::config::{Keep, TrainConfig};

pub(crate) struct Epochs {
    run_id: String,
    checkpoint: PathBuf,
    patience: usize,
    keep: Keep,
    pub train_loss: Vec<f32>,
    pub valid_loss: Vec<f32>,
    best: f32,
    pub best_epoch: usize,
    stale: usize,
    examples: usize,
    busy: f64,
    epoch_lines: bool,
}

impl Epochs {
    /// The bookkeeping of a run with `cfg`'s patience and checkpoint rule.
    pub fn new(run_id: &str, checkpoint: PathBuf, cfg: &TrainConfig) -> Epochs {
        Epochs {
            run_id: run_id.to_string(),
            checkpoint,
            patience: cfg.patience.max(1),
            keep: cfg.keep,
            train_loss: Vec::new(),
            valid_loss: Vec::new(),
            best: f32::INFINITY,
            best_epoch: 0,
            stale: 0,
            examples: 0,
            busy: 0.0,
            epoch_lines: true,
        }
    }

    /// Whether each epoch prints a line of its losses above the bar (the
    /// `train` command), or only moves the bar (the quickstart).
    pub fn with_epoch_lines(mut self, on: bool) -> Epochs {
        self.epoch_lines = on;
        self
    }

    /// Records an epoch of `seen` examples in `secs` with mean loss
    /// `train` and validation loss `valid`; saves `map` when `valid` is the
    /// best so far (or always, to keep the last). Returns whether to stop
    /// (no better loss in `patience` epochs, when keeping the best).
    pub fn end(
        &mut self,
        map: &VarMap,
        train: f32,
        seen: usize,
        secs: f64,
        valid: f32,
        bar: &indicatif::ProgressBar,
    ) -> Result<bool> {
        self.examples += seen;
        self.busy += secs;
        self.train_loss.push(train);
        self.valid_loss.push(valid);
        let improved = valid < self.best;
        if improved {
            self.best = valid;
            self.stale = 0;
        } else {
            self.stale += 1;
        }
        let save = match self.keep {
            Keep::Best => improved,
            Keep::Last => valid.is_finite(),
        };
        if save {
            self.best_epoch = self.train_loss.len();
            checkpoint::save(map, &self.checkpoint)?;
        }
        let line = |text: String| {
            if self.epoch_lines {
                bar.println(text);
            }
        };
        line(format!(
            "{} epoch {}: train loss {train:.4}, valid loss {valid:.4}{}",
            self.run_id,
            self.train_loss.len(),
            match (save, improved) {
                (true, true) => " (best, saved)",
                (true, false) => " (saved)",
                _ => "",
            }
        ));
        let stop = self.keep == Keep::Best && self.stale >= self.patience;
        if stop {
            line(format!(
                "{}: no better valid loss in {} epochs; stopping",
                self.run_id, self.stale
            ));
        }
        Ok(stop)
    }

    /// Errors when no epoch saved a checkpoint.
    pub fn check_saved(&self) -> Result<()> {
        if !self.checkpoint.exists() {
            bail!(
                "run {}: no epoch gave a finite validation loss; nothing saved",
                self.run_id
            );
        }
        Ok(())
    }

    pub fn examples_per_s(&self) -> f64 {
        self.examples as f64 / self.busy.max(1e-9)
    }
}

/// The running mean loss of an epoch, shown on the progress bar.
pub(crate) struct EpochLoss {
    sum: f64,
    pub seen: usize,
    clock: std::time::Instant,
}

impl EpochLoss {
    pub fn start() -> EpochLoss {
        EpochLoss {
            sum: 0.0,
            seen: 0,
            clock: std::time::Instant::now(),
        }
    }

    /// Adds a batch of `rows` with mean `loss`; `unit` names what a row is.
    pub fn add(&mut self, loss: f32, rows: usize, bar: &indicatif::ProgressBar, unit: &str) {
        self.sum += f64::from(loss) * rows as f64;
        self.seen += rows;
        bar.inc(1);
        bar.set_message(format!(
            "loss {:.4} · {:.0} {unit}/s",
            self.mean(),
            self.seen as f64 / self.secs().max(1e-9)
        ));
    }

    pub fn mean(&self) -> f32 {
        (self.sum / self.seen.max(1) as f64) as f32
    }

    pub fn secs(&self) -> f64 {
        self.clock.elapsed().as_secs_f64()
    }
}

pub(crate) fn parameter_count(map: &VarMap) -> usize {
    map.all_vars().iter().map(|v| v.elem_count()).sum()
}
