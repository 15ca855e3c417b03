//! `dnabench worker`: a datafusion-distributed worker over one store. Each
//! query's session is the engine's (the store's tables, the dnabench
//! functions, the genome loaded once per process) on the runtime of
//! `--memory-limit`, its tables checked out at the versions the
//! coordinator planned against ([`PlannedVersions`]), with the plan codec
//! over them: a worker reads the plan's snapshot even after its store has
//! moved on, and refuses a plan whose versions its store lacks.

use std::net::SocketAddr;

use datafusion::error::DataFusionError;
use datafusion::execution::{SessionState, SessionStateBuilder};
use datafusion::prelude::SessionContext;
use datafusion_distributed::{DistributedExt, Worker, WorkerQueryContext};
use dnabench_engine::sql::plan_codec::PlanCodec;
use dnabench_engine::sql::session::{furnish_at, runtime_env_spilling_into};
use dnabench_engine::sql::spill::spill_root;
use dnabench_engine::Store;

use crate::df;
use crate::planned_versions::PlannedVersions;

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
    let builder = (ctx.builder)
        .with_distributed_option_extension_from_headers::<PlannedVersions>(&ctx.headers)?;
    let state = builder.build();
    let versions = match state.config().options().extensions.get::<PlannedVersions>() {
        Some(planned) => planned.versions()?,
        None => Default::default(),
    };
    let session = SessionContext::new_with_state(state);
    furnish_at(&session, store, &versions).await.map_err(df)?;
    let codec = PlanCodec::of_session(&session).await.map_err(df)?;
    Ok(SessionStateBuilder::new_from_existing(session.state())
        .with_distributed_user_codec(codec)
        .with_distributed_channel_resolver(crate::coordinator::channels())
        .build())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{Int64Array, RecordBatch};
    use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
    use dnabench_engine::open_session;

    use super::*;
    use crate::coordinator::{display_plan, distribute};

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, false)]))
    }

    fn batch(values: std::ops::Range<i64>) -> RecordBatch {
        let values: Vec<i64> = values.collect();
        RecordBatch::try_new(schema(), vec![Arc::new(Int64Array::from(values))]).unwrap()
    }

    async fn start_worker(store: &Store) -> url::Url {
        let (sender, bound) = tokio::sync::oneshot::channel();
        let store = store.clone();
        tokio::spawn(async move {
            let listen = "127.0.0.1:0".parse().unwrap();
            serve(store, listen, |addr| sender.send(addr).unwrap()).await
        });
        let addr = bound.await.unwrap();
        url::Url::parse(&format!("http://{addr}")).unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn workers_read_the_versions_their_coordinator_planned_against() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(&dir.path().join("s")).unwrap();
        // Two commits, two fragments: a scan of two tasks.
        store
            .append("t", schema(), vec![batch(0..10)])
            .await
            .unwrap();
        store
            .append("t", schema(), vec![batch(10..20)])
            .await
            .unwrap();
        let workers = vec![start_worker(&store).await, start_worker(&store).await];
        let ctx = distribute(open_session(&store).await.unwrap(), workers)
            .await
            .unwrap();

        // The store moves on after the coordinator took its snapshot.
        store
            .append("t", schema(), vec![batch(100..105)])
            .await
            .unwrap();

        let frame = ctx
            .sql("SELECT sum(n) AS s FROM t WHERE n >= 0")
            .await
            .unwrap();
        let plan = frame.clone().create_physical_plan().await.unwrap();
        let shown = display_plan(plan.as_ref());
        assert!(shown.contains("tasks=2"), "{shown}");
        let rows = frame.collect().await.unwrap();
        let sum = rows[0]
            .column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap()
            .value(0);
        assert_eq!(sum, (0..20).sum::<i64>(), "the planned version's rows");
    }
}
