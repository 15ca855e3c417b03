//! [`PlanCodec`]: DataFusion's protobuf codec extended to dnabench's
//! physical plans, so a plan made here can run in another process over the
//! same store (a Ballista executor, a datafusion-distributed worker; see
//! `docs/distributed.md`).
//!
//! ```sql
//! -- DeepSEA's label rule: planned as an IntervalJoinExec over tiles() and
//! -- a Lance scan of peaks, both of which cross the wire with this codec
//! SELECT t.chrom, t.start, array_agg(DISTINCT p.track_id) AS labels
//! FROM tiles(200) t JOIN peaks p
//!   ON t.chrom = p.chrom AND t.start < p."end" AND p.start < t."end"
//!  AND overlap_len(t.start, t."end", p.start, p."end") > 100
//! WHERE p.track_id <= 6
//! GROUP BY t.chrom, t.start;
//! ```
//!
//! DataFusion's own nodes need nothing from us; ours travel as follows:
//! - [`IntervalJoinExec`] as the `HashJoinExec` it replaced (DataFusion's
//!   message: keys, filter, projection) plus its `fetch`; the receiver
//!   rebuilds it with [`IntervalJoinRule`], so both ends derive the overlap
//!   predicate by one rule.
//! - Lance's `FilteredReadExec` as the store table it reads, the table's
//!   version, the projected field ids, the fragments and any pushed-down
//!   filter (DataFusion's logical expression message); a late-materializing
//!   read has its filtered first read as its child. The receiver's store
//!   must hold that version: a plan never silently reads other rows.
//! - Our scalar UDFs by name, as DataFusion sends every function: the
//!   receiver's session ([`open_session`]) registers them, bound to its
//!   own copy of the genome. `tiles()` and `random_windows()` are expanded
//!   into memory tables at planning time, which DataFusion sends as data.
//!
//! [`open_session`]: crate::sql::session::open_session

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::common::{internal_datafusion_err, plan_err, Result};
use datafusion::execution::TaskContext;
use datafusion::physical_plan::empty::EmptyExec;
use datafusion::physical_plan::joins::HashJoinExec;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionContext;
use datafusion_proto::logical_plan::from_proto::parse_expr;
use datafusion_proto::logical_plan::to_proto::serialize_expr;
use datafusion_proto::logical_plan::DefaultLogicalExtensionCodec;
use datafusion_proto::physical_plan::{AsExecutionPlan, PhysicalExtensionCodec};
use datafusion_proto::protobuf::{LogicalExprNode, PhysicalPlanNode};
use lance::datafusion::LanceTableProvider;
use lance::io::exec::filtered_read::{FilteredReadExec, FilteredReadOptions};
use lance::Dataset;
use prost::Message;

use crate::sql::interval_join::{IntervalJoinExec, IntervalJoinRule};

/// The first byte of an encoded node: which of ours it is.
const INTERVAL_JOIN: u8 = 1;
const LANCE_SCAN: u8 = 2;

/// An [`IntervalJoinExec`]: the equivalent hash join over placeholder
/// inputs (the real ones travel as the node's children).
#[derive(Clone, PartialEq, Message)]
struct IntervalJoinNode {
    #[prost(message, optional, tag = "1")]
    hash_join: Option<PhysicalPlanNode>,
    #[prost(uint64, optional, tag = "2")]
    fetch: Option<u64>,
}

/// A Lance `FilteredReadExec` over one table of the store.
#[derive(Clone, PartialEq, Message)]
struct LanceScanNode {
    #[prost(string, tag = "1")]
    table: String,
    #[prost(uint64, tag = "2")]
    version: u64,
    #[prost(int32, repeated, tag = "3")]
    field_ids: Vec<i32>,
    #[prost(bool, tag = "4")]
    with_row_id: bool,
    #[prost(bool, tag = "5")]
    with_row_addr: bool,
    /// The fragments read; absent for all of them.
    #[prost(message, optional, tag = "6")]
    fragments: Option<FragmentIds>,
    #[prost(message, optional, tag = "7")]
    full_filter: Option<LogicalExprNode>,
    #[prost(message, optional, tag = "8")]
    refine_filter: Option<LogicalExprNode>,
    #[prost(uint32, optional, tag = "9")]
    batch_size: Option<u32>,
    #[prost(uint64, optional, tag = "10")]
    fragment_readahead: Option<u64>,
    #[prost(bool, tag = "11")]
    with_deleted_rows: bool,
    /// `[start, end)` of the rows read before the filter, then after it.
    #[prost(uint64, repeated, tag = "12")]
    range_before_filter: Vec<u64>,
    #[prost(uint64, repeated, tag = "13")]
    range_after_filter: Vec<u64>,
}

#[derive(Clone, PartialEq, Message)]
struct FragmentIds {
    #[prost(uint64, repeated, tag = "1")]
    ids: Vec<u64>,
}

/// The codec of one session over a store: it names Lance scans by their
/// table and decodes them against the session's own snapshot of each table.
#[derive(Debug)]
pub struct PlanCodec {
    tables: HashMap<String, Arc<Dataset>>,
}

impl PlanCodec {
    /// The codec of `ctx`, a session over a store ([`open_session`]): the
    /// Lance tables it has registered, at the versions it opened.
    pub async fn of_session(ctx: &SessionContext) -> Result<PlanCodec> {
        let config = ctx.copied_config();
        let names = &config.options().catalog;
        let schema = ctx
            .catalog(&names.default_catalog)
            .and_then(|c| c.schema(&names.default_schema))
            .ok_or_else(|| internal_datafusion_err!("the session has no default schema"))?;
        let mut tables = HashMap::new();
        for name in schema.table_names() {
            let Some(provider) = schema.table(&name).await? else {
                continue;
            };
            if let Some(lance) = provider.downcast_ref::<LanceTableProvider>() {
                tables.insert(name, lance.dataset());
            }
        }
        Ok(PlanCodec { tables })
    }

    /// The version of each Lance table the codec decodes against: the
    /// snapshot a distributed plan's workers must read.
    pub fn table_versions(&self) -> std::collections::BTreeMap<String, u64> {
        (self.tables.iter())
            .map(|(name, d)| (name.clone(), d.version().version))
            .collect()
    }

    /// `plan` as protobuf bytes.
    pub fn encode(&self, plan: Arc<dyn ExecutionPlan>) -> Result<Vec<u8>> {
        Ok(PhysicalPlanNode::try_from_physical_plan(plan, self)?.encode_to_vec())
    }

    /// The plan `bytes` hold, ready to run in `ctx` (the session this codec
    /// is of, or one with dnabench's functions over the same store).
    pub fn decode(&self, bytes: &[u8], ctx: &TaskContext) -> Result<Arc<dyn ExecutionPlan>> {
        PhysicalPlanNode::try_decode(bytes)?.try_into_physical_plan(ctx, self)
    }

    fn table_of(&self, dataset: &Dataset) -> Result<&str> {
        self.tables
            .iter()
            .find(|(_, d)| d.uri() == dataset.uri())
            .map(|(name, _)| name.as_str())
            .ok_or_else(|| {
                internal_datafusion_err!(
                    "plan codec: the Lance scan of {} reads no table of this store",
                    dataset.uri()
                )
            })
    }

    fn encode_interval_join(&self, join: &IntervalJoinExec, buf: &mut Vec<u8>) -> Result<()> {
        let [left, right] = join.children()[..] else {
            return Err(internal_datafusion_err!("an interval join has two inputs"));
        };
        let placeholder = |p: &Arc<dyn ExecutionPlan>| -> Arc<dyn ExecutionPlan> {
            Arc::new(EmptyExec::new(p.schema()))
        };
        let hash = join.as_hash_join(placeholder(left), placeholder(right))?;
        let node = IntervalJoinNode {
            fetch: hash.fetch().map(|f| f as u64),
            hash_join: Some(PhysicalPlanNode::try_from_physical_plan(
                Arc::new(hash),
                self,
            )?),
        };
        put(INTERVAL_JOIN, &node, buf)
    }

    fn decode_interval_join(
        &self,
        bytes: &[u8],
        inputs: &[Arc<dyn ExecutionPlan>],
        ctx: &TaskContext,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let node: IntervalJoinNode = take(bytes)?;
        let hash = node
            .hash_join
            .ok_or_else(|| internal_datafusion_err!("interval join without its hash join"))?
            .try_into_physical_plan(ctx, self)?;
        let hash = hash
            .with_new_children(inputs.to_vec())?
            .downcast_ref::<HashJoinExec>()
            .ok_or_else(|| internal_datafusion_err!("interval join decoded to another node"))?
            .builder()
            .with_fetch(node.fetch.map(|f| f as usize))
            .build()?;
        match IntervalJoinRule::rewrite(&hash)? {
            Some(join) => Ok(Arc::new(join)),
            None => plan_err!("the decoded join has no overlap predicate: {hash:?}"),
        }
    }

    fn encode_lance_scan(&self, scan: &FilteredReadExec, buf: &mut Vec<u8>) -> Result<()> {
        // A late-materializing read (the filter columns first, then the
        // rest by row id) has the first read as its input, which travels as
        // the node's child; a scalar index's result does not.
        if scan.index_input().is_some() {
            return plan_err!("plan codec: a Lance scan fed by a scalar index is not encoded");
        }
        let options = scan.options();
        let projection = &options.projection;
        if projection.with_row_created_at_version
            || projection.with_row_last_updated_at_version
            || options.overlay_block.is_some()
            || options.only_indexed_fragments
        {
            return plan_err!(
                "plan codec: a Lance scan with row versions, an overlay or an index-only read is not encoded"
            );
        }
        let logical = DefaultLogicalExtensionCodec {};
        let filter = |e: &Option<datafusion::logical_expr::Expr>| {
            e.as_ref().map(|e| serialize_expr(e, &logical)).transpose()
        };
        let range = |r: &Option<std::ops::Range<u64>>| {
            r.as_ref().map(|r| vec![r.start, r.end]).unwrap_or_default()
        };
        let mut field_ids: Vec<i32> = projection.field_ids.iter().copied().collect();
        field_ids.sort_unstable();
        let node = LanceScanNode {
            table: self.table_of(scan.dataset())?.to_string(),
            version: scan.dataset().version().version,
            field_ids,
            with_row_id: projection.with_row_id,
            with_row_addr: projection.with_row_addr,
            fragments: options.fragments.as_ref().map(|f| FragmentIds {
                ids: f.iter().map(|f| f.id).collect(),
            }),
            full_filter: filter(&options.full_filter)?,
            refine_filter: filter(&options.refine_filter)?,
            batch_size: options.batch_size,
            fragment_readahead: options.fragment_readahead.map(|n| n as u64),
            with_deleted_rows: options.with_deleted_rows,
            range_before_filter: range(&options.scan_range_before_filter),
            range_after_filter: range(&options.scan_range_after_filter),
        };
        put(LANCE_SCAN, &node, buf)
    }

    fn decode_lance_scan(
        &self,
        bytes: &[u8],
        inputs: &[Arc<dyn ExecutionPlan>],
        ctx: &TaskContext,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let node: LanceScanNode = take(bytes)?;
        let Some(dataset) = self.tables.get(&node.table) else {
            return plan_err!(
                "the plan reads table '{}', which this store does not have",
                node.table
            );
        };
        let have = dataset.version().version;
        if have != node.version {
            return plan_err!(
                "the plan reads version {} of table '{}', but this store's is version {have}",
                node.version,
                node.table
            );
        }
        let mut projection = dataset.empty_projection();
        projection.field_ids = node.field_ids.iter().copied().collect();
        projection.with_row_id = node.with_row_id;
        projection.with_row_addr = node.with_row_addr;
        let lance_err = |e: lance::Error| internal_datafusion_err!("{e}");
        let mut options = FilteredReadOptions::new(projection);
        if let Some(ids) = node.fragments {
            let fragments = (dataset.fragments().iter())
                .filter(|f| ids.ids.contains(&f.id))
                .cloned()
                .collect::<Vec<_>>();
            if fragments.len() != ids.ids.len() {
                return plan_err!(
                    "the plan reads fragments {:?} of table '{}', not all of which exist",
                    ids.ids,
                    node.table
                );
            }
            options = options.with_fragments(Arc::new(fragments));
        }
        let logical = DefaultLogicalExtensionCodec {};
        let filter = |e: &Option<LogicalExprNode>| {
            e.as_ref().map(|e| parse_expr(e, ctx, &logical)).transpose()
        };
        let (refine, full) = (filter(&node.refine_filter)?, filter(&node.full_filter)?);
        if refine.is_some() || full.is_some() {
            options = options.with_filter(refine, full).map_err(lance_err)?;
        }
        if let Some(size) = node.batch_size {
            options = options.with_batch_size(size);
        }
        if let Some(n) = node.fragment_readahead {
            options = options.with_fragment_readahead(n as usize);
        }
        if node.with_deleted_rows {
            options = options.with_deleted_rows().map_err(lance_err)?;
        }
        if let [start, end] = node.range_before_filter[..] {
            options = options
                .with_scan_range_before_filter(start..end)
                .map_err(lance_err)?;
        }
        if let [start, end] = node.range_after_filter[..] {
            options = options
                .with_scan_range_after_filter(start..end)
                .map_err(lance_err)?;
        }
        let rows = inputs.first().cloned();
        let scan = FilteredReadExec::try_new(dataset.clone(), options, rows).map_err(lance_err)?;
        Ok(Arc::new(scan))
    }
}

/// `node` after its kind's byte.
fn put(kind: u8, node: &impl Message, buf: &mut Vec<u8>) -> Result<()> {
    buf.push(kind);
    node.encode(buf)
        .map_err(|e| internal_datafusion_err!("plan codec: {e}"))
}

/// The node of `bytes` (its kind's byte already read).
fn take<M: Message + Default>(bytes: &[u8]) -> Result<M> {
    M::decode(bytes).map_err(|e| internal_datafusion_err!("plan codec: {e}"))
}

impl PhysicalExtensionCodec for PlanCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[Arc<dyn ExecutionPlan>],
        ctx: &TaskContext,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        match buf.split_first() {
            Some((&INTERVAL_JOIN, rest)) => self.decode_interval_join(rest, inputs, ctx),
            Some((&LANCE_SCAN, rest)) => self.decode_lance_scan(rest, inputs, ctx),
            _ => plan_err!("plan codec: an extension node of an unknown kind"),
        }
    }

    fn try_encode(&self, node: Arc<dyn ExecutionPlan>, buf: &mut Vec<u8>) -> Result<()> {
        if let Some(join) = node.downcast_ref::<IntervalJoinExec>() {
            return self.encode_interval_join(join, buf);
        }
        if let Some(scan) = node.downcast_ref::<FilteredReadExec>() {
            return self.encode_lance_scan(scan, buf);
        }
        plan_err!(
            "plan codec: no encoding for {} (dnabench encodes IntervalJoinExec and Lance scans)",
            node.name()
        )
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{Int32Array, Int64Array, RecordBatch, StringArray};
    use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
    use datafusion::physical_plan::{collect, displayable};

    use super::*;
    use crate::sql::session::open_session;
    use crate::store::Store;

    fn intervals_schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("chrom", DataType::Utf8, false),
            Field::new("start", DataType::Int64, false),
            Field::new("end", DataType::Int64, false),
            Field::new("track_id", DataType::Int32, false),
        ]))
    }

    /// `n` intervals on two chromosomes, `len` bp long, every `step` bp.
    fn intervals(n: i64, step: i64, len: i64) -> RecordBatch {
        let chrom = (0..n).map(|i| if i % 2 == 0 { "chr1" } else { "chr2" });
        RecordBatch::try_new(
            intervals_schema(),
            vec![
                Arc::new(StringArray::from_iter_values(chrom)),
                Arc::new(Int64Array::from_iter_values((0..n).map(|i| i * step))),
                Arc::new(Int64Array::from_iter_values((0..n).map(|i| i * step + len))),
                Arc::new(Int32Array::from_iter_values((0..n).map(|i| (i % 5) as i32))),
            ],
        )
        .unwrap()
    }

    const QUERY: &str = "SELECT a.chrom, a.start, b.start AS b_start, b.track_id \
        FROM a JOIN b ON a.chrom = b.chrom AND a.start < b.\"end\" AND b.start < a.\"end\" \
        WHERE b.track_id = 3";

    async fn rows(plan: Arc<dyn ExecutionPlan>, ctx: Arc<TaskContext>) -> Vec<String> {
        let batches = collect(plan, ctx).await.unwrap();
        let text = arrow::util::pretty::pretty_format_batches(&batches)
            .unwrap()
            .to_string();
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        lines.sort();
        lines
    }

    #[tokio::test]
    async fn an_interval_join_over_filtered_lance_scans_round_trips_and_a_newer_table_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(dir.path()).unwrap();
        store
            .append("a", intervals_schema(), vec![intervals(400, 50, 120)])
            .await
            .unwrap();
        store
            .append("b", intervals_schema(), vec![intervals(900, 20, 15)])
            .await
            .unwrap();
        let ctx = open_session(&store).await.unwrap();
        let plan = ctx
            .sql(QUERY)
            .await
            .unwrap()
            .create_physical_plan()
            .await
            .unwrap();
        let shown = displayable(plan.as_ref()).indent(true).to_string();
        assert!(shown.contains("IntervalJoinExec"), "{shown}");
        assert!(shown.contains("full_filter=track_id = Int32(3)"), "{shown}");

        let bytes = PlanCodec::of_session(&ctx)
            .await
            .unwrap()
            .encode(plan.clone())
            .unwrap();
        // A worker opens its own session and codec over the store.
        let worker = open_session(&store).await.unwrap();
        let codec = PlanCodec::of_session(&worker).await.unwrap();
        let decoded = codec.decode(&bytes, &worker.task_ctx()).unwrap();
        assert_eq!(
            displayable(decoded.as_ref()).indent(true).to_string(),
            shown
        );
        let (want, got) = (
            rows(plan, ctx.task_ctx()).await,
            rows(decoded, worker.task_ctx()).await,
        );
        assert!(want.len() > 100, "{}", want.len());
        assert_eq!(got, want);

        // Rows appended after planning make a version the plan did not read.
        store
            .append("b", intervals_schema(), vec![intervals(10, 7, 3)])
            .await
            .unwrap();
        let worker = open_session(&store).await.unwrap();
        let codec = PlanCodec::of_session(&worker).await.unwrap();
        let err = codec
            .decode(&bytes, &worker.task_ctx())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("reads version 1 of table 'b', but this store's is version 2"),
            "{err}"
        );
    }
}
