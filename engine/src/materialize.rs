//! Materialization: runs a task's SQL and shapes its rows into the
//! `examples` table, checking what a training run would trip over later
//! (a missing column, a duplicate example, an empty split).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use arrow::array::{new_null_array, Array, ArrayRef, AsArray, RecordBatch, StringArray};
use arrow::compute::cast;
use arrow::datatypes::SchemaRef;
use datafusion::execution::context::SessionContext;
use dnabench_queries::{SqlTemplate, Task};
use dnabench_schemas::{examples_schema, REQUIRED_EXAMPLE_COLUMNS, SPLITS};

use crate::error::{Error, Result};
use crate::sql::run_sql;
use crate::store::Store;

/// Commit properties recorded with every materialization.
pub const DATASET: &str = "dnabench.dataset";
pub const TASK: &str = "dnabench.task";
pub const QUERY: &str = "dnabench.query";
pub const PARAMS: &str = "dnabench.params";

/// The rows of one task variant, shaped as `examples`.
pub struct Materialized {
    pub dataset: String,
    pub task: String,
    /// Where the SQL came from: `queries/NAME.sql` or the user's file.
    pub origin: String,
    pub query: String,
    /// Every parameter's value, defaults included.
    pub params: BTreeMap<String, String>,
    pub batches: Vec<RecordBatch>,
    pub per_split: BTreeMap<String, usize>,
}

impl Materialized {
    pub fn rows(&self) -> usize {
        self.per_split.values().sum()
    }
}

/// Runs `text` (a task's SQL, from `origin`) with `params` and checks its rows.
pub async fn materialize(
    ctx: &SessionContext,
    dataset: &str,
    task: &str,
    origin: &str,
    text: &str,
    params: &BTreeMap<String, String>,
) -> Result<Materialized> {
    let template = SqlTemplate::parse(origin, text)?;
    let mut effective: BTreeMap<String, String> = template
        .params
        .iter()
        .map(|p| (p.name.clone(), p.default.clone()))
        .collect();
    effective.extend(params.clone());
    let result = run_sql(ctx, origin, text, params).await?;
    let schema = examples_schema();
    let batches = result
        .batches
        .iter()
        .map(|b| conform(b, &schema, dataset, task, origin))
        .collect::<Result<Vec<_>>>()?;
    let per_split = check_rows(&batches, task, origin, &effective)?;
    Ok(Materialized {
        dataset: dataset.to_string(),
        task: task.to_string(),
        origin: origin.to_string(),
        query: text.to_string(),
        params: effective,
        batches,
        per_split,
    })
}

/// Runs one of the built-in tasks (`queries/NAME.sql`) as dataset `dataset`.
pub async fn materialize_task(
    ctx: &SessionContext,
    task: &Task,
    dataset: &str,
    params: &BTreeMap<String, String>,
) -> Result<Materialized> {
    let origin = format!("queries/{}.sql", task.name);
    materialize(ctx, dataset, task.name, &origin, task.sql, params).await
}

/// `batch` with the columns of `examples`: found by name and cast, NULL
/// where an optional column is absent.
fn conform(
    batch: &RecordBatch,
    schema: &SchemaRef,
    dataset: &str,
    task: &str,
    origin: &str,
) -> Result<RecordBatch> {
    let given = batch.schema();
    let unknown: Vec<&str> = given
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .filter(|n| schema.field_with_name(n).is_err())
        .collect();
    if !unknown.is_empty() {
        return Err(Error::Invalid(format!(
            "{origin}: the query returns columns the examples table does not have: {} (it has: {})",
            unknown.join(", "),
            schema
                .fields()
                .iter()
                .map(|f| f.name().as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let rows = batch.num_rows();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for field in schema.fields() {
        let name = field.name().as_str();
        let column = match (name, batch.column_by_name(name)) {
            ("dataset", _) => Arc::new(StringArray::from(vec![dataset; rows])) as ArrayRef,
            ("task", None) => Arc::new(StringArray::from(vec![task; rows])),
            (_, Some(c)) => cast(c, field.data_type()).map_err(|e| {
                Error::Invalid(format!(
                    "{origin}: column '{name}' is {}, expected {}: {e}",
                    c.data_type(),
                    field.data_type()
                ))
            })?,
            (_, None) if REQUIRED_EXAMPLE_COLUMNS.contains(&name) => {
                return Err(Error::Invalid(format!(
                    "{origin}: the query returns no column '{name}' (every task returns {})",
                    REQUIRED_EXAMPLE_COLUMNS.join(", ")
                )))
            }
            (_, None) => new_null_array(field.data_type(), rows),
        };
        if !field.is_nullable() && column.null_count() > 0 {
            return Err(Error::Invalid(format!(
                "{origin}: column '{name}' has {} NULL values; every example needs one",
                column.null_count()
            )));
        }
        columns.push(column);
    }
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

/// Rows per split; an unknown or empty split, or a repeated example id, is an error.
fn check_rows(
    batches: &[RecordBatch],
    task: &str,
    origin: &str,
    params: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, usize>> {
    let mut per_split: BTreeMap<String, usize> =
        SPLITS.iter().map(|s| (s.to_string(), 0)).collect();
    let mut seen = HashSet::new();
    for batch in batches {
        let ids = batch.column_by_name("example_id").expect("conformed");
        let splits = batch.column_by_name("split").expect("conformed");
        let (ids, splits) = (ids.as_string::<i32>(), splits.as_string::<i32>());
        for i in 0..batch.num_rows() {
            let split = splits.value(i);
            match per_split.get_mut(split) {
                Some(n) => *n += 1,
                None => {
                    return Err(Error::Invalid(format!(
                        "{origin}: example '{}' has split '{split}'; splits are {}",
                        ids.value(i),
                        SPLITS.join(", ")
                    )))
                }
            }
            if !seen.insert(ids.value(i).to_string()) {
                return Err(Error::Invalid(format!(
                    "{origin}: example id '{}' occurs more than once",
                    ids.value(i)
                )));
            }
        }
    }
    for (split, n) in &per_split {
        if *n == 0 {
            let given: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
            return Err(Error::Invalid(format!(
                "task '{task}': the {split} split is empty ({origin} with {}); change the split parameters or ingest more data",
                given.join(", ")
            )));
        }
    }
    Ok(per_split)
}

/// Appends a materialization to `examples` in one commit that records the
/// query and its parameters. A dataset name is written once.
pub async fn write_examples(store: &Store, m: &Materialized) -> Result<()> {
    if store.has_table("examples") {
        let ds = store.dataset("examples").await?;
        let filter = format!("dataset = '{}'", m.dataset.replace('\'', "''"));
        let existing = ds.count_rows(Some(filter)).await?;
        if existing > 0 {
            return Err(Error::Invalid(format!(
                "examples already holds dataset '{}' ({existing} rows); give another --name",
                m.dataset
            )));
        }
    }
    let properties = HashMap::from([
        (DATASET.to_string(), m.dataset.clone()),
        (TASK.to_string(), m.task.clone()),
        (QUERY.to_string(), m.query.clone()),
        (
            PARAMS.to_string(),
            serde_json::to_string(&m.params).unwrap_or_default(),
        ),
    ]);
    store
        .append_with("examples", examples_schema(), m.batches.clone(), properties)
        .await?;
    Ok(())
}
