//! The DataFusion session over a store: every table registered under its
//! name, the genome loaded once, and the dnabench functions.

use std::sync::Arc;

use datafusion::execution::context::{SessionConfig, SessionContext};
use lance::datafusion::LanceTableProvider;

use crate::error::Result;
use crate::genome::Genome;
use crate::store::Store;
use crate::udf;

/// Opens a SQL session over `store`.
pub async fn open_session(store: &Store) -> Result<SessionContext> {
    let config = SessionConfig::new().with_information_schema(true);
    // enable_url_table: `SELECT * FROM 'predictions.parquet'` reads a file directly.
    let ctx = SessionContext::new_with_config(config).enable_url_table();
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
