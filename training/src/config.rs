//! What a run is configured with: the model kind, the tokenizer, the
//! optimizer settings, and sizes overridden from a TOML file.
//!
//! ```toml
//! [train]
//! epochs = 5
//! batch_size = 32
//! lr = 1e-3
//!
//! [model]        # any field of the model's config
//! hidden = 64
//! layers = 2
//! ```

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::models::Positions;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    Cnn,
    CnnLstm,
    Transformer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenizerKind {
    OneHot,
    Kmer,
    Kpatch,
    Bpe,
}

/// Names as the command line and the `runs` table write them.
macro_rules! names {
    ($ty:ty, $what:literal, $($variant:path => $name:literal),+) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let name = match self { $($variant => $name,)+ };
                f.write_str(name)
            }
        }

        impl FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> std::result::Result<Self, String> {
                match s {
                    $($name => Ok($variant),)+
                    _ => Err(format!(
                        "unknown {} '{s}'; one of: {}",
                        $what,
                        [$($name),+].join(", ")
                    )),
                }
            }
        }
    };
}

names!(ModelKind, "model", ModelKind::Cnn => "cnn", ModelKind::CnnLstm => "cnn_lstm", ModelKind::Transformer => "transformer");
names!(TokenizerKind, "tokenizer", TokenizerKind::OneHot => "one_hot", TokenizerKind::Kmer => "kmer", TokenizerKind::Kpatch => "kpatch", TokenizerKind::Bpe => "bpe");
names!(Positions, "position kind", Positions::Rotary => "rotary", Positions::Relative => "relative", Positions::Absolute => "absolute");

/// `cpu`, `cuda` or `cuda:N`. CUDA needs a build with the `cuda` feature.
pub fn parse_device(name: &str) -> Result<candle_core::Device> {
    let ordinal = match name {
        "cpu" => return Ok(candle_core::Device::Cpu),
        "cuda" => 0,
        other => match other.strip_prefix("cuda:").map(str::parse::<usize>) {
            Some(Ok(n)) => n,
            _ => bail!("unknown device '{other}'; give cpu, cuda or cuda:N"),
        },
    };
    candle_core::Device::new_cuda(ordinal).with_context(|| {
        format!(
            "cannot open {name} (is this a build with --features cuda, on a machine with a GPU?)"
        )
    })
}

/// Optimizer and loop settings; the defaults are the paper's (AdamW,
/// learning rate 1e-4 with warm-up, gradient clipping 1, batch 64).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch_size: usize,
    pub lr: f64,
    /// Steps of linear warm-up from 0 to `lr`; then linear decay to 0 at
    /// the last step.
    pub warmup_steps: usize,
    pub weight_decay: f64,
    /// Largest global gradient norm; larger gradients are scaled down.
    pub clip: f64,
    /// Epochs without a better validation loss before stopping.
    pub patience: usize,
    /// Which weights the run keeps.
    pub keep: Keep,
    pub seed: u64,
    pub reverse_complement: bool,
    /// Training windows move by a random shift of up to this many bp
    /// (drawn per example and epoch); validation windows stay put.
    pub jitter: u32,
    /// Loader threads and batches read ahead.
    pub threads: usize,
    pub prefetch: usize,
    /// Focal loss for multi-label heads (the chromatin task); BCE if false.
    pub focal: bool,
    /// At most this many training batches per epoch (0: all).
    pub max_batches: usize,
    /// At most this many optimizer steps in all (0: no cap): fewer epochs
    /// for a large dataset, the same `epochs` for a small one, so one config
    /// serves tasks of very different sizes.
    pub max_steps: usize,
    /// Vocabulary size of a BPE tokenizer learned for the run.
    pub bpe_vocab: usize,
    /// The dtype of the forward and backward passes; the weights and the
    /// optimizer stay f32 either way.
    pub precision: Precision,
    /// The loss of a regression head (methylation, expression, MPRA);
    /// unset, the task's own (MSE, or Huber for expression). Other heads
    /// ignore it, so one config serves every task.
    pub regression_loss: Option<RegressionLoss>,
}

/// How a regression head is trained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegressionLoss {
    Mse,
    Huber,
    /// Sigmoid and binary cross-entropy against a fraction in [0, 1] (the
    /// paper's methylation head): the run predicts probabilities.
    Bce,
}

/// The activations' dtype: `f32`, or `bf16` over f32 master weights (for
/// GPUs; on a CPU, candle's bf16 matmuls are slower than f32).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    #[default]
    F32,
    Bf16,
}

impl Precision {
    pub fn dtype(self) -> candle_core::DType {
        match self {
            Precision::F32 => candle_core::DType::F32,
            Precision::Bf16 => candle_core::DType::BF16,
        }
    }
}

/// The checkpoint a run keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Keep {
    /// The epoch with the lowest validation loss, stopping early after
    /// `patience` epochs without a better one.
    Best,
    /// The last epoch, after the whole schedule: for a validation split of a
    /// few dozen examples, whose loss is too noisy to choose an epoch by.
    Last,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 10,
            batch_size: 64,
            lr: 1e-4,
            warmup_steps: 100,
            weight_decay: 0.01,
            clip: 1.0,
            patience: 3,
            keep: Keep::Best,
            seed: 0,
            reverse_complement: false,
            jitter: 0,
            threads: 2,
            prefetch: 4,
            focal: true,
            max_batches: 0,
            max_steps: 0,
            bpe_vocab: 16_000,
            precision: Precision::F32,
            regression_loss: None,
        }
    }
}

impl TrainConfig {
    /// Batches per epoch of a split of `batches`, capped by `max_batches`.
    pub fn batches_per_epoch(&self, batches: usize) -> usize {
        if self.max_batches > 0 {
            batches.min(self.max_batches)
        } else {
            batches
        }
    }

    /// Epochs to run at `per_epoch` batches each: `epochs`, or fewer whole
    /// epochs when `max_steps` caps the steps.
    pub fn epochs_at(&self, per_epoch: usize) -> usize {
        if self.max_steps > 0 && per_epoch > 0 {
            self.epochs.min(self.max_steps.div_ceil(per_epoch)).max(1)
        } else {
            self.epochs
        }
    }
}

/// The contents of a `--config FILE.toml`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConfigFile {
    pub train: TrainConfig,
    /// Fields of the model config to override.
    pub model: serde_json::Map<String, serde_json::Value>,
}

impl ConfigFile {
    pub fn read(path: &Path) -> Result<ConfigFile> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("config {}", path.display()))
    }

    pub fn parse(text: &str) -> Result<ConfigFile> {
        let table: toml::Table = toml::from_str(text)?;
        let mut out = ConfigFile::default();
        for (key, value) in table {
            match key.as_str() {
                "train" => out.train = value.try_into().context("[train]")?,
                "model" => {
                    let json = serde_json::to_value(value)?;
                    let serde_json::Value::Object(map) = json else {
                        bail!("[model] must be a table");
                    };
                    out.model = map;
                }
                other => bail!("unknown section [{other}]; the sections are [train] and [model]"),
            }
        }
        Ok(out)
    }
}

/// `base` with the fields of `overrides` replaced; a field `base` does not
/// have is an error that lists the ones it has.
pub fn override_fields<T: Serialize + serde::de::DeserializeOwned>(
    base: &T,
    overrides: &serde_json::Map<String, serde_json::Value>,
    what: &str,
) -> Result<T> {
    let mut value = serde_json::to_value(base)?;
    let serde_json::Value::Object(fields) = &mut value else {
        bail!("{what} config is not a table");
    };
    for (key, v) in overrides {
        if !fields.contains_key(key) {
            let mut known: Vec<&String> = fields.keys().collect();
            known.sort();
            bail!(
                "{what} config has no field '{key}'; its fields: {}",
                known
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        fields.insert(key.clone(), v.clone());
    }
    serde_json::from_value(value).with_context(|| format!("{what} config"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::CnnConfig;

    #[test]
    fn names_parse_and_print_back() {
        for name in ["cnn", "cnn_lstm", "transformer"] {
            assert_eq!(name.parse::<ModelKind>().unwrap().to_string(), name);
        }
        for name in ["one_hot", "kmer", "kpatch", "bpe"] {
            assert_eq!(name.parse::<TokenizerKind>().unwrap().to_string(), name);
        }
        let err = "rnn".parse::<ModelKind>().unwrap_err();
        assert!(err.contains("one of: cnn, cnn_lstm, transformer"), "{err}");
    }

    #[test]
    fn a_config_file_overrides_training_and_model_fields() {
        let file =
            ConfigFile::parse("[train]\nepochs = 3\nlr = 0.001\n[model]\nchannels = [8, 8]\n")
                .unwrap();
        assert_eq!(file.train.epochs, 3);
        assert_eq!(file.train.batch_size, 64, "unset fields keep defaults");
        let cnn = override_fields(&CnnConfig::paper(500, 1), &file.model, "cnn").unwrap();
        assert_eq!(cnn.channels, vec![8, 8]);
        assert_eq!(cnn.length, 500);
    }

    #[test]
    fn max_steps_caps_whole_epochs() {
        let cfg = TrainConfig {
            epochs: 30,
            max_batches: 30,
            max_steps: 300,
            ..TrainConfig::default()
        };
        // A small split runs every epoch; a large one fewer, rounded up.
        assert_eq!(cfg.epochs_at(cfg.batches_per_epoch(10)), 30);
        assert_eq!(cfg.epochs_at(cfg.batches_per_epoch(104)), 10);
        // 300 / 7 rounds up to 43 epochs, more than asked for.
        assert_eq!(cfg.epochs_at(7), 30);
        assert_eq!(cfg.epochs_at(1000), 1);
        let uncapped = TrainConfig::default();
        assert_eq!(uncapped.epochs_at(1000), uncapped.epochs);
    }

    #[test]
    fn unknown_fields_and_sections_are_errors_that_name_them() {
        let err = ConfigFile::parse("[train]\nepoch = 3\n").unwrap_err();
        assert!(format!("{err:#}").contains("epoch"), "{err:#}");
        let err = ConfigFile::parse("[optim]\nlr = 1\n").unwrap_err();
        assert!(err.to_string().contains("[optim]"), "{err}");
        let file = ConfigFile::parse("[model]\nhiden = 3\n").unwrap();
        let err = override_fields(&CnnConfig::paper(500, 1), &file.model, "cnn").unwrap_err();
        assert!(err.to_string().contains("'hiden'"), "{err}");
        assert!(err.to_string().contains("channels"), "{err}");
    }
}
