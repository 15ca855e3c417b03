//! `dnabench worker`: a datafusion-distributed worker over one store. Each
//! query's session is the engine's (the store's tables, the dnabench
//! functions, the genome loaded once per process) on the runtime of
//! `--memory-limit`, with the plan codec over that session's tables, so a
//! worker decodes a Lance scan against the table version it reads, and
//! refuses a plan made against another one.

use std::net::SocketAddr;

use datafusion::error::DataFusionError;
use datafusion::execution::{SessionState, SessionStateBuilder};
use datafusion::prelude::SessionContext;
use datafusion_distributed::{DistributedExt, Worker, WorkerQueryContext};
use dnabench_engine::sql::plan_codec::PlanCodec;
use dnabench_engine::sql::session::{furnish, runtime_env_spilling_into};
use dnabench_engine::sql::spill::spill_root;
use dnabench_engine::Store;

use crate::df;

/// Serves plan stages over `store` on `listen` until the process ends;
/// `on_ready` gets the bound address (port 0 picks one).
pub async fn serve(
    store: Store,
    listen: SocketAddr,
    on_ready: impl FnOnce(SocketAddr),
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    let bound = listener.local_addr()?;
    let runtime = runtime_env_spilling_into(&spill_root(Some(&store.folder(""))));
    let worker = Worker::from_session_builder(move |ctx: WorkerQueryContext| {
        let store = store.clone();
        async move { session_for(ctx, &store).await }
    })
    .with_runtime_env(runtime);
    on_ready(bound);
    tonic::transport::Server::builder()
        .add_service(worker.into_worker_server())
        .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
        .await?;
    Ok(())
}

/// One query's session: the worker's (its task context, config and
/// runtime) with our tables, functions and codec.
async fn session_for(
    ctx: WorkerQueryContext,
    store: &Store,
) -> Result<SessionState, DataFusionError> {
    let session = SessionContext::new_with_state(ctx.builder.build());
    furnish(&session, store).await.map_err(df)?;
    let codec = PlanCodec::of_session(&session).await.map_err(df)?;
    Ok(SessionStateBuilder::new_from_existing(session.state())
        .with_distributed_user_codec(codec)
        .build())
}
