//! The DataFusion session over a store: every table registered under its
//! name, the genome loaded once, and the dnabench functions.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::execution::context::{SessionConfig, SessionContext};
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::session_state::SessionStateBuilder;
use lance::datafusion::LanceTableProvider;

use crate::error::Result;
use crate::genome::SessionGenome;
use crate::sql::functions;
use crate::sql::interval_join::IntervalJoinRule;
use crate::sql::memory::{memory_limit, MeteredPool};
use crate::sql::spill;
use crate::store::Store;

/// Opens a SQL session over `store` (made distributed by the process's
/// [`SessionHook`], when one is set).
pub async fn open_session(store: &Store) -> Result<SessionContext> {
    let ctx = context_spilling_into(&spill::spill_root(Some(&store.folder(""))));
    furnish(&ctx, store).await?;
    match SESSION_HOOK.get() {
        Some(hook) => hook(ctx).await,
        None => Ok(ctx),
    }
}

/// Registers `store`'s tables (at their current versions) and the
/// dnabench functions in `ctx`: what a worker's session for one query
/// needs on top of the one its engine gives it.
pub async fn furnish(ctx: &SessionContext, store: &Store) -> Result<()> {
    furnish_at(ctx, store, &HashMap::new()).await
}

/// [`furnish`], with each table named in `versions` checked out at that
/// version: a worker reads the snapshot its coordinator planned against,
/// even after the store has moved on.
pub async fn furnish_at(
    ctx: &SessionContext,
    store: &Store,
    versions: &HashMap<String, u64>,
) -> Result<()> {
    for name in store.table_names()? {
        let ds = match versions.get(&name) {
            Some(&version) => store.dataset_at(&name, version).await?,
            None => store.dataset(&name).await?,
        };
        ctx.register_table(
            name.as_str(),
            Arc::new(LanceTableProvider::new(Arc::new(ds), false, false)),
        )?;
    }
    if let Some(name) = versions.keys().find(|n| !store.has_table(n)) {
        return Err(crate::Error::store(
            store.root(),
            format!("the plan reads table '{name}', which this store does not have"),
        ));
    }
    functions::register_all(ctx, SessionGenome::lazy(store));
    Ok(())
}

/// A last step of every [`open_session`]: `dnabench --workers` makes the
/// sessions of materialize, eval and sql plan across workers. The engine
/// knows no distributed engine; the command line sets this.
pub type SessionHook = Box<
    dyn Fn(SessionContext) -> futures::future::BoxFuture<'static, Result<SessionContext>>
        + Send
        + Sync,
>;

static SESSION_HOOK: std::sync::OnceLock<SessionHook> = std::sync::OnceLock::new();

/// Sets the process's [`SessionHook`]; only the first call counts.
pub fn set_session_hook(hook: SessionHook) {
    let _ = SESSION_HOOK.set(hook);
}

/// The runtime (memory pool of `--memory-limit`, spill folder and budget)
/// every session of this process draws from, for a worker to give its
/// queries.
pub fn runtime_env_spilling_into(
    root: &std::path::Path,
) -> Arc<datafusion::execution::runtime_env::RuntimeEnv> {
    context_spilling_into(root).runtime_env()
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
/// [`memory_limit`] bytes and spill, within a budget, to `--spill-dir` or
/// the system's temporary folder ([`spill`]).
pub fn new_context() -> SessionContext {
    context_spilling_into(&spill::spill_root(None))
}

/// [`new_context`], spilling into this process's folder under `root`, or
/// under the default root (`--spill-dir`, else the system's temporary
/// folder) when that cannot be made, as in a read-only store.
pub fn context_spilling_into(root: &std::path::Path) -> SessionContext {
    let (dir, budget) = match spill::process_dir(root) {
        Ok(dir) => (dir, spill::spill_limit(root)),
        Err(e) => {
            let fallback = spill::spill_root(None);
            eprintln!(
                "dnabench: cannot spill into {} ({e}); spilling into {}",
                root.display(),
                fallback.display()
            );
            let dir = spill::process_dir(&fallback).unwrap_or_else(|_| std::env::temp_dir());
            (dir, spill::spill_limit(&fallback))
        }
    };
    spill::note_budget(&budget);
    let disk = DiskManagerBuilder::default()
        .with_mode(DiskManagerMode::Directories(vec![dir]))
        .with_max_temp_directory_size(budget.bytes);
    let limit = memory_limit();
    // A sort keeps this much back to merge its spills; 10 MB by default,
    // more than a small pool has.
    let config = SessionConfig::new()
        .with_information_schema(true)
        .with_sort_spill_reservation_bytes((limit / 16).min(10 << 20));
    let pool = Arc::new(MeteredPool::new(limit));
    let runtime = RuntimeEnvBuilder::new()
        .with_memory_pool(pool.clone())
        .with_disk_manager_builder(disk)
        .build_arc()
        .or_else(|_| RuntimeEnvBuilder::new().with_memory_pool(pool).build_arc())
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
