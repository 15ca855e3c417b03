//! Materialization: runs a task's SQL and streams its rows into the
//! `examples` table, checking what a training run would trip over later
//! (a missing column, a duplicate example, an empty split) as they pass.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use arrow::array::{new_null_array, Array, ArrayRef, AsArray, RecordBatch, StringArray};
use arrow::compute::cast;
use arrow::datatypes::SchemaRef;
use datafusion::execution::context::SessionContext;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use dnabench_queries::{SqlTemplate, Task, Variant};
use dnabench_schemas::{examples_schema, REQUIRED_EXAMPLE_COLUMNS, SPLITS};
use futures::{StreamExt, TryStreamExt};

use crate::dataset_tracks::{self, TrackSet};
use crate::error::{Error, Result};
use crate::genome::{window_sequences, Genome, WindowDraw};
use crate::sql::memory::{pool_use, PoolUse};
use crate::sql::statements::run_sql_stream;
use crate::store::{ErrorSlot, Store};

/// Commit properties recorded with every materialization.
pub const DATASET: &str = "dnabench.dataset";
pub const TASK: &str = "dnabench.task";
pub const QUERY: &str = "dnabench.query";
pub const PARAMS: &str = "dnabench.params";

/// A task variant to materialize: its SQL and the parameters it runs with.
#[derive(Debug, Clone)]
pub struct Materialization {
    pub dataset: String,
    pub task: String,
    /// Where the SQL came from: `queries/NAME.sql` or the user's file.
    pub origin: String,
    pub query: String,
    /// The parameters given.
    pub given: BTreeMap<String, String>,
    /// Every parameter's value, defaults included.
    pub params: BTreeMap<String, String>,
    /// Also write each window's bases (`seq`, and `alt_seq` for a variant),
    /// for readers outside dnabench; the loader never needs them.
    pub with_seq: bool,
    /// The splits that must get rows: every split, unless the SQL declares
    /// `-- @splits` (a variant of fixed sets may have no training split).
    pub splits: Vec<String>,
}

impl Materialization {
    /// `text` (a task's SQL, from `origin`) with `params`, as dataset `dataset`.
    pub fn new(
        dataset: &str,
        task: &str,
        origin: &str,
        text: &str,
        params: &BTreeMap<String, String>,
    ) -> Result<Materialization> {
        let template = SqlTemplate::parse(origin, text)?;
        // An unknown or malformed parameter is an error before anything runs.
        template.render(params)?;
        let mut effective: BTreeMap<String, String> = template
            .params
            .iter()
            .map(|p| (p.name.clone(), p.default.clone()))
            .collect();
        effective.extend(params.clone());
        let splits = match &template.splits {
            Some(declared) => {
                if let Some(bad) = declared.iter().find(|s| !SPLITS.contains(&s.as_str())) {
                    return Err(Error::Invalid(format!(
                        "{origin}: '-- @splits' names '{bad}', not a split (splits: {})",
                        SPLITS.join(", ")
                    )));
                }
                declared.clone()
            }
            None => SPLITS.iter().map(|s| s.to_string()).collect(),
        };
        Ok(Materialization {
            dataset: dataset.to_string(),
            task: task.to_string(),
            origin: origin.to_string(),
            query: text.to_string(),
            given: params.clone(),
            params: effective,
            with_seq: false,
            splits,
        })
    }

    /// One of the built-in tasks (`queries/NAME.sql`) as dataset `dataset`.
    pub fn of_task(
        task: &Task,
        dataset: &str,
        params: &BTreeMap<String, String>,
    ) -> Result<Materialization> {
        let origin = format!("queries/{}.sql", task.name);
        Materialization::new(dataset, task.name, &origin, task.sql, params)
    }

    /// A bundled variant query (`queries/variants/NAME.sql`) as dataset
    /// `dataset` of `task`.
    pub fn of_variant(
        variant: &Variant,
        task: &str,
        dataset: &str,
        params: &BTreeMap<String, String>,
    ) -> Result<Materialization> {
        Materialization::new(dataset, task, &variant.origin(), variant.sql, params)
    }
}

/// What a materialization wrote: its rows per split.
pub struct Materialized {
    pub dataset: String,
    pub task: String,
    pub origin: String,
    pub params: BTreeMap<String, String>,
    pub per_split: BTreeMap<String, usize>,
    /// The version of `examples` that holds the rows (0 when not written).
    pub version: u64,
    /// What the session's SQL took from its memory pool.
    pub memory: Option<PoolUse>,
}

impl Materialized {
    pub fn rows(&self) -> usize {
        self.per_split.values().sum()
    }

    fn of(
        ctx: &SessionContext,
        m: &Materialization,
        per_split: BTreeMap<String, usize>,
        version: u64,
    ) -> Self {
        Materialized {
            memory: pool_use(ctx),
            dataset: m.dataset.clone(),
            task: m.task.clone(),
            origin: m.origin.clone(),
            params: m.params.clone(),
            per_split,
            version,
        }
    }
}

/// Runs `m`'s SQL and streams its rows into `examples`, checking them on the
/// way, in one commit at the end: a failed check, a failed query or a kill
/// leaves `examples` at its previous version. Memory holds the plan's
/// operators (bounded by the session's pool) and 16 bytes per example for
/// the check that no example id repeats.
pub async fn materialize(
    ctx: &SessionContext,
    store: &Store,
    m: &Materialization,
) -> Result<Materialized> {
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
    let slot = ErrorSlot::default();
    let (stream, check) = checked_examples(ctx, store, m, &slot).await?;
    let properties = HashMap::from([
        (DATASET.to_string(), m.dataset.clone()),
        (TASK.to_string(), m.task.clone()),
        (QUERY.to_string(), m.query.clone()),
        (
            PARAMS.to_string(),
            serde_json::to_string(&m.params).unwrap_or_default(),
        ),
    ]);
    let written = store
        .append_stream("examples", stream, properties, &slot)
        .await?;
    let check = lock(&check);
    if m.task == "chromatin" {
        // Training finds its head's tracks here instead of scanning the labels.
        if let Ok(tracks) = check.tracks.ids() {
            dataset_tracks::record(store, &m.dataset, written.version_id(), &tracks);
        }
    }
    Ok(Materialized::of(
        ctx,
        m,
        check.per_split.clone(),
        written.version_id(),
    ))
}

/// Runs `m`'s SQL and returns its checked rows without writing them
/// (for `materialize --format`, which prints them).
pub async fn collect_examples(
    ctx: &SessionContext,
    store: &Store,
    m: &Materialization,
) -> Result<(Materialized, Vec<RecordBatch>)> {
    let slot = ErrorSlot::default();
    let (stream, check) = checked_examples(ctx, store, m, &slot).await?;
    let batches: Vec<RecordBatch> = stream
        .try_collect()
        .await
        .map_err(|e| slot.or(Error::Invalid(e.to_string())))?;
    let per_split = lock(&check).per_split.clone();
    Ok((Materialized::of(ctx, m, per_split, 0), batches))
}

/// The rows of `m` conformed to `examples`, each batch checked as it passes;
/// after the last, a final check (no empty split) may still fail the stream.
async fn checked_examples(
    ctx: &SessionContext,
    store: &Store,
    m: &Materialization,
    slot: &ErrorSlot,
) -> Result<(SendableRecordBatchStream, Arc<Mutex<RowCheck>>)> {
    // The genome only to write the bases (`--with-seq`).
    let genome = if m.with_seq {
        Genome::shared(store).await?
    } else {
        None
    };
    let rows = run_sql_stream(ctx, &m.origin, &m.query, &m.given).await?;
    let schema = examples_schema();
    let check = Arc::new(Mutex::new(RowCheck::new(m)));
    let (body_check, tail_check) = (check.clone(), check.clone());
    let (body_slot, tail_slot) = (slot.clone(), slot.clone());
    let (m_body, conform_schema) = (m.clone(), schema.clone());
    let body = rows.map(move |batch| {
        let batch = batch.map_err(|source| {
            body_slot.set_datafusion(Error::Sql {
                origin: m_body.origin.clone(),
                source,
            })
        })?;
        let batch = conform(
            &batch,
            &conform_schema,
            &m_body.dataset,
            &m_body.task,
            &m_body.origin,
        )
        .and_then(|b| match &genome {
            Some(genome) => with_sequences(&b, genome),
            None => Ok(b),
        })
        .and_then(|b| lock(&body_check).observe(&b).map(|_| b))
        .map_err(|e| body_slot.set_datafusion(e))?;
        Ok(batch)
    });
    let tail = futures::stream::once(async move { lock(&tail_check).finish() }).filter_map(
        move |checked| {
            let slot = tail_slot.clone();
            async move { checked.err().map(|e| Err(slot.set_datafusion(e))) }
        },
    );
    let stream = RecordBatchStreamAdapter::new(schema, body.chain(tail));
    Ok((Box::pin(stream), check))
}

/// `batch` (conformed) with `seq` and `alt_seq` cut from the genome.
fn with_sequences(batch: &RecordBatch, genome: &Genome) -> Result<RecordBatch> {
    let (seq, alt_seq) = window_sequences(genome, batch, WindowDraw::default(), true)?;
    let schema = batch.schema();
    let mut columns = batch.columns().to_vec();
    for (name, column) in [("seq", Some(seq)), ("alt_seq", alt_seq)] {
        if let (Ok(i), Some(c)) = (schema.index_of(name), column) {
            columns[i] = c;
        }
    }
    Ok(RecordBatch::try_new(schema, columns)?)
}

fn lock(check: &Mutex<RowCheck>) -> std::sync::MutexGuard<'_, RowCheck> {
    check.lock().unwrap_or_else(|p| p.into_inner())
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

/// The checks over all rows of a materialization, made batch by batch:
/// every split known and none empty, no example id twice.
struct RowCheck {
    task: String,
    origin: String,
    params: BTreeMap<String, String>,
    per_split: BTreeMap<String, usize>,
    required: Vec<String>,
    /// A 64-bit hash of each example id: 16 bytes an example, where the ids
    /// themselves would take 30-60.
    seen: HashSet<u64>,
    /// The positive track ids of the rows (chromatin).
    tracks: TrackSet,
}

impl RowCheck {
    fn new(m: &Materialization) -> RowCheck {
        RowCheck {
            task: m.task.clone(),
            origin: m.origin.clone(),
            params: m.params.clone(),
            per_split: SPLITS.iter().map(|s| (s.to_string(), 0)).collect(),
            required: m.splits.clone(),
            seen: HashSet::new(),
            tracks: TrackSet::default(),
        }
    }

    fn observe(&mut self, batch: &RecordBatch) -> Result<()> {
        let origin = &self.origin;
        let ids = batch.column_by_name("example_id").expect("conformed");
        let splits = batch.column_by_name("split").expect("conformed");
        let tasks = batch.column_by_name("task").expect("conformed");
        let (ids, splits) = (ids.as_string::<i32>(), splits.as_string::<i32>());
        let tasks = tasks.as_string::<i32>();
        // A dataset of one of the six tasks is trained and scored by that
        // task's head and metrics, so its rows must all be of that task
        // (a variant over another task's dataset, say, is refused).
        let benchmark_task = Task::named(&self.task).is_some();
        if let Some(lists) = batch.column_by_name("positive_tracks") {
            self.tracks.add(lists.as_ref());
        }
        for i in 0..batch.num_rows() {
            if benchmark_task && tasks.value(i) != self.task {
                return Err(Error::Invalid(format!(
                    "{origin}: example '{}' is of task '{}', not '{}' as materialized; give --task {}",
                    ids.value(i),
                    tasks.value(i),
                    self.task,
                    tasks.value(i)
                )));
            }
            let split = splits.value(i);
            match self.per_split.get_mut(split) {
                Some(n) => *n += 1,
                None => {
                    return Err(Error::Invalid(format!(
                        "{origin}: example '{}' has split '{split}'; splits are {}",
                        ids.value(i),
                        SPLITS.join(", ")
                    )))
                }
            }
            // Two ids of one hash are, all but surely (p < 1e-5 at 30 M
            // examples), one id twice.
            if !self.seen.insert(id_hash(ids.value(i))) {
                return Err(Error::Invalid(format!(
                    "{origin}: example id '{}' occurs more than once",
                    ids.value(i)
                )));
            }
        }
        Ok(())
    }

    /// Every required split has rows; called once, after the last batch.
    fn finish(&self) -> Result<()> {
        for split in &self.required {
            if self.per_split.get(split).copied().unwrap_or(0) == 0 {
                let given: Vec<String> = self
                    .params
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                return Err(Error::Invalid(format!(
                    "task '{}': the {split} split is empty ({} with {}); change the split parameters or ingest more data",
                    self.task,
                    self.origin,
                    given.join(", ")
                )));
            }
        }
        Ok(())
    }
}

fn id_hash(id: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    id.hash(&mut h);
    h.finish()
}
