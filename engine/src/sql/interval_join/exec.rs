//! `IntervalJoinExec`: an inner join on equal keys and overlapping intervals.
//!
//! The left (build) side is collected once and indexed per key (the
//! chromosome, plus any other equality columns) in an [`IntervalIndex`];
//! each right (probe) batch then asks every row's index for the left rows
//! whose intervals can overlap it. The join's whole filter is evaluated on
//! those candidate pairs, so extra conditions (`AND a.track_id = 3`,
//! `AND overlap_len(…) > 100`) keep their exact meaning.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, RecordBatch, RecordBatchOptions, UInt32Array,
};
use arrow::compute::{cast, concat_batches, filter, take};
use arrow::datatypes::{DataType, Int64Type, SchemaRef, UInt32Type};
use arrow::row::{RowConverter, SortField};
use datafusion::common::{JoinSide, JoinType, NullEquality, Result};
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryReservation};
use datafusion::execution::TaskContext;
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExprRef};
use datafusion::physical_plan::coalesce_partitions::CoalescePartitionsExec;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::joins::utils::{build_join_schema, ColumnIndex, JoinFilter};
use datafusion::physical_plan::joins::{HashJoinExec, HashJoinExecBuilder, PartitionMode};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, ExecutionPlanProperties, PlanProperties,
    SendableRecordBatchStream,
};
use futures::TryStreamExt;
use tokio::sync::OnceCell;

use super::overlap::OverlapPredicate;
use crate::sql::interval_index::IntervalIndex;

/// Candidate pairs checked against the filter at a time, and so the most
/// rows of one output batch.
const PAIRS_PER_BATCH: usize = 8192;

pub struct IntervalJoinExec {
    left: Arc<dyn ExecutionPlan>,
    right: Arc<dyn ExecutionPlan>,
    on: Vec<(PhysicalExprRef, PhysicalExprRef)>,
    filter: JoinFilter,
    overlap: OverlapPredicate,
    /// Where each output column comes from.
    output_columns: Vec<ColumnIndex>,
    projection: Option<Vec<usize>>,
    fetch: Option<usize>,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
    build: Arc<OnceCell<Arc<BuildSide>>>,
}

/// `(start, end, row)` of one build-side row.
type Interval = (i64, i64, u32);

/// The left side, collected and indexed by join key.
struct BuildSide {
    batch: RecordBatch,
    keys: RowConverter,
    intervals: HashMap<Box<[u8]>, IntervalIndex>,
    /// The build side's share of the session's memory pool, held while it lives.
    _reservation: MemoryReservation,
}

impl IntervalJoinExec {
    /// An inner interval join whose output is `schema`: the left columns,
    /// then the right ones, then `projection` when given.
    #[allow(clippy::too_many_arguments)]
    pub fn try_new(
        left: Arc<dyn ExecutionPlan>,
        right: Arc<dyn ExecutionPlan>,
        on: Vec<(PhysicalExprRef, PhysicalExprRef)>,
        filter: JoinFilter,
        overlap: OverlapPredicate,
        projection: Option<Vec<usize>>,
        fetch: Option<usize>,
        schema: SchemaRef,
    ) -> Result<Self> {
        // The build side is read once, from one partition.
        let left: Arc<dyn ExecutionPlan> = if left.output_partitioning().partition_count() > 1 {
            Arc::new(CoalescePartitionsExec::new(left))
        } else {
            left
        };
        let (_, all_columns) = build_join_schema(&left.schema(), &right.schema(), &JoinType::Inner);
        let output_columns = match &projection {
            Some(p) => p.iter().map(|&i| all_columns[i].clone()).collect(),
            None => all_columns,
        };
        let properties = PlanProperties::new(
            EquivalenceProperties::new(schema.clone()),
            right.output_partitioning().clone(),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        Ok(IntervalJoinExec {
            left,
            right,
            on,
            filter,
            overlap,
            output_columns,
            projection,
            fetch,
            schema,
            properties: Arc::new(properties),
            build: Arc::new(OnceCell::new()),
        })
    }

    pub fn overlap(&self) -> &OverlapPredicate {
        &self.overlap
    }

    /// The hash join this join replaced, over `left` and `right`: what the
    /// plan codec sends, since DataFusion's protobuf has a message for it.
    pub fn as_hash_join(
        &self,
        left: Arc<dyn ExecutionPlan>,
        right: Arc<dyn ExecutionPlan>,
    ) -> Result<HashJoinExec> {
        HashJoinExecBuilder::new(left, right, self.on.clone(), JoinType::Inner)
            .with_filter(Some(self.filter.clone()))
            .with_projection(self.projection.clone())
            .with_partition_mode(PartitionMode::CollectLeft)
            .with_null_equality(NullEquality::NullEqualsNothing)
            .with_fetch(self.fetch)
            .build()
    }
}

impl fmt::Debug for IntervalJoinExec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntervalJoinExec")
            .field("on", &self.on)
            .field("overlap", &self.overlap)
            .field("projection", &self.projection)
            .finish()
    }
}

impl DisplayAs for IntervalJoinExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        let on = self
            .on
            .iter()
            .map(|(l, r)| format!("({l}, {r})"))
            .collect::<Vec<_>>()
            .join(", ");
        let name = |schema: SchemaRef, i: usize| format!("{}@{i}", schema.field(i).name());
        let o = &self.overlap;
        write!(
            f,
            "IntervalJoinExec: on=[{on}], overlap=left[{}, {}) x right[{}, {}), filter={}",
            name(self.left.schema(), o.left_start),
            name(self.left.schema(), o.left_end),
            name(self.right.schema(), o.right_start),
            name(self.right.schema(), o.right_end),
            self.filter.expression()
        )?;
        if let Some(fetch) = self.fetch {
            write!(f, ", fetch={fetch}")?;
        }
        Ok(())
    }
}

impl ExecutionPlan for IntervalJoinExec {
    fn name(&self) -> &str {
        "IntervalJoinExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.left, &self.right]
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let [left, right]: [Arc<dyn ExecutionPlan>; 2] = children.try_into().map_err(|_| {
            datafusion::error::DataFusionError::Internal(
                "IntervalJoinExec takes two children".into(),
            )
        })?;
        Ok(Arc::new(IntervalJoinExec::try_new(
            left,
            right,
            self.on.clone(),
            self.filter.clone(),
            self.overlap,
            self.projection.clone(),
            self.fetch,
            self.schema.clone(),
        )?))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let build = self.build.clone();
        let left = self.left.clone();
        let left_keys: Vec<PhysicalExprRef> = self.on.iter().map(|(l, _)| l.clone()).collect();
        let overlap = self.overlap;
        let build_context = context.clone();
        let built = async move {
            build
                .get_or_try_init(|| async move {
                    // The build side is held whole: it takes its bytes from the
                    // pool, so a side too big fails with the pool's error, not OOM.
                    let reservation = MemoryConsumer::new("IntervalJoinExec build side")
                        .register(build_context.memory_pool());
                    let mut stream = left.execute(0, build_context)?;
                    let mut batches: Vec<RecordBatch> = Vec::new();
                    while let Some(batch) = stream.try_next().await? {
                        reservation.try_grow(batch.get_array_memory_size())?;
                        batches.push(batch);
                    }
                    BuildSide::new(&left.schema(), &batches, &left_keys, &overlap, reservation)
                        .map(Arc::new)
                })
                .await
                .cloned()
        };
        let probe = self.right.execute(partition, context)?;
        let join = Arc::new(ProbeJoin {
            right_keys: self.on.iter().map(|(_, r)| r.clone()).collect(),
            filter: self.filter.clone(),
            overlap: self.overlap,
            output_columns: self.output_columns.clone(),
            schema: self.schema.clone(),
        });
        let mut remaining = self.fetch;
        let stream = futures::stream::once(async move {
            let build = built.await?;
            Ok::<_, datafusion::error::DataFusionError>(
                probe.and_then(move |batch| futures::future::ready(join.join(&build, &batch))),
            )
        })
        .try_flatten()
        .map_ok(|batches| futures::stream::iter(batches.into_iter().map(Ok)))
        .try_flatten()
        .map_ok(move |batch: RecordBatch| match remaining.as_mut() {
            Some(left) => {
                let rows = batch.num_rows().min(*left);
                *left -= rows;
                batch.slice(0, rows)
            }
            None => batch,
        })
        .try_filter(|batch| futures::future::ready(batch.num_rows() > 0));
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            self.schema.clone(),
            stream,
        )))
    }
}

fn int64_column(batch: &RecordBatch, i: usize) -> Result<ArrayRef> {
    Ok(cast(batch.column(i), &DataType::Int64)?)
}

fn evaluate_keys(keys: &[PhysicalExprRef], batch: &RecordBatch) -> Result<Vec<ArrayRef>> {
    keys.iter()
        .map(|k| k.evaluate(batch)?.into_array(batch.num_rows()))
        .collect()
}

impl BuildSide {
    fn new(
        schema: &SchemaRef,
        batches: &[RecordBatch],
        keys: &[PhysicalExprRef],
        overlap: &OverlapPredicate,
        reservation: MemoryReservation,
    ) -> Result<Self> {
        let batch = concat_batches(schema, batches)?;
        // The concatenated copy and the index (24 bytes an interval) come on top.
        reservation.try_grow(batch.get_array_memory_size() + 24 * batch.num_rows())?;
        let key_columns = evaluate_keys(keys, &batch)?;
        let converter = RowConverter::new(
            key_columns
                .iter()
                .map(|c| SortField::new(c.data_type().clone()))
                .collect(),
        )?;
        let rows = converter.convert_columns(&key_columns)?;
        let starts = int64_column(&batch, overlap.left_start)?;
        let ends = int64_column(&batch, overlap.left_end)?;
        let (starts, ends) = (
            starts.as_primitive::<Int64Type>(),
            ends.as_primitive::<Int64Type>(),
        );
        let mut grouped: HashMap<Box<[u8]>, Vec<Interval>> = HashMap::new();
        for row in 0..batch.num_rows() {
            // A NULL key or bound never satisfies the join condition.
            if key_columns.iter().any(|c| c.is_null(row))
                || starts.is_null(row)
                || ends.is_null(row)
            {
                continue;
            }
            grouped
                .entry(rows.row(row).as_ref().into())
                .or_default()
                .push((starts.value(row), ends.value(row), row as u32));
        }
        let intervals = grouped
            .into_iter()
            .map(|(key, ivs)| (key, IntervalIndex::new(ivs)))
            .collect();
        Ok(BuildSide {
            batch,
            keys: converter,
            intervals,
            _reservation: reservation,
        })
    }
}

/// What each probe partition needs to join one right batch.
struct ProbeJoin {
    right_keys: Vec<PhysicalExprRef>,
    filter: JoinFilter,
    overlap: OverlapPredicate,
    output_columns: Vec<ColumnIndex>,
    schema: SchemaRef,
}

impl ProbeJoin {
    fn join(&self, build: &BuildSide, right: &RecordBatch) -> Result<Vec<RecordBatch>> {
        let keys = evaluate_keys(&self.right_keys, right)?;
        let rows = build.keys.convert_columns(&keys)?;
        let starts = int64_column(right, self.overlap.right_start)?;
        let ends = int64_column(right, self.overlap.right_end)?;
        let (starts, ends) = (
            starts.as_primitive::<Int64Type>(),
            ends.as_primitive::<Int64Type>(),
        );
        let (mut left_rows, mut right_rows) = (Vec::new(), Vec::new());
        for row in 0..right.num_rows() {
            if starts.is_null(row) || ends.is_null(row) {
                continue;
            }
            let Some(index) = build.intervals.get(rows.row(row).as_ref()) else {
                continue;
            };
            let (start, end) = self.overlap.query(starts.value(row), ends.value(row));
            index.for_each_overlap(start, end, |l| {
                left_rows.push(l);
                right_rows.push(row as u32);
            });
        }
        let mut out = Vec::new();
        for (l, r) in left_rows
            .chunks(PAIRS_PER_BATCH)
            .zip(right_rows.chunks(PAIRS_PER_BATCH))
        {
            let (l, r) = (UInt32Array::from(l.to_vec()), UInt32Array::from(r.to_vec()));
            let keep = self.evaluate_filter(&build.batch, right, &l, &r)?;
            let l = filter(&l, &keep)?.as_primitive::<UInt32Type>().clone();
            let r = filter(&r, &keep)?.as_primitive::<UInt32Type>().clone();
            out.push(self.output_batch(&build.batch, right, &l, &r)?);
        }
        Ok(out)
    }

    fn evaluate_filter(
        &self,
        left: &RecordBatch,
        right: &RecordBatch,
        l: &UInt32Array,
        r: &UInt32Array,
    ) -> Result<BooleanArray> {
        let columns = gather(self.filter.column_indices(), left, right, l, r)?;
        let batch = RecordBatch::try_new_with_options(
            self.filter.schema().clone(),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(l.len())),
        )?;
        let mask = self
            .filter
            .expression()
            .evaluate(&batch)?
            .into_array(l.len())?;
        Ok(mask.as_boolean().clone())
    }

    fn output_batch(
        &self,
        left: &RecordBatch,
        right: &RecordBatch,
        l: &UInt32Array,
        r: &UInt32Array,
    ) -> Result<RecordBatch> {
        let columns = gather(&self.output_columns, left, right, l, r)?;
        Ok(RecordBatch::try_new_with_options(
            self.schema.clone(),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(l.len())),
        )?)
    }
}

/// The columns named by `indices`, taken at row pairs `(l, r)`.
fn gather(
    indices: &[ColumnIndex],
    left: &RecordBatch,
    right: &RecordBatch,
    l: &UInt32Array,
    r: &UInt32Array,
) -> Result<Vec<ArrayRef>> {
    indices
        .iter()
        .map(|c| {
            Ok(match c.side {
                JoinSide::Left => take(left.column(c.index), l, None)?,
                JoinSide::Right | JoinSide::None => take(right.column(c.index), r, None)?,
            })
        })
        .collect()
}
