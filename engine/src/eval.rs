//! `dnabench eval`: a run's predictions scored by its task's metric query
//! (`queries/metrics/TASK.sql`), written to `metrics` in one commit.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Float64Type};
use dnabench_queries::MetricQuery;

use crate::error::{Error, Result};
use crate::sql::session::open_session;
use crate::sql::statements::run_sql;
use crate::store::Store;

/// One metric of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    pub metric: String,
    pub group: String,
    pub value: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub run_id: String,
    pub task: String,
    pub split: String,
    pub scores: Vec<Score>,
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Scores `run_id`'s predictions of `split`, which must cover the split's
/// examples unless `allow_partial` (a metric over a part of the test split
/// is not the benchmark's number, so it is scored only when asked for).
pub async fn evaluate(
    store: &Store,
    run_id: &str,
    split: &str,
    allow_partial: bool,
) -> Result<Evaluation> {
    let ctx = open_session(store).await?;
    let no_params = BTreeMap::new();
    if !store.has_table("runs") || !store.has_table("predictions") {
        return Err(Error::Invalid(format!(
            "store {} has no runs or no predictions yet; train and predict first",
            store.root().display()
        )));
    }
    // The task is the dataset's, as materialized: runs written before
    // downstream fits recorded it named a variant's dataset instead.
    let q = if store.has_table("examples") {
        format!(
            "SELECT coalesce((SELECT min(e.task) FROM examples e WHERE e.dataset = r.dataset), r.task), r.dataset \
             FROM runs r WHERE r.run_id = {}",
            quote(run_id)
        )
    } else {
        format!(
            "SELECT task, dataset FROM runs WHERE run_id = {}",
            quote(run_id)
        )
    };
    let result = run_sql(&ctx, "eval", &q, &no_params).await?;
    let Some((task, dataset)) = result.batches.iter().find(|b| b.num_rows() > 0).map(|b| {
        (
            b.column(0).as_string::<i32>().value(0).to_string(),
            b.column(1).as_string::<i32>().value(0).to_string(),
        )
    }) else {
        return Err(Error::Invalid(format!("no run '{run_id}' in runs")));
    };
    let count = count_of(
        &ctx,
        &format!(
            "SELECT count(*) FROM predictions WHERE run_id = {} AND split = {}",
            quote(run_id),
            quote(split)
        ),
    )
    .await?;
    if count == 0 {
        return Err(Error::Invalid(format!(
            "run '{run_id}' has no predictions of split '{split}': predict them first ('dnabench predict --run {run_id} --split {split}' for a dnabench run)"
        )));
    }
    if store.has_table("examples") {
        let examples = count_of(
            &ctx,
            &format!(
                "SELECT count(*) FROM examples WHERE dataset = {} AND split = {}",
                quote(&dataset),
                quote(split)
            ),
        )
        .await?;
        if count < examples && !allow_partial {
            return Err(Error::Invalid(format!(
                "run '{run_id}' predicts {count} of the {examples} examples of split '{split}' of dataset \
                 '{dataset}'; its metrics would not be the benchmark's. Predict the rest, or score the \
                 {count} with --allow-partial"
            )));
        }
    }
    let query = MetricQuery::for_task(&task).ok_or_else(|| {
        Error::Invalid(format!(
            "task '{task}' of run '{run_id}' has no metric query"
        ))
    })?;
    let params = BTreeMap::from([
        ("run".to_string(), run_id.to_string()),
        ("split".to_string(), split.to_string()),
    ]);
    let origin = format!("queries/metrics/{task}.sql");
    let result = run_sql(&ctx, &origin, query.sql, &params).await?;
    let mut scores = Vec::new();
    for batch in &result.batches {
        scores.extend(scores_of(&origin, batch)?);
    }
    scores.sort_by(|a, b| (&a.metric, &a.group).cmp(&(&b.metric, &b.group)));
    Ok(Evaluation {
        run_id: run_id.to_string(),
        task,
        split: split.to_string(),
        scores,
    })
}

/// The one value of a `SELECT count(*)`.
async fn count_of(ctx: &datafusion::prelude::SessionContext, sql: &str) -> Result<i64> {
    let result = run_sql(ctx, "eval", sql, &BTreeMap::new()).await?;
    Ok(result
        .batches
        .iter()
        .find(|b| b.num_rows() > 0)
        .map(|b| {
            b.column(0)
                .as_primitive::<arrow::datatypes::Int64Type>()
                .value(0)
        })
        .unwrap_or(0))
}

/// The (metric, group, value) rows of a metric query's result.
fn scores_of(origin: &str, batch: &RecordBatch) -> Result<Vec<Score>> {
    let column = |name: &str| {
        batch.column_by_name(name).ok_or_else(|| {
            Error::Invalid(format!(
                "{origin}: the result has no column '{name}' (metric, group, value)"
            ))
        })
    };
    let text = |name: &str| -> Result<ArrayRef> {
        Ok(arrow::compute::cast(column(name)?, &DataType::Utf8)?)
    };
    let (metric, group) = (text("metric")?, text("group")?);
    let value = arrow::compute::cast(column("value")?, &DataType::Float64)?;
    let (metric, group, value) = (
        metric.as_string::<i32>(),
        group.as_string::<i32>(),
        value.as_primitive::<Float64Type>(),
    );
    Ok((0..batch.num_rows())
        .map(|i| Score {
            metric: metric.value(i).to_string(),
            group: group.value(i).to_string(),
            value: (!value.is_null(i) && value.value(i).is_finite()).then(|| value.value(i)),
        })
        .collect())
}

/// Appends the scores to `metrics` in one commit; a run's split is scored once.
pub async fn write_metrics(store: &Store, e: &Evaluation) -> Result<()> {
    if store.has_table("metrics") {
        let ds = store.dataset("metrics").await?;
        let filter = format!(
            "run_id = {} AND split = {}",
            quote(&e.run_id),
            quote(&e.split)
        );
        if ds.count_rows(Some(filter)).await? > 0 {
            return Err(Error::Invalid(format!(
                "metrics already holds run '{}', split '{}'",
                e.run_id, e.split
            )));
        }
    }
    let n = e.scores.len();
    let repeat = |s: &str| Arc::new(StringArray::from(vec![s; n])) as ArrayRef;
    let schema = dnabench_schemas::metrics_schema();
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            repeat(&e.run_id),
            repeat(&e.task),
            repeat(&e.split),
            Arc::new(StringArray::from_iter_values(
                e.scores.iter().map(|s| s.metric.as_str()),
            )),
            Arc::new(StringArray::from_iter_values(
                e.scores.iter().map(|s| s.group.as_str()),
            )),
            Arc::new(Float64Array::from(
                e.scores.iter().map(|s| s.value).collect::<Vec<_>>(),
            )),
        ],
    )?;
    store.append("metrics", schema, vec![batch]).await?;
    Ok(())
}
