//! The leaderboard: every scored run of every task on its test split, by
//! the task's headline metric, with the paper's values beside them. Runs
//! that differ only in their seed are one row (mean ± sd over the seeds),
//! whoever made them: `dnabench train`, an experiment grid, or a model
//! outside dnabench whose predictions came in through `eval --predictions`
//! or `Store.write_predictions`.
//!
//! The rows are SQL over `runs` and `metrics` grouped here; the command
//! line renders them as Markdown or any output format, Python as a
//! `pyarrow.Table`.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Float64Type, Schema, SchemaRef};
use dnabench_queries::TASKS;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::sql::session::open_session;
use crate::sql::statements::run_sql;
use crate::store::Store;

/// How a run is named on a leaderboard or a report, from its `runs` row
/// (`r`): the model and what sets it apart (tokenizer, positions, a
/// pre-trained start, a dataset variant); a downstream fit by the run whose
/// embeddings it read; an outside model by the name it was given.
pub const RUN_LABEL_SQL: &str = "CASE WHEN r.kind = 'downstream' THEN 'downstream on ' || r.init || ' embeddings' \
     WHEN r.kind = 'outside' THEN r.model || CASE WHEN r.dataset = r.task THEN '' ELSE ' on ' || r.dataset END ELSE \
     r.model || CASE WHEN r.tokenizer = 'one_hot' THEN '' ELSE ' ' || r.tokenizer END \
     || CASE WHEN r.config LIKE '%\"positions\":\"relative\"%' THEN ' relative' \
             WHEN r.config LIKE '%\"positions\":\"absolute\"%' THEN ' absolute' ELSE '' END \
     || CASE WHEN r.init IS NULL THEN '' ELSE ' (pre-trained)' END \
     || CASE WHEN r.dataset = r.task THEN '' ELSE ' on ' || r.dataset END END";

/// Where a row's value comes from.
pub const FROM_STORE: &str = "store";
pub const FROM_PAPER: &str = "paper (Table 6.4)";

/// One row: a setup's runs, or a value of the paper.
#[derive(Debug, Clone, PartialEq)]
pub struct LeaderboardRow {
    pub task: String,
    pub dataset: String,
    pub model: String,
    /// [`FROM_STORE`] or [`FROM_PAPER`].
    pub source: String,
    pub runs: Vec<String>,
    /// The seeds the runs name, in the runs' order (empty for the paper).
    pub seeds: Vec<i64>,
    /// The headline metric's label (AUROC, Spearman, …).
    pub metric: String,
    pub mean: Option<f64>,
    /// Over the runs, when there are two or more.
    pub sd: Option<f64>,
}

/// A scored run as read from the store.
struct Scored {
    run_id: String,
    task: String,
    dataset: String,
    model: String,
    setup: String,
    seed: Option<i64>,
    value: Option<f64>,
}

/// Every task's rows, in the paper's task order, best first within a task.
pub async fn leaderboard(store: &Store) -> Result<Vec<LeaderboardRow>> {
    if !store.has_table("runs") || !store.has_table("metrics") {
        return Err(Error::Invalid(format!(
            "store {} has no scored runs yet: score one with 'dnabench eval --run RUN' \
             (or 'dnabench eval --predictions FILE' for a model's predictions made elsewhere)",
            store.root().display()
        )));
    }
    let ctx = open_session(store).await?;
    // The task is the dataset's as materialized (a variant's runs name
    // their dataset), as `eval` scores them.
    let task = if store.has_table("examples") {
        "coalesce((SELECT min(e.task) FROM examples e WHERE e.dataset = r.dataset), r.task)"
    } else {
        "r.task"
    };
    let q = format!(
        "SELECT r.run_id, {task} AS task, r.dataset, {RUN_LABEL_SQL} AS model, r.init, r.config, \
                m.metric, m.\"group\", m.value \
         FROM runs r JOIN metrics m ON m.run_id = r.run_id AND m.split = 'test' ORDER BY r.run_id"
    );
    let result = run_sql(&ctx, "leaderboard", &q, &BTreeMap::new()).await?;
    let mut scored: BTreeMap<String, Scored> = BTreeMap::new();
    for b in &result.batches {
        let text = |i: usize| -> Result<ArrayRef> {
            Ok(arrow::compute::cast(b.column(i), &DataType::Utf8)?)
        };
        let columns: Vec<ArrayRef> = (0..8).map(text).collect::<Result<_>>()?;
        let s = |c: usize, i: usize| {
            let c = columns[c].as_string::<i32>();
            (!c.is_null(i)).then(|| c.value(i).to_string())
        };
        let values = arrow::compute::cast(b.column(8), &DataType::Float64)?;
        let values = values.as_primitive::<Float64Type>();
        for i in 0..b.num_rows() {
            let run_id = s(0, i).unwrap_or_default();
            let task = s(1, i).unwrap_or_default();
            let Some(headline) = TASKS.iter().find(|t| t.name == task) else {
                continue;
            };
            let (metric, group, _) = headline.headline_metric();
            let entry = scored.entry(run_id.clone()).or_insert_with(|| {
                let config = s(5, i).unwrap_or_default();
                let init = s(4, i).map(|init| strip_seed_suffix(&init).to_string());
                Scored {
                    run_id,
                    task: task.clone(),
                    dataset: s(2, i).unwrap_or_default(),
                    model: s(3, i).unwrap_or_default(),
                    setup: format!("{}|{}", setup_of(&config), init.unwrap_or_default()),
                    seed: seed_of(&config),
                    value: None,
                }
            });
            if s(6, i).as_deref() == Some(metric) && s(7, i).as_deref() == Some(group) {
                entry.value =
                    (!values.is_null(i) && values.value(i).is_finite()).then(|| values.value(i));
            }
        }
    }
    // Runs of one setup that name a seed are one row; a run that names none
    // stands alone.
    let mut groups: BTreeMap<(String, String, String, String), Vec<&Scored>> = BTreeMap::new();
    for run in scored.values() {
        let alone = if run.seed.is_none() {
            run.run_id.clone()
        } else {
            String::new()
        };
        groups
            .entry((
                run.task.clone(),
                run.dataset.clone(),
                run.model.clone(),
                format!("{}|{alone}", run.setup),
            ))
            .or_default()
            .push(run);
    }
    let mut rows = Vec::new();
    for task in TASKS {
        let (_, _, label) = task.headline_metric();
        let mut task_rows: Vec<LeaderboardRow> = groups
            .iter()
            .filter(|((t, ..), _)| t == task.name)
            .map(|((task, dataset, model, _), runs)| {
                let values: Vec<f64> = runs.iter().filter_map(|r| r.value).collect();
                let (mean, sd) = mean_sd(&values);
                LeaderboardRow {
                    task: task.clone(),
                    dataset: dataset.clone(),
                    model: model.clone(),
                    source: FROM_STORE.into(),
                    runs: runs.iter().map(|r| r.run_id.clone()).collect(),
                    seeds: runs.iter().filter_map(|r| r.seed).collect(),
                    metric: label.into(),
                    mean,
                    sd,
                }
            })
            .collect();
        if task_rows.is_empty() {
            continue;
        }
        task_rows.extend(task.paper.iter().map(|(model, value)| LeaderboardRow {
            task: task.name.into(),
            dataset: task.name.into(),
            model: (*model).into(),
            source: FROM_PAPER.into(),
            runs: Vec::new(),
            seeds: Vec::new(),
            metric: label.into(),
            mean: Some(*value),
            sd: None,
        }));
        task_rows.sort_by(|a, b| {
            b.mean
                .unwrap_or(f64::NEG_INFINITY)
                .total_cmp(&a.mean.unwrap_or(f64::NEG_INFINITY))
                .then_with(|| a.model.cmp(&b.model))
        });
        rows.extend(task_rows);
    }
    if rows.is_empty() {
        return Err(Error::Invalid(
            "no run has test metrics yet: score one with 'dnabench eval --run RUN'".into(),
        ));
    }
    Ok(rows)
}

/// The rows as one record batch (for `dnabench leaderboard --format` and
/// Python).
pub fn leaderboard_batch(rows: &[LeaderboardRow]) -> Result<RecordBatch> {
    let text = |f: &dyn Fn(&LeaderboardRow) -> String| {
        Arc::new(StringArray::from_iter_values(rows.iter().map(f))) as ArrayRef
    };
    let join = |items: Vec<String>| items.join(",");
    Ok(RecordBatch::try_new(
        leaderboard_schema(),
        vec![
            text(&|r| r.task.clone()),
            text(&|r| r.dataset.clone()),
            text(&|r| r.model.clone()),
            text(&|r| r.source.clone()),
            Arc::new(Int64Array::from_iter_values(
                rows.iter().map(|r| r.runs.len() as i64),
            )),
            text(&|r| join(r.runs.clone())),
            text(&|r| join(r.seeds.iter().map(i64::to_string).collect())),
            text(&|r| r.metric.clone()),
            Arc::new(Float64Array::from_iter(rows.iter().map(|r| r.mean))),
            Arc::new(Float64Array::from_iter(rows.iter().map(|r| r.sd))),
        ],
    )?)
}

pub fn leaderboard_schema() -> SchemaRef {
    let text = |name: &str| Field::new(name, DataType::Utf8, false);
    Arc::new(Schema::new(vec![
        text("task"),
        text("dataset"),
        text("model"),
        text("source"),
        Field::new("n_runs", DataType::Int64, false),
        text("runs"),
        text("seeds"),
        text("metric"),
        Field::new("mean", DataType::Float64, true),
        Field::new("sd", DataType::Float64, true),
    ]))
}

/// The mean, and the sample standard deviation of two or more values.
fn mean_sd(values: &[f64]) -> (Option<f64>, Option<f64>) {
    if values.is_empty() {
        return (None, None);
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let sd = (values.len() > 1)
        .then(|| (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt());
    (Some(mean), sd)
}

/// Keys that name a run rather than its setup.
const NOT_SETUP: [&str; 3] = ["run_id", "seed", "init"];

/// A run's configuration less what differs between seeds of one setup (its
/// id, its seed, the seed's pre-trained start); a config that is not JSON
/// is its own setup.
fn setup_of(config: &str) -> String {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(map) => {
                for key in NOT_SETUP {
                    map.remove(key);
                }
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    match serde_json::from_str::<Value>(config) {
        Ok(mut v) => {
            strip(&mut v);
            v.to_string()
        }
        Err(_) => config.to_string(),
    }
}

/// The seed a run's configuration names: `seed` at its top level (an
/// outside model's config, a downstream fit's), else `train.seed`
/// (dnabench's training runs).
fn seed_of(config: &str) -> Option<i64> {
    let v: Value = serde_json::from_str(config).ok()?;
    v.get("seed")
        .or_else(|| v.get("train").and_then(|t| t.get("seed")))
        .and_then(Value::as_i64)
}

/// `pretrain-…-s2` → `pretrain-…`: the pre-trained start of a seed, as
/// one start for all seeds.
fn strip_seed_suffix(run_id: &str) -> &str {
    match run_id.rsplit_once("-s") {
        Some((head, tail)) if !tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit()) => head,
        _ => run_id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_are_found_and_set_aside_from_the_setup() {
        let a = r#"{"run_id":"p-1","train":{"seed":0,"lr":0.001},"init":"mlm-s0"}"#;
        let b = r#"{"run_id":"p-2","train":{"seed":1,"lr":0.001},"init":"mlm-s1"}"#;
        let c = r#"{"run_id":"p-3","train":{"seed":1,"lr":0.01}}"#;
        assert_eq!(seed_of(a), Some(0));
        assert_eq!(seed_of(r#"{"seed": 7, "width": 64}"#), Some(7));
        assert_eq!(seed_of(r#"{"width": 64}"#), None);
        assert_eq!(seed_of("not json"), None);
        assert_eq!(setup_of(a), setup_of(b));
        assert_ne!(setup_of(a), setup_of(c));
        assert_eq!(
            strip_seed_suffix("pretrain-cnn-ab12-s2"),
            "pretrain-cnn-ab12"
        );
        assert_eq!(strip_seed_suffix("promoter-cnn-1"), "promoter-cnn-1");
        assert_eq!(strip_seed_suffix("x-s"), "x-s");
    }

    #[test]
    fn the_sd_needs_two_values() {
        assert_eq!(mean_sd(&[]), (None, None));
        assert_eq!(mean_sd(&[0.5]), (Some(0.5), None));
        let (mean, sd) = mean_sd(&[0.7, 0.8, 0.9]);
        assert!((mean.unwrap() - 0.8).abs() < 1e-12);
        assert!((sd.unwrap() - 0.1).abs() < 1e-12);
    }
}
