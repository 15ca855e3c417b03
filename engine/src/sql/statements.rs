//! Running SQL text: one or many statements, named parameters filled first.

use std::collections::BTreeMap;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use datafusion::dataframe::DataFrame;
use datafusion::execution::context::SessionContext;
use datafusion::execution::SendableRecordBatchStream;
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
    let (df, origin) = prepare_sql(ctx, origin, text, params).await?;
    let schema: SchemaRef = df.schema().inner().clone();
    let batches = df
        .collect()
        .await
        .map_err(|source| Error::Sql { origin, source })?;
    Ok(QueryResult { schema, batches })
}

/// [`run_sql`], with the last statement's rows as a stream: they are
/// computed as the caller reads them, so memory holds what the plan's
/// operators hold (bounded by the session's memory pool), not the result.
pub async fn run_sql_stream(
    ctx: &SessionContext,
    origin: &str,
    text: &str,
    params: &BTreeMap<String, String>,
) -> Result<SendableRecordBatchStream> {
    let (df, origin) = prepare_sql(ctx, origin, text, params).await?;
    df.execute_stream()
        .await
        .map_err(|source| Error::Sql { origin, source })
}

/// Runs every statement but the last (views, tables); returns the last as a
/// DataFrame not yet executed, with the origin its errors should name.
pub async fn prepare_sql(
    ctx: &SessionContext,
    origin: &str,
    text: &str,
    params: &BTreeMap<String, String>,
) -> Result<(DataFrame, String)> {
    let sql = SqlTemplate::parse(origin, text)?.render(params)?;
    let statements = DFParser::parse_sql(&sql).map_err(|source| Error::Sql {
        origin: origin.to_string(),
        source,
    })?;
    let count = statements.len();
    if count == 0 {
        return Err(Error::Invalid(format!("{origin}: no SQL statement to run")));
    }
    let mut last = None;
    for (i, statement) in statements.into_iter().enumerate() {
        let named = if count > 1 {
            format!("{origin}: statement {} of {count}", i + 1)
        } else {
            origin.to_string()
        };
        let in_statement = |source| Error::Sql {
            origin: named.clone(),
            source,
        };
        let plan = ctx
            .state()
            .statement_to_plan(statement)
            .await
            .map_err(in_statement)?;
        let df = ctx.execute_logical_plan(plan).await.map_err(in_statement)?;
        if i + 1 < count {
            df.collect().await.map_err(in_statement)?;
        } else {
            last = Some((df, named));
        }
    }
    last.ok_or_else(|| Error::Invalid(format!("{origin}: no SQL statement to run")))
}
