//! The DataFusion session over a store: every table registered under its
//! name, the genome loaded once, and the dnabench functions.

use std::sync::Arc;

use datafusion::execution::context::{SessionConfig, SessionContext};
use datafusion::execution::session_state::SessionStateBuilder;
use lance::datafusion::LanceTableProvider;

use crate::error::Result;
use crate::genome::Genome;
use crate::interval_join::IntervalJoinRule;
use crate::store::Store;
use crate::udf;

/// Opens a SQL session over `store`.
pub async fn open_session(store: &Store) -> Result<SessionContext> {
    let ctx = new_context();
    for name in store.table_names()? {
        let ds = store.dataset(&name).await?;
        ctx.register_table(
            name.as_str(),
            Arc::new(LanceTableProvider::new(Arc::new(ds), false, false)),
        )?;
    }
    let genome = Genome::load(store).await?.map(Arc::new);
    udf::register_all(&ctx, genome);
    Ok(ctx)
}

/// A session over no store: the dnabench functions (but no genome for
/// `seq()`), for SQL over files and tables the SQL itself declares.
pub fn open_session_without_store() -> SessionContext {
    let ctx = new_context();
    udf::register_all(&ctx, None);
    ctx
}

/// A session with dnabench's planner rules (the interval join) and no
/// tables or functions yet.
pub fn new_context() -> SessionContext {
    let config = SessionConfig::new().with_information_schema(true);
    let state = SessionStateBuilder::new()
        .with_config(config)
        .with_default_features()
        .with_physical_optimizer_rules(IntervalJoinRule::with_default_rules())
        .build();
    // enable_url_table: `SELECT * FROM 'predictions.parquet'` reads a file directly.
    SessionContext::new_with_state(state).enable_url_table()
}
