//! Run ids: `EXPERIMENT-DATASET-MODEL-TOKENIZER[-POSITIONS][-INIT]-TAG`
//! (and `-sSEED`), what a run trains and a tag of what shaped it, so that
//! tables sharing a setup share its runs and an edited config trains new
//! ones.

use anyhow::Result;
use dnabench_engine::hash::hash64;
use dnabench_training::downstream::DownstreamModel;

use super::plan::{rate_tag, Arm, Init};
use super::Runner;

impl Runner<'_> {
    /// The arm's runs on `dataset` without their `-sSEED`: what they train
    /// and a tag of everything that shapes them (the config's text, the
    /// dataset's parameters, the run they start from), so an edited config
    /// trains new runs rather than reusing stale ones.
    pub(super) fn stem(&self, dataset: &str, arm: &Arm) -> Result<String> {
        let task = self.task_of(dataset)?;
        let backbone = self.file.experiment.backbone.clone();
        let from_backbone = arm.starts_from_backbone(dataset);
        let tag = if DownstreamModel::for_task(&task).is_some() {
            let (_, text) = self.config_text("downstream", dataset);
            tag(&[text, &self.stem(&backbone, arm)?])
        } else {
            let (_, text) = self.config_text(&arm.model.to_string(), dataset);
            let init = match arm.init {
                _ if from_backbone => self.stem(self.file.backbone_of(dataset), arm)?,
                Init::Scratch => String::new(),
                Init::Mlm(rate) => self.pretrain_id(arm, rate)?,
                Init::Chromatin => self.stem(&backbone, &arm.scratch())?,
            };
            let params = self
                .file
                .datasets
                .get(dataset)
                .map(|d| format!("{:?} {:?}", d.task, d.params))
                .unwrap_or_default();
            self.tag(&[text, &init, &params])
        };
        let curriculum = if from_backbone { "-bb" } else { "" };
        Ok(format!(
            "{}-{dataset}-{}{curriculum}-{tag}",
            self.file.experiment.name,
            arm.key()
        ))
    }

    /// The MLM pre-training of the arm's tokenizer and positions at `rate`.
    pub(super) fn pretrain_id(&self, arm: &Arm, rate: f64) -> Result<String> {
        let (_, text) = self.config_text("pretrain", "genome");
        let window = self.file.experiment.pretrain_window.to_string();
        Ok(format!(
            "{}-mlm-{}-{}-m{}-{}",
            self.file.experiment.name,
            arm.tokenizer,
            arm.positions,
            rate_tag(rate),
            self.tag(&[text, &window])
        ))
    }

    /// [`tag`] of `parts` and, in a smoke run, its step cap: a capped run
    /// never stands in for a whole one.
    pub(super) fn tag(&self, parts: &[&str]) -> String {
        match self.max_steps {
            Some(n) => {
                let cap = format!("max_steps {n}");
                tag(&[parts, &[cap.as_str()]].concat())
            }
            None => tag(parts),
        }
    }
}

/// Six hex digits of a hash of `parts`: a run id's tag of what shaped it.
fn tag(parts: &[&str]) -> String {
    let key = parts.join("\0");
    format!("{:06x}", hash64(key.as_bytes(), 0) & 0xff_ffff)
}
