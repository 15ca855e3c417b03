//! The interval join: a physical optimizer rule that plans an overlap join
//! as an [`IntervalJoinExec`] instead of a hash join with a filter.
//!
//! ```sql
//! -- every peak of track 3 that overlaps a gene, as `bedtools intersect -wa -wb`
//! SELECT g.*, p.*
//! FROM genes g JOIN peaks p
//!   ON g.chrom = p.chrom AND g.start < p."end" AND p.start < g."end"
//! WHERE p.track_id = 3;
//! -- DeepSEA's label rule: more than half of a 200 bp bin inside a peak
//! SELECT t.chrom, t.start, array_agg(DISTINCT p.track_id) AS labels
//! FROM tiles(200) t JOIN peaks p
//!   ON t.chrom = p.chrom AND t.start < p."end" AND p.start < t."end"
//!  AND overlap_len(t.start, t."end", p.start, p."end") > 100
//! GROUP BY t.chrom, t.start;
//! ```
//!
//! DataFusion plans such a join as a hash join on `chrom` whose filter
//! compares every pair of intervals on a chromosome: quadratic per
//! chromosome. [`IntervalJoinRule`] finds inner hash joins whose filter
//! holds both comparisons of the overlap predicate (in either order, `<`
//! or `<=`, beside any other conditions) and swaps in [`IntervalJoinExec`];
//! `EXPLAIN` shows it.

mod exec;
mod overlap;

use std::sync::Arc;

use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{JoinType, NullEquality, Result};
use datafusion::config::ConfigOptions;
use datafusion::physical_optimizer::optimizer::PhysicalOptimizer;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::joins::HashJoinExec;
use datafusion::physical_plan::repartition::RepartitionExec;
use datafusion::physical_plan::{ExecutionPlan, Partitioning};

pub use exec::IntervalJoinExec;
pub use overlap::OverlapPredicate;

/// Replaces overlap hash joins with [`IntervalJoinExec`].
#[derive(Debug, Default)]
pub struct IntervalJoinRule;

impl IntervalJoinRule {
    /// DataFusion's physical rules with this one placed after the
    /// distribution, sorting and projection rules (so they no longer
    /// change the join) and before the plan's sanity check.
    pub fn with_default_rules() -> Vec<Arc<dyn PhysicalOptimizerRule + Send + Sync>> {
        let mut rules = PhysicalOptimizer::new().rules;
        let at = rules
            .iter()
            .position(|r| r.name() == "EnsureCooperative")
            .unwrap_or(rules.len().saturating_sub(1));
        rules.insert(at, Arc::new(IntervalJoinRule));
        rules
    }

    pub(crate) fn rewrite(hash: &HashJoinExec) -> Result<Option<IntervalJoinExec>> {
        if hash.join_type != JoinType::Inner
            || hash.null_equality != NullEquality::NullEqualsNothing
            || hash.null_aware
        {
            return Ok(None);
        }
        let Some(filter) = hash.filter() else {
            return Ok(None);
        };
        let (left, right) = (hash.left(), hash.right());
        let Some(overlap) = OverlapPredicate::find(filter, &left.schema(), &right.schema()) else {
            return Ok(None);
        };
        IntervalJoinExec::try_new(
            without_repartition(left),
            without_hash_repartition(right)?,
            hash.on().to_vec(),
            filter.clone(),
            overlap,
            hash.projection.as_ref().map(|p| p.to_vec()),
            hash.fetch(),
            hash.schema(),
        )
        .map(Some)
    }
}

/// The build side is read whole and the probe side needs no particular
/// partitioning, so hashing either side on the key is wasted work (and,
/// with one chromosome, would leave one partition doing all the probing):
/// a hash repartition becomes a round-robin one with as many partitions.
fn without_hash_repartition(plan: &Arc<dyn ExecutionPlan>) -> Result<Arc<dyn ExecutionPlan>> {
    let Some(repartition) = plan.downcast_ref::<RepartitionExec>() else {
        return Ok(plan.clone());
    };
    let Partitioning::Hash(_, n) = repartition.partitioning() else {
        return Ok(plan.clone());
    };
    Ok(Arc::new(RepartitionExec::try_new(
        repartition.input().clone(),
        Partitioning::RoundRobinBatch(*n),
    )?))
}

/// The build side is collected into one batch: no repartition is needed.
fn without_repartition(plan: &Arc<dyn ExecutionPlan>) -> Arc<dyn ExecutionPlan> {
    match plan.downcast_ref::<RepartitionExec>() {
        Some(repartition) => repartition.input().clone(),
        None => plan.clone(),
    }
}

impl PhysicalOptimizerRule for IntervalJoinRule {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            let Some(hash) = node.downcast_ref::<HashJoinExec>() else {
                return Ok(Transformed::no(node));
            };
            Ok(match Self::rewrite(hash)? {
                Some(join) => Transformed::yes(Arc::new(join) as Arc<dyn ExecutionPlan>),
                None => Transformed::no(node),
            })
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "interval_join"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{Int64Array, RecordBatch, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use datafusion::datasource::MemTable;
    use datafusion::execution::context::SessionContext;

    use super::*;
    use crate::sql::session::new_context;

    type Row = (String, i64, i64, i64);
    type Intervals = Vec<Row>;
    type Keep = dyn Fn(&Row, &Row) -> bool;

    /// Deterministic pseudo-random intervals with ids, on three chromosomes.
    fn intervals(n: i64, seed: i64, max_len: i64) -> Intervals {
        (0..n)
            .map(|i| {
                let h = crate::hash::hash_uniform(&i.to_le_bytes(), seed);
                let chrom = format!("chr{}", (h * 3.0) as i64 + 1);
                let start = ((h * 3.0).fract() * 10_000.0) as i64;
                let len = ((h * 1e6).fract() * max_len as f64) as i64;
                (chrom, start, start + len, i)
            })
            .collect()
    }

    fn register(ctx: &SessionContext, name: &str, rows: &Intervals, partitions: usize) {
        let schema = Arc::new(Schema::new(vec![
            Field::new("chrom", DataType::Utf8, false),
            Field::new("start", DataType::Int64, false),
            Field::new("end", DataType::Int64, false),
            Field::new("id", DataType::Int64, false),
        ]));
        let chunk = rows.len().div_ceil(partitions).max(1);
        let parts = rows
            .chunks(chunk)
            .map(|part| {
                vec![RecordBatch::try_new(
                    schema.clone(),
                    vec![
                        Arc::new(StringArray::from_iter_values(part.iter().map(|r| &r.0))),
                        Arc::new(Int64Array::from_iter_values(part.iter().map(|r| r.1))),
                        Arc::new(Int64Array::from_iter_values(part.iter().map(|r| r.2))),
                        Arc::new(Int64Array::from_iter_values(part.iter().map(|r| r.3))),
                    ],
                )
                .unwrap()]
            })
            .collect();
        ctx.register_table(name, Arc::new(MemTable::try_new(schema, parts).unwrap()))
            .unwrap();
    }

    async fn pairs(ctx: &SessionContext, sql: &str) -> Vec<(i64, i64)> {
        let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        let mut out = Vec::new();
        for b in batches {
            let a = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
            let c = b.column(1).as_any().downcast_ref::<Int64Array>().unwrap();
            out.extend(a.values().iter().copied().zip(c.values().iter().copied()));
        }
        out.sort();
        out
    }

    async fn plan_of(ctx: &SessionContext, sql: &str) -> String {
        let batches = ctx
            .sql(&format!("EXPLAIN {sql}"))
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        arrow::util::pretty::pretty_format_batches(&batches)
            .unwrap()
            .to_string()
    }

    #[tokio::test]
    async fn overlap_joins_equal_brute_force_and_are_planned_as_interval_joins() {
        let a = intervals(700, 1, 300);
        let b = intervals(900, 2, 40);
        for partitions in [1, 3] {
            let ctx = new_context();
            register(&ctx, "a", &a, partitions);
            register(&ctx, "b", &b, partitions);
            let cases: [(&str, &Keep); 4] = [
                (
                    "a.chrom = b.chrom AND a.start < b.\"end\" AND b.start < a.\"end\"",
                    &|x, y| x.0 == y.0 && x.1 < y.2 && y.1 < x.2,
                ),
                (
                    "b.chrom = a.chrom AND b.\"end\" > a.start AND a.\"end\" > b.start AND a.id % 2 = 0",
                    &|x, y| x.0 == y.0 && x.1 < y.2 && y.1 < x.2 && x.3 % 2 == 0,
                ),
                (
                    "a.chrom = b.chrom AND a.start <= b.\"end\" AND b.start <= a.\"end\"",
                    &|x, y| x.0 == y.0 && x.1 <= y.2 && y.1 <= x.2,
                ),
                (
                    "a.chrom = b.chrom AND a.start < b.\"end\" AND b.start < a.\"end\" \
                     AND overlap_len(a.start, a.\"end\", b.start, b.\"end\") * 2 > b.\"end\" - b.start",
                    &|x, y| {
                        x.0 == y.0 && x.1 < y.2 && y.1 < x.2 && (x.2.min(y.2) - x.1.max(y.1)) * 2 > y.2 - y.1
                    },
                ),
            ];
            crate::sql::functions::register_all(&ctx, None);
            for (on, keep) in cases {
                let sql = format!("SELECT a.id, b.id FROM a JOIN b ON {on}");
                let plan = plan_of(&ctx, &sql).await;
                assert!(plan.contains("IntervalJoinExec"), "{plan}");
                assert!(!plan.contains("HashJoinExec"), "{plan}");
                let mut want: Vec<(i64, i64)> = a
                    .iter()
                    .flat_map(|x| b.iter().filter(|y| keep(x, y)).map(|y| (x.3, y.3)))
                    .collect();
                want.sort();
                assert!(!want.is_empty());
                assert_eq!(
                    pairs(&ctx, &sql).await,
                    want,
                    "{on}, {partitions} partitions"
                );
            }
        }
    }

    #[tokio::test]
    async fn other_joins_keep_their_plans() {
        let ctx = new_context();
        register(&ctx, "a", &intervals(10, 1, 10), 1);
        register(&ctx, "b", &intervals(10, 2, 10), 1);
        // One comparison only: not an overlap.
        let plan = plan_of(
            &ctx,
            "SELECT * FROM a JOIN b ON a.chrom = b.chrom AND a.start < b.\"end\"",
        )
        .await;
        assert!(
            plan.contains("HashJoinExec") && !plan.contains("IntervalJoinExec"),
            "{plan}"
        );
        // Outer joins keep the hash join.
        let plan = plan_of(&ctx, "SELECT * FROM a LEFT JOIN b ON a.chrom = b.chrom AND a.start < b.\"end\" AND b.start < a.\"end\"").await;
        assert!(!plan.contains("IntervalJoinExec"), "{plan}");
    }

    #[tokio::test]
    async fn limit_is_honoured() {
        let ctx = new_context();
        register(&ctx, "a", &intervals(300, 1, 300), 1);
        register(&ctx, "b", &intervals(300, 2, 300), 1);
        let got = pairs(&ctx, "SELECT a.id, b.id FROM a JOIN b ON a.chrom = b.chrom AND a.start < b.\"end\" AND b.start < a.\"end\" LIMIT 7").await;
        assert_eq!(got.len(), 7);
    }
}
