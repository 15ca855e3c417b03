//! Task heads: how a task's label columns become target tensors, which
//! loss trains them, and what a model's output means. What each task
//! predicts comes from the task registry (`dnabench_queries::TASKS`):
//!
//! | prediction | outputs | loss |
//! | --- | --- | --- |
//! | `Binary` (promoter, causal_snp) | 1 logit from `label` | BCE |
//! | `MultiLabel` (chromatin) | one logit per track in `positive_tracks` | focal (or BCE) |
//! | `PerSample` (methylation, expression) | one value per sample of `targets`; NULL ones masked | MSE, or Huber (expression) |
//! | `Value` (mpra) | 1 value from `label` | MSE |
//!
//! A run's `regression_loss` replaces a regression head's loss: `bce` trains
//! sigmoid outputs against fractions in [0, 1] (the paper's methylation
//! head), and the run then predicts probabilities.
//!
//! Variant tasks are siamese: the model reads the reference and the
//! alternative sequence, and its output is `f(alt) − f(ref)`.

use std::collections::HashMap;

use anyhow::{bail, Context, Result};
use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{Float32Type, Int32Type};
use candle_core::{Device, Tensor};
use dnabench_queries::{Prediction, Task};
use serde::{Deserialize, Serialize};

use crate::config::RegressionLoss;
use crate::losses;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Head {
    /// One logit against the 0/1 `label`.
    Binary,
    /// One logit per track: output `i` is track `tracks[i]`.
    MultiLabel { tracks: Vec<i32>, focal: bool },
    /// Values against `targets` (one per sample) or the one `label`.
    Regression {
        outputs: usize,
        from_targets: bool,
        huber: bool,
        /// Logits of fractions, trained with BCE; predicted as sigmoid.
        #[serde(default)]
        probability: bool,
    },
}

/// The focal loss's γ and α (Lin et al.'s defaults).
const FOCAL_GAMMA: f64 = 2.0;
const FOCAL_ALPHA: f64 = 0.25;
const HUBER_DELTA: f64 = 1.0;

impl Head {
    /// The head of `task`. `tracks` (chromatin) and `samples` (methylation,
    /// expression) come from the dataset.
    pub fn for_task(task: &str, tracks: Vec<i32>, samples: usize, focal: bool) -> Result<Head> {
        let Some(known) = Task::named(task) else {
            bail!(
                "no head for task '{task}'; tasks with heads: {}",
                Task::names()
            );
        };
        Ok(match known.prediction {
            Prediction::Binary => Head::Binary,
            Prediction::MultiLabel => {
                if tracks.is_empty() {
                    bail!("{task} dataset has no positive track in any example");
                }
                Head::MultiLabel { tracks, focal }
            }
            Prediction::PerSample { huber } => {
                if samples == 0 {
                    bail!("{task} dataset has no targets");
                }
                Head::Regression {
                    outputs: samples,
                    from_targets: true,
                    huber,
                    probability: false,
                }
            }
            Prediction::Value => Head::Regression {
                outputs: 1,
                from_targets: false,
                huber: false,
                probability: false,
            },
        })
    }

    /// The head with `loss` in place of its task's regression loss; heads
    /// that are not regressions are kept as they are.
    pub fn with_regression_loss(self, loss: Option<RegressionLoss>) -> Head {
        match (self, loss) {
            (
                Head::Regression {
                    outputs,
                    from_targets,
                    ..
                },
                Some(loss),
            ) => Head::Regression {
                outputs,
                from_targets,
                huber: loss == RegressionLoss::Huber,
                probability: loss == RegressionLoss::Bce,
            },
            (head, _) => head,
        }
    }

    /// Whether outputs are logits whose sigmoid is the prediction written.
    pub fn predicts_probability(&self) -> bool {
        matches!(
            self,
            Head::Regression {
                probability: true,
                ..
            }
        )
    }

    /// Whether examples carry an `alt_seq` the model reads as well.
    pub fn is_pair(task: &str) -> bool {
        Task::named(task).is_some_and(|t| t.pair)
    }

    pub fn outputs(&self) -> usize {
        match self {
            Head::Binary => 1,
            Head::MultiLabel { tracks, .. } => tracks.len(),
            Head::Regression { outputs, .. } => *outputs,
        }
    }

    /// The `examples` column the targets come from.
    pub fn label_column(&self) -> &'static str {
        match self {
            Head::Binary => "label",
            Head::MultiLabel { .. } => "positive_tracks",
            Head::Regression { from_targets, .. } => {
                if *from_targets {
                    "targets"
                } else {
                    "label"
                }
            }
        }
    }

    /// `(batch, outputs)` targets and a mask of the same shape (0 where the
    /// value is NULL, so it counts in no loss).
    pub fn targets(&self, batch: &RecordBatch, device: &Device) -> Result<(Tensor, Tensor)> {
        let (values, mask) = self.target_values(batch)?;
        let shape = (batch.num_rows(), self.outputs());
        Ok((
            Tensor::from_vec(values, shape, device)?,
            Tensor::from_vec(mask, shape, device)?,
        ))
    }

    /// For a multi-label head, each row's positive outputs (indices into
    /// the head's tracks) as a list column: the targets in a few bytes an
    /// example, where the dense layout takes 8 per track (`crate::arrays`).
    pub fn positive_outputs(&self, batch: &RecordBatch) -> Result<arrow::array::ListArray> {
        let Head::MultiLabel { tracks, .. } = self else {
            bail!("only a multi-label head has positive outputs");
        };
        let column = self.label_column();
        let lists = batch
            .column_by_name(column)
            .with_context(|| format!("batch has no '{column}' column"))?
            .as_list::<i32>();
        let index: HashMap<i32, i32> = tracks
            .iter()
            .enumerate()
            .map(|(i, t)| (*t, i as i32))
            .collect();
        let mut builder =
            arrow::array::ListBuilder::new(arrow::array::Int32Builder::new()).with_field(
                arrow::datatypes::Field::new("item", arrow::datatypes::DataType::Int32, false),
            );
        for row in 0..batch.num_rows() {
            if !lists.is_null(row) {
                let ids = lists.value(row);
                // A track outside the head's (a subset run) is no label.
                for t in ids.as_primitive::<Int32Type>().values() {
                    if let Some(&i) = index.get(t) {
                        builder.values().append_value(i);
                    }
                }
            }
            builder.append(true);
        }
        Ok(builder.finish())
    }

    /// [`Head::targets`] as row-major values and mask, for readers outside
    /// candle (`crate::arrays`).
    pub fn target_values(&self, batch: &RecordBatch) -> Result<(Vec<f32>, Vec<f32>)> {
        let column = self.label_column();
        let array = batch
            .column_by_name(column)
            .with_context(|| format!("batch has no '{column}' column"))?;
        let rows = batch.num_rows();
        let outputs = self.outputs();
        let mut values = vec![0f32; rows * outputs];
        let mut mask = vec![1f32; rows * outputs];
        match self {
            Head::MultiLabel { .. } => {
                let positives = self.positive_outputs(batch)?;
                for row in 0..rows {
                    let outputs_on = positives.value(row);
                    for &i in outputs_on.as_primitive::<Int32Type>().values() {
                        values[row * outputs + i as usize] = 1.0;
                    }
                }
            }
            Head::Regression {
                from_targets: true, ..
            } => {
                let lists = array.as_list::<i32>();
                for row in 0..rows {
                    let cells = if lists.is_null(row) {
                        None
                    } else {
                        Some(lists.value(row))
                    };
                    let Some(cells) = cells else {
                        mask[row * outputs..(row + 1) * outputs].fill(0.0);
                        continue;
                    };
                    if cells.len() != outputs {
                        bail!(
                            "example {row} of the batch has {} targets, the head {outputs}",
                            cells.len()
                        );
                    }
                    let cells = cells.as_primitive::<Float32Type>();
                    for i in 0..outputs {
                        if cells.is_null(i) || cells.value(i).is_nan() {
                            mask[row * outputs + i] = 0.0;
                        } else {
                            values[row * outputs + i] = self.checked(cells.value(i), row)?;
                        }
                    }
                }
            }
            Head::Binary | Head::Regression { .. } => {
                let labels = array.as_primitive::<Float32Type>();
                for row in 0..rows {
                    if labels.is_null(row) || labels.value(row).is_nan() {
                        mask[row] = 0.0;
                    } else {
                        values[row] = self.checked(labels.value(row), row)?;
                    }
                }
            }
        }
        Ok((values, mask))
    }

    /// `value`, if this head can learn it: a probability head's targets
    /// are fractions.
    fn checked(&self, value: f32, row: usize) -> Result<f32> {
        if self.predicts_probability() && !(0.0..=1.0).contains(&value) {
            bail!(
                "example {row} of the batch has target {value}: regression_loss = \"bce\" needs fractions in [0, 1] (methylation's); use mse or huber"
            );
        }
        Ok(value)
    }

    /// The loss of `outputs` against `targets`, over unmasked values.
    pub fn loss(&self, outputs: &Tensor, targets: &Tensor, mask: &Tensor) -> Result<Tensor> {
        let values = match self {
            Head::Binary
            | Head::MultiLabel { focal: false, .. }
            | Head::Regression {
                probability: true, ..
            } => losses::bce_elementwise(outputs, targets)?,
            Head::MultiLabel { focal: true, .. } => {
                losses::focal_elementwise(outputs, targets, FOCAL_GAMMA, FOCAL_ALPHA)?
            }
            Head::Regression { huber: true, .. } => {
                losses::huber_elementwise(outputs, targets, HUBER_DELTA)?
            }
            Head::Regression { huber: false, .. } => losses::squared_error(outputs, targets)?,
        };
        let loss = losses::masked_mean(&values, mask)?;
        Ok(loss)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Float32Array, ListArray};
    use arrow::datatypes::{Field, Schema};

    use super::*;

    fn batch(name: &str, array: Arc<dyn Array>) -> RecordBatch {
        let schema = Schema::new(vec![Field::new(name, array.data_type().clone(), true)]);
        RecordBatch::try_new(Arc::new(schema), vec![array]).unwrap()
    }

    #[test]
    fn chromatin_tracks_become_multi_hot_rows_in_head_order() {
        let head = Head::for_task("chromatin", vec![3, 7, 9], 0, true).unwrap();
        let lists = ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
            Some(vec![Some(7)]),
            Some(vec![Some(3), Some(9), Some(42)]),
            None,
        ]);
        let (y, mask) = head
            .targets(&batch("positive_tracks", Arc::new(lists)), &Device::Cpu)
            .unwrap();
        assert_eq!(
            y.to_vec2::<f32>().unwrap(),
            vec![vec![0., 1., 0.], vec![1., 0., 1.], vec![0., 0., 0.]]
        );
        assert_eq!(mask.sum_all().unwrap().to_scalar::<f32>().unwrap(), 9.0);
    }

    #[test]
    fn null_targets_are_masked_out_of_the_loss() {
        let head = Head::for_task("methylation", vec![], 2, true).unwrap();
        let lists = ListArray::from_iter_primitive::<Float32Type, _, _>(vec![
            Some(vec![Some(0.5), None]),
            None,
        ]);
        let (y, mask) = head
            .targets(&batch("targets", Arc::new(lists)), &Device::Cpu)
            .unwrap();
        assert_eq!(
            mask.to_vec2::<f32>().unwrap(),
            vec![vec![1., 0.], vec![0., 0.]]
        );
        // Only the one unmasked value counts: (0.7 − 0.5)².
        let out = Tensor::new(&[[0.7f32, 100.], [-5., 5.]], &Device::Cpu).unwrap();
        let loss = head
            .loss(&out, &y, &mask)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!((loss - 0.04).abs() < 1e-6, "{loss}");
    }

    #[test]
    fn a_bce_methylation_head_trains_on_fractions_and_masks_nulls() {
        let head = Head::for_task("methylation", vec![], 2, true)
            .unwrap()
            .with_regression_loss(Some(RegressionLoss::Bce));
        assert!(head.predicts_probability());
        let lists = ListArray::from_iter_primitive::<Float32Type, _, _>(vec![
            Some(vec![Some(0.25), None]),
            Some(vec![Some(1.0), Some(0.0)]),
        ]);
        let (y, mask) = head
            .targets(&batch("targets", Arc::new(lists)), &Device::Cpu)
            .unwrap();
        let out = Tensor::new(&[[0.0f32, 50.], [2.0, -1.0]], &Device::Cpu).unwrap();
        let loss = head
            .loss(&out, &y, &mask)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        // BCE of logit 0 at 0.25 (ln 2), logit 2 at 1, logit −1 at 0; the
        // NULL's 50 counts nowhere.
        let want = (2f32.ln() + (1.0 + (-2f32).exp()).ln() + (1.0 + (-1f32).exp()).ln()) / 3.0;
        assert!((loss - want).abs() < 1e-5, "{loss} vs {want}");
        // Not a fraction: a clear error, not a silent loss.
        let lists = ListArray::from_iter_primitive::<Float32Type, _, _>(vec![Some(vec![
            Some(0.5),
            Some(1.5),
        ])]);
        let err = head
            .targets(&batch("targets", Arc::new(lists)), &Device::Cpu)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("target 1.5") && err.contains("[0, 1]"),
            "{err}"
        );
        // Other heads keep their loss.
        let binary = Head::for_task("promoter", vec![], 0, true)
            .unwrap()
            .with_regression_loss(Some(RegressionLoss::Bce));
        assert_eq!(binary, Head::Binary);
        let mse = Head::for_task("methylation", vec![], 2, true)
            .unwrap()
            .with_regression_loss(Some(RegressionLoss::Mse));
        assert!(!mse.predicts_probability());
    }

    #[test]
    fn labels_and_unknown_tasks() {
        let head = Head::for_task("promoter", vec![], 0, true).unwrap();
        let labels = Float32Array::from(vec![Some(1.0), Some(0.0), None]);
        let (y, mask) = head
            .targets(&batch("label", Arc::new(labels)), &Device::Cpu)
            .unwrap();
        assert_eq!(
            y.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            vec![1., 0., 0.]
        );
        assert_eq!(
            mask.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            vec![1., 1., 0.]
        );
        let err = Head::for_task("splicing", vec![], 0, true).unwrap_err();
        assert!(err.to_string().contains("promoter, methylation"), "{err}");
        assert!(Head::for_task("chromatin", vec![], 0, true).is_err());
    }
}
