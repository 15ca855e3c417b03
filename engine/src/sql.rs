//! Running SQL text: one or many statements, named parameters filled first.

use std::collections::BTreeMap;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use datafusion::execution::context::SessionContext;
use datafusion::sql::parser::DFParser;
use dnabench_queries::SqlTemplate;

use crate::error::{Error, Result};

/// The result of the last statement of a SQL text.
pub struct QueryResult {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
}

/// Fills the parameters of `text` (from `origin`, a file path or "query"),
/// runs its statements in order and returns the result of the last one.
pub async fn run_sql(
    ctx: &SessionContext,
    origin: &str,
    text: &str,
    params: &BTreeMap<String, String>,
) -> Result<QueryResult> {
    let sql = SqlTemplate::parse(origin, text)?.render(params)?;
    let sql_error = |source| Error::Sql {
        origin: origin.to_string(),
        source,
    };
    let statements = DFParser::parse_sql(&sql).map_err(sql_error)?;
    if statements.is_empty() {
        return Err(Error::Invalid(format!("{origin}: no SQL statement to run")));
    }
    let count = statements.len();
    let mut last = None;
    for (i, statement) in statements.into_iter().enumerate() {
        let in_statement = |source| Error::Sql {
            origin: if count > 1 {
                format!("{origin}: statement {} of {count}", i + 1)
            } else {
                origin.to_string()
            },
            source,
        };
        let plan = ctx
            .state()
            .statement_to_plan(statement)
            .await
            .map_err(in_statement)?;
        let df = ctx.execute_logical_plan(plan).await.map_err(in_statement)?;
        let schema: SchemaRef = df.schema().inner().clone();
        let batches = df.collect().await.map_err(in_statement)?;
        last = Some(QueryResult { schema, batches });
    }
    last.ok_or_else(|| Error::Invalid(format!("{origin}: no SQL statement to run")))
}
