//! `CpgMatrixExec`, the operator behind `cpg_matrix(table)`: one row per
//! CpG that any sample of a methylation table covers, each sample's reads
//! on both strands summed, in (chrom, cpg) order.
//!
//! ```sql
//! -- the methylated fraction of every CpG with at least 10 reads in some sample
//! SELECT chrom, cpg, methylation_levels(methylated, coverage, 10) AS levels
//! FROM cpg_matrix('methylation')
//! WHERE array_max(coverage) >= 10;
//! ```
//!
//! A GROUP BY over the calls keeps a group per CpG and sample until its
//! input ends, and spills that state again and again on a whole genome.
//! The calls of a track are already sorted by position at ingest, so the
//! operator reads the samples' runs on a chromosome side by side ([`runs`])
//! and writes each CpG as soon as no sample can add to it ([`merge`]).
//! Chromosomes are dealt to partitions in name order, each partition's rows
//! sorted by (chrom, cpg): an `ORDER BY chrom, …` merges them, no sort.

mod merge;
mod runs;

use std::fmt;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::{internal_err, Result};
use datafusion::execution::memory_pool::MemoryConsumer;
use datafusion::execution::TaskContext;
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_expr::{EquivalenceProperties, PhysicalSortExpr};
use datafusion::physical_plan::coalesce_partitions::CoalescePartitionsExec;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchReceiverStreamBuilder;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, ExecutionPlanProperties, Partitioning,
    PlanProperties, SendableRecordBatchStream,
};
use lance::Dataset;
use tokio::sync::OnceCell;

use merge::{merge_chrom, Emit};
use runs::{CallSource, TableRuns};

/// The columns of `cpg_matrix()`: `coverage` and `methylated` hold one
/// value per sample, NULL where the sample has no call at the CpG.
pub fn cpg_matrix_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("chrom", DataType::Utf8, false),
        Field::new("cpg", DataType::Int64, false),
        Field::new("coverage", count_list(), false),
        Field::new("methylated", count_list(), false),
    ]))
}

/// The type of a per-sample read count list: Int32 items, NULL where a
/// sample has no call (`cpg_matrix()` writes it, `methylation_levels()` reads it).
pub fn count_list() -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::Int32, true)))
}

/// Where the operator reads the calls.
#[derive(Clone)]
pub enum CpgMatrixInput {
    /// A Lance table as `dnabench ingest methylation` wrote it.
    Lance(Arc<Dataset>),
    /// Any other table's scan, collected and sorted.
    Plan(Arc<dyn ExecutionPlan>),
}

pub struct CpgMatrixExec {
    table: String,
    input: CpgMatrixInput,
    projection: Option<Vec<usize>>,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
    partitions: usize,
    prepared: Arc<OnceCell<Arc<(CallSource, TableRuns)>>>,
}

impl CpgMatrixExec {
    /// The matrix of `table`'s calls, as `partitions` partitions, with the
    /// columns `projection` picks from [`cpg_matrix_schema`].
    pub fn try_new(
        table: &str,
        input: CpgMatrixInput,
        projection: Option<Vec<usize>>,
        partitions: usize,
    ) -> Result<Self> {
        let input = match input {
            CpgMatrixInput::Plan(plan) if plan.output_partitioning().partition_count() > 1 => {
                CpgMatrixInput::Plan(Arc::new(CoalescePartitionsExec::new(plan)))
            }
            other => other,
        };
        let full = cpg_matrix_schema();
        let schema = match &projection {
            Some(p) => Arc::new(full.project(p)?),
            None => full,
        };
        let at = |name: &str| schema.index_of(name).ok();
        let orderings = match (at("chrom"), at("cpg")) {
            (Some(chrom), Some(cpg)) => vec![vec![
                PhysicalSortExpr::new_default(Arc::new(Column::new("chrom", chrom))).asc(),
                PhysicalSortExpr::new_default(Arc::new(Column::new("cpg", cpg))).asc(),
            ]],
            _ => vec![],
        };
        let partitions = partitions.max(1);
        let properties = PlanProperties::new(
            EquivalenceProperties::new_with_orderings(schema.clone(), orderings),
            Partitioning::UnknownPartitioning(partitions),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        Ok(CpgMatrixExec {
            table: table.to_string(),
            input,
            projection,
            schema,
            properties: Arc::new(properties),
            partitions,
            prepared: Arc::new(OnceCell::new()),
        })
    }
}

impl fmt::Debug for CpgMatrixExec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CpgMatrixExec")
            .field("table", &self.table)
            .field("projection", &self.projection)
            .field("partitions", &self.partitions)
            .finish()
    }
}

impl DisplayAs for CpgMatrixExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        let how = match &self.input {
            CpgMatrixInput::Lance(_) => "runs read in place",
            CpgMatrixInput::Plan(_) => "collected and sorted",
        };
        let columns: Vec<&str> = self
            .schema
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        write!(
            f,
            "CpgMatrixExec: table={} ({how}), columns=[{}]",
            self.table,
            columns.join(", ")
        )
    }
}

impl ExecutionPlan for CpgMatrixExec {
    fn name(&self) -> &str {
        "CpgMatrixExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        match &self.input {
            CpgMatrixInput::Plan(plan) => vec![plan],
            CpgMatrixInput::Lance(_) => vec![],
        }
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let input = match (&self.input, children.as_slice()) {
            (CpgMatrixInput::Lance(_), []) => self.input.clone(),
            (CpgMatrixInput::Plan(_), [plan]) => CpgMatrixInput::Plan(plan.clone()),
            _ => return internal_err!("CpgMatrixExec: wrong number of children"),
        };
        Ok(Arc::new(CpgMatrixExec::try_new(
            &self.table,
            input,
            self.projection.clone(),
            self.partitions,
        )?))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let mut builder = RecordBatchReceiverStreamBuilder::new(self.schema.clone(), 2);
        let tx = builder.tx();
        let prepared = self.prepared.clone();
        let (table, input) = (self.table.clone(), self.input.clone());
        let projection = self.projection.clone();
        let partitions = self.partitions;
        builder.spawn(async move {
            let prepared = prepared
                .get_or_try_init(|| prepare(table, input, context))
                .await?
                .clone();
            let (source, runs) = prepared.as_ref();
            let emit = Emit { tx, projection };
            let dealt = runs.chroms.iter().skip(partition).step_by(partitions);
            for (chrom, chrom_runs) in dealt {
                if !merge_chrom(source, runs.tracks.len(), chrom, chrom_runs, &emit).await? {
                    break;
                }
            }
            Ok(())
        });
        Ok(builder.build())
    }
}

/// The source of the calls and its runs, found once for every partition.
async fn prepare(
    table: String,
    input: CpgMatrixInput,
    context: Arc<TaskContext>,
) -> Result<Arc<(CallSource, TableRuns)>> {
    let source = match input {
        CpgMatrixInput::Lance(dataset) => CallSource::Lance {
            name: table,
            dataset,
        },
        CpgMatrixInput::Plan(plan) => {
            let reservation =
                MemoryConsumer::new("CpgMatrixExec sorted calls").register(context.memory_pool());
            CallSource::sorted(&table, plan.execute(0, context)?, reservation).await?
        }
    };
    let runs = source.runs().await?;
    Ok(Arc::new((source, runs)))
}
