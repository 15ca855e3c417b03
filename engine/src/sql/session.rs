//! The DataFusion session over a store: every table registered under its
//! name, the genome loaded once, and the dnabench functions.

use std::sync::Arc;

use datafusion::execution::context::{SessionConfig, SessionContext};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::session_state::SessionStateBuilder;
use lance::datafusion::LanceTableProvider;

use crate::error::Result;
use crate::genome::SessionGenome;
use crate::sql::functions;
use crate::sql::interval_join::IntervalJoinRule;
use crate::sql::memory::{memory_limit, MeteredPool};
use crate::store::Store;

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
    functions::register_all(&ctx, SessionGenome::lazy(store));
    Ok(ctx)
}

/// A session over no store: the dnabench functions (but no genome for
/// `seq()`), for SQL over files and tables the SQL itself declares.
pub fn open_session_without_store() -> SessionContext {
    let ctx = new_context();
    functions::register_all(&ctx, SessionGenome::ready(None));
    ctx
}

/// A session with dnabench's planner rules (the interval join) and no
/// tables or functions yet. Its operators draw from a pool of
/// [`memory_limit`] bytes and spill to the system's temporary folder.
pub fn new_context() -> SessionContext {
    let limit = memory_limit();
    // A sort keeps this much back to merge its spills; 10 MB by default,
    // more than a small pool has.
    let config = SessionConfig::new()
        .with_information_schema(true)
        .with_sort_spill_reservation_bytes((limit / 16).min(10 << 20));
    let runtime = RuntimeEnvBuilder::new()
        .with_memory_pool(Arc::new(MeteredPool::new(limit)))
        .build_arc()
        .expect("a runtime with the default disk manager");
    let state = SessionStateBuilder::new()
        .with_config(config)
        .with_runtime_env(runtime)
        .with_default_features()
        .with_physical_optimizer_rules(IntervalJoinRule::with_default_rules())
        .build();
    // enable_url_table: `SELECT * FROM 'predictions.parquet'` reads a file directly.
    SessionContext::new_with_state(state).enable_url_table()
}
