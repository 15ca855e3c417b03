//! `cpg_matrix(table)`: a methylation table as one row per CpG, each
//! sample's coverage and methylated reads on both strands summed.
//!
//! ```sql
//! -- CpGs that some sample covers with 10 reads, and each sample's level there
//! SELECT chrom, cpg, methylation_levels(methylated, coverage, 10) AS levels
//! FROM cpg_matrix('methylation')
//! WHERE array_max(coverage) >= 10;
//! ```
//!
//! The samples are the table's track ids in ascending order; a '-' call at
//! c + 1 counts for the CpG at c. Each partition's rows come in (chrom,
//! cpg) order from a streaming merge ([`crate::sql::cpg_matrix`]).

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use datafusion::catalog::{Session, TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::{plan_err, Result, ScalarValue};
use datafusion::datasource::TableType;
use datafusion::execution::session_state::SessionState;
use datafusion::logical_expr::{Documentation, Expr};
use datafusion::physical_plan::ExecutionPlan;
use lance::datafusion::LanceTableProvider;

use crate::sql::cpg_matrix::{cpg_matrix_schema, CpgMatrixExec, CpgMatrixInput};

const USAGE: &str = "cpg_matrix(table)";

#[derive(Debug, Default)]
pub struct CpgMatrixFunction;

/// What `dnabench sql --functions` and `information_schema` say of it.
pub fn documentation() -> &'static Documentation {
    static DOC: OnceLock<Documentation> = OnceLock::new();
    DOC.get_or_init(|| {
        Documentation::builder(
                super::TABLE,
                r#"One row per CpG that any sample of a methylation table covers (each partition in (chrom, cpg) order, so ORDER BY chrom, cpg merges them without a sort): chrom, cpg (0-based position of the C) and, as lists with one value per sample (the table's track ids in ascending order), coverage and methylated reads, both strands summed (a '-' call at cpg + 1 counts for cpg); NULL where a sample has no call. It streams: the calls of a track, sorted by position at ingest, are merged side by side, so a whole genome of samples needs neither a GROUP BY's memory nor its spill."#,
                r#"cpg_matrix(table)"#,
            )
            .with_argument(r#"table"#, r#"A table with the columns track_id, chrom, start, strand, coverage and methylated, as `dnabench ingest methylation` writes 'methylation'."#)
            .with_sql_example(r#"SELECT chrom, cpg, coverage, methylated FROM cpg_matrix('methylation') ORDER BY chrom, cpg"#)
            .build()
    })
}

impl TableFunctionImpl for CpgMatrixFunction {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let table = match args.exprs() {
            [Expr::Literal(ScalarValue::Utf8(Some(name)), _)] => name.clone(),
            [other] => {
                return plan_err!(
                    "cpg_matrix(): the table must be a name in quotes, got {other} ({USAGE})"
                )
            }
            exprs => {
                return plan_err!(
                    "cpg_matrix() takes 1 argument: {USAGE}, got {}",
                    exprs.len()
                )
            }
        };
        let Some(state) = args.session().as_any().downcast_ref::<SessionState>() else {
            return plan_err!("cpg_matrix(): no session to find '{table}' in");
        };
        // The session's tables are registered in memory: the lookup is ready
        // at once (a file path is read by the session's own runtime).
        let provider = futures::executor::block_on(
            state
                .schema_for_ref(table.as_str())?
                .table(datafusion::common::TableReference::from(table.as_str()).table()),
        )?;
        let Some(provider) = provider else {
            return plan_err!(
                "cpg_matrix(): no table '{table}'; a store has 'methylation' once \
                 `dnabench ingest methylation` has run"
            );
        };
        Ok(Arc::new(CpgMatrixTable { table, provider }))
    }
}

/// The matrix of one table, as the planner sees it.
#[derive(Debug)]
struct CpgMatrixTable {
    table: String,
    provider: Arc<dyn TableProvider>,
}

#[async_trait]
impl TableProvider for CpgMatrixTable {
    fn schema(&self) -> arrow::datatypes::SchemaRef {
        cpg_matrix_schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Temporary
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let input = match self.provider.downcast_ref::<LanceTableProvider>() {
            Some(lance) => CpgMatrixInput::Lance(lance.dataset()),
            None => CpgMatrixInput::Plan(self.provider.scan(state, None, &[], None).await?),
        };
        Ok(Arc::new(CpgMatrixExec::try_new(
            &self.table,
            input,
            projection.cloned(),
            state.config().target_partitions(),
        )?))
    }
}

#[cfg(test)]
mod tests {
    use datafusion::execution::context::SessionContext;

    use crate::sql::functions::pretty_sql;

    async fn session() -> SessionContext {
        let ctx = SessionContext::new();
        crate::sql::functions::register_all(&ctx, None);
        ctx.sql(
            "CREATE TABLE calls (track_id INT, chrom VARCHAR, start BIGINT, strand VARCHAR, \
             coverage INT, methylated INT)",
        )
        .await
        .unwrap();
        ctx
    }

    #[tokio::test]
    async fn errors_name_the_table_and_the_rule() {
        let ctx = session().await;
        let err = pretty_sql(&ctx, "SELECT * FROM cpg_matrix('nothing')")
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("no table 'nothing'"), "{err}");
        let err = pretty_sql(&ctx, "SELECT * FROM cpg_matrix(3)")
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("a name in quotes"), "{err}");
        ctx.sql("CREATE TABLE bad AS VALUES (1, 'chr1')")
            .await
            .unwrap();
        let err = pretty_sql(&ctx, "SELECT * FROM cpg_matrix('bad')")
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("bad has no column 'track_id'"), "{err}");
    }

    /// Each partition's rows come in (chrom, cpg) order, so ORDER BY chrom,
    /// cpg merges the partitions and sorts nothing.
    #[tokio::test]
    async fn order_by_chrom_and_cpg_needs_no_sort() {
        let ctx = session().await;
        let plan = pretty_sql(
            &ctx,
            "EXPLAIN SELECT chrom, cpg FROM cpg_matrix('calls') ORDER BY chrom, cpg",
        )
        .await
        .unwrap();
        assert!(plan.contains("CpgMatrixExec"), "{plan}");
        assert!(!plan.contains("SortExec"), "{plan}");
    }

    #[tokio::test]
    async fn an_empty_table_gives_no_rows() {
        let ctx = session().await;
        let text = pretty_sql(&ctx, "SELECT count(*) AS n FROM cpg_matrix('calls')")
            .await
            .unwrap();
        assert!(text.contains("| 0 |"), "{text}");
    }
}
