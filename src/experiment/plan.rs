//! An experiment file: its datasets, the model setups ("arms") each table
//! compares, and the paper's values; expanded into the runs to make.
//!
//! ```toml
//! [experiment]
//! name = "table_6_1"
//! title = "Position encoding"
//! seeds = 3
//!
//! [datasets]
//! prom_set = { task = "promoter", params = { max_shift = 0 } }
//!
//! [configs]
//! transformer = "training/configs/quickstart_transformer.toml"
//!
//! [[table]]
//! title = "PromSet"
//! datasets = ["prom_set"]
//! metrics = ["auroc", "auprc_paper"]
//! arms = [{ model = "transformer", positions = ["rotary", "relative", "absolute"] }]
//! paper = [{ dataset = "prom_set", arm = "rotary", auroc = 0.979, auprc_paper = 0.982 }]
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use dnabench_training::config::{ModelKind, TokenizerKind};
use dnabench_training::models::Positions;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentFile {
    pub experiment: Header,
    /// Dataset variants by name: a task's SQL with parameters. A name that
    /// is not here is a dataset the store already has (a task's own).
    #[serde(default)]
    pub datasets: BTreeMap<String, DatasetSpec>,
    /// A train config per model (`cnn`, `cnn_lstm`, `transformer`), and
    /// `pretrain` for the MLM runs and `downstream` for the fits.
    #[serde(default)]
    pub configs: BTreeMap<String, PathBuf>,
    #[serde(rename = "table")]
    pub tables: Vec<TableSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub name: String,
    pub title: String,
    #[serde(default = "three")]
    pub seeds: usize,
    /// The dataset whose runs are the backbones of downstream tasks and the
    /// `chromatin` initialisation.
    #[serde(default = "chromatin")]
    pub backbone: String,
    /// Window of the MLM pre-training, in bp.
    #[serde(default = "window")]
    pub pretrain_window: usize,
}

fn three() -> usize {
    3
}

fn chromatin() -> String {
    "chromatin".into()
}

fn window() -> usize {
    512
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetSpec {
    pub task: String,
    /// A bundled variant query (`queries/variants/NAME.sql`) run instead of
    /// the task's own; its source datasets are materialized first.
    #[serde(default)]
    pub variant: Option<String>,
    #[serde(default)]
    pub params: BTreeMap<String, toml::Value>,
    /// The dataset a curriculum (`start_from_backbone`) on this one starts
    /// from, in place of the experiment's backbone: a chromosome split's
    /// own split of the bins, so that neither stage sees its test
    /// chromosomes.
    #[serde(default)]
    pub backbone: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableSpec {
    pub title: String,
    pub datasets: Vec<String>,
    /// Metric names of `metrics` (default: each task's headline metric).
    #[serde(default)]
    pub metrics: Vec<String>,
    pub arms: Vec<ArmSpec>,
    #[serde(default)]
    pub paper: Vec<PaperValues>,
}

/// A model setup; a list in any field makes one arm per value.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArmSpec {
    /// The column's name (default: the fields the arms of the table vary).
    pub name: Option<String>,
    pub model: OneOrMany<String>,
    #[serde(default)]
    pub tokenizer: OneOrMany<String>,
    #[serde(default)]
    pub positions: OneOrMany<String>,
    /// `scratch`, `mlm` (a pre-training run of the same Transformer) or
    /// `chromatin` (the same model trained on the backbone dataset).
    #[serde(default)]
    pub init: OneOrMany<String>,
    /// The MLM's mask rate (with `init = "mlm"`).
    #[serde(default)]
    pub mask_rate: OneOrMany<f64>,
    /// Datasets on which the arm starts from its own backbone run of the
    /// same seed rather than from `init`: a curriculum, the backbone's
    /// labels first (the Transformer on chromatin's 1000 bp windows after
    /// their 200 bp bins). The model must read any length: a Transformer
    /// or a globally pooled CNN.
    #[serde(default)]
    pub start_from_backbone: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T> Default for OneOrMany<T> {
    fn default() -> Self {
        OneOrMany::Many(Vec::new())
    }
}

impl<T: Clone> OneOrMany<T> {
    fn values(&self, default: T) -> Vec<T> {
        match self {
            OneOrMany::One(v) => vec![v.clone()],
            OneOrMany::Many(v) if v.is_empty() => vec![default],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

/// The paper's values of one cell: `dataset`, `arm` (a column name) and a
/// value per metric name.
#[derive(Debug, Clone, Deserialize)]
pub struct PaperValues {
    pub dataset: String,
    pub arm: String,
    #[serde(flatten)]
    pub values: BTreeMap<String, f64>,
}

/// How a run starts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Init {
    Scratch,
    /// From an MLM pre-training at this mask rate.
    Mlm(f64),
    /// From the same model trained on the backbone dataset.
    Chromatin,
}

/// One model setup, a column of a table.
#[derive(Debug, Clone, PartialEq)]
pub struct Arm {
    pub name: String,
    pub model: ModelKind,
    pub tokenizer: TokenizerKind,
    pub positions: Positions,
    pub init: Init,
    /// The datasets it starts on from its backbone run (`start_from_backbone`).
    pub from_backbone: Vec<String>,
}

impl Arm {
    /// Whether its run on `dataset` starts from its backbone run.
    pub fn starts_from_backbone(&self, dataset: &str) -> bool {
        self.from_backbone.iter().any(|d| d == dataset)
    }

    /// The same setup, started from scratch.
    pub fn scratch(&self) -> Arm {
        Arm {
            init: Init::Scratch,
            ..self.clone()
        }
    }

    /// The arm's part of a run id: what it trains, not its column name, so
    /// tables that share a setup share its runs.
    pub fn key(&self) -> String {
        let mut key = format!("{}-{}", self.model, self.tokenizer);
        if self.model == ModelKind::Transformer {
            key.push_str(&format!("-{}", self.positions));
        }
        match self.init {
            Init::Scratch => {}
            Init::Mlm(rate) => key.push_str(&format!("-mlm{}", rate_tag(rate))),
            Init::Chromatin => key.push_str("-sup"),
        }
        key
    }
}

/// `0.3` as `30` (per cent), for run ids.
pub fn rate_tag(rate: f64) -> String {
    format!("{:.0}", rate * 100.0)
}

impl ExperimentFile {
    pub fn read(path: &Path) -> Result<ExperimentFile> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read experiment {}", path.display()))?;
        let file: ExperimentFile =
            toml::from_str(&text).with_context(|| format!("experiment {}", path.display()))?;
        if file.experiment.seeds == 0 {
            bail!("experiment {}: seeds must be at least 1", path.display());
        }
        if file.tables.is_empty() {
            bail!("experiment {}: no [[table]]", path.display());
        }
        for (i, table) in file.tables.iter().enumerate() {
            if table.datasets.is_empty() || table.arms.is_empty() {
                bail!(
                    "experiment {}: table {} ('{}') needs datasets and arms",
                    path.display(),
                    i + 1,
                    table.title
                );
            }
            for dataset in table.arms.iter().flat_map(|a| &a.start_from_backbone) {
                let backbone = file.backbone_of(dataset);
                if dataset == backbone || !table.datasets.contains(dataset) {
                    bail!(
                        "experiment {}: table '{}' starts '{dataset}' from the backbone; give datasets of the table other than the backbone ('{backbone}'): {:?}",
                        path.display(),
                        table.title,
                        table.datasets
                    );
                }
            }
        }
        Ok(file)
    }

    /// The dataset whose run a curriculum on `dataset` starts from: its
    /// `[datasets]` entry's `backbone`, else the experiment's.
    pub fn backbone_of<'a>(&'a self, dataset: &'a str) -> &'a str {
        self.datasets
            .get(dataset)
            .and_then(|d| d.backbone.as_deref())
            .unwrap_or(&self.experiment.backbone)
    }
}

impl TableSpec {
    /// The table's arms, each list expanded; unnamed arms are named by the
    /// fields their values differ in.
    pub fn arms(&self) -> Result<Vec<Arm>> {
        let mut arms = Vec::new();
        for spec in &self.arms {
            let expanded = self.expand(spec)?;
            let one = expanded.len() == 1;
            for (parts, mut arm) in expanded {
                arm.name = match (&spec.name, one) {
                    (Some(name), true) => name.clone(),
                    (Some(name), false) => format!("{name} {}", varying(&parts, spec)),
                    (None, _) => varying(&parts, spec),
                };
                arms.push(arm);
            }
        }
        let mut names: Vec<&str> = arms.iter().map(|a| a.name.as_str()).collect();
        names.sort();
        if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
            bail!(
                "table '{}': two arms named '{}'; name them",
                self.title,
                w[0]
            );
        }
        for p in &self.paper {
            if !names.contains(&p.arm.as_str()) || !self.datasets.contains(&p.dataset) {
                bail!(
                    "table '{}': a paper value for dataset '{}' and arm '{}', but the table's datasets are {:?} and its arms {:?}",
                    self.title,
                    p.dataset,
                    p.arm,
                    self.datasets,
                    names
                );
            }
        }
        Ok(arms)
    }

    /// One arm per combination of a spec's values, each with the text of
    /// its model, tokenizer, positions and start (to name it by).
    fn expand(&self, spec: &ArmSpec) -> Result<Vec<([String; 4], Arm)>> {
        let parse = |text: &str| anyhow::Error::msg(format!("table '{}': {text}", self.title));
        // The starts: the mask rates apply to the MLM only.
        let mut inits = Vec::new();
        for init in spec.init.values("scratch".into()) {
            match init.as_str() {
                "scratch" => inits.push((init, Init::Scratch)),
                "chromatin" => inits.push((init, Init::Chromatin)),
                "mlm" => inits.extend(
                    spec.mask_rate
                        .values(0.3)
                        .into_iter()
                        .map(|rate| (format!("mlm {rate}"), Init::Mlm(rate))),
                ),
                other => bail!(
                    "table '{}': init '{other}'; give scratch, mlm or chromatin",
                    self.title
                ),
            }
        }
        let positions = spec
            .positions
            .values("rotary".into())
            .into_iter()
            .map(|p| Ok((p.parse::<Positions>().map_err(|e| parse(&e))?, p)))
            .collect::<Result<Vec<_>>>()?;
        let mut expanded = Vec::new();
        for model in spec.model.values(String::new()) {
            let kind: ModelKind = model.parse().map_err(|e: String| parse(&e))?;
            if kind != ModelKind::Transformer
                && inits.iter().any(|(_, i)| matches!(i, Init::Mlm(_)))
            {
                bail!(
                    "table '{}': only the transformer pre-trains (init = \"mlm\")",
                    self.title
                );
            }
            let default_tokenizer = match kind {
                ModelKind::Transformer => "kpatch",
                _ => "one_hot",
            };
            for tokenizer in spec.tokenizer.values(default_tokenizer.into()) {
                let tokenizer_kind: TokenizerKind =
                    tokenizer.parse().map_err(|e: String| parse(&e))?;
                for (positions_kind, positions) in &positions {
                    for (label, init) in &inits {
                        let parts = [
                            model.clone(),
                            tokenizer.clone(),
                            positions.clone(),
                            label.clone(),
                        ];
                        let arm = Arm {
                            name: String::new(),
                            model: kind,
                            tokenizer: tokenizer_kind,
                            positions: *positions_kind,
                            init: *init,
                            from_backbone: spec.start_from_backbone.clone(),
                        };
                        expanded.push((parts, arm));
                    }
                }
            }
        }
        Ok(expanded)
    }
}

/// The parts of an arm its spec lists several values of (all, for a
/// single arm without a name: its model).
fn varying(parts: &[String; 4], spec: &ArmSpec) -> String {
    let many = [
        matches!(&spec.model, OneOrMany::Many(v) if v.len() > 1),
        matches!(&spec.tokenizer, OneOrMany::Many(v) if v.len() > 1),
        matches!(&spec.positions, OneOrMany::Many(v) if v.len() > 1),
        matches!(&spec.init, OneOrMany::Many(v) if v.len() > 1)
            || matches!(&spec.mask_rate, OneOrMany::Many(v) if v.len() > 1),
    ];
    let picked: Vec<&str> = parts
        .iter()
        .zip(many)
        .filter(|(_, m)| *m)
        .map(|(p, _)| p.as_str())
        .collect();
    if picked.is_empty() {
        parts[0].clone()
    } else {
        picked.join(" ")
    }
}

#[cfg(test)]
mod tests;
