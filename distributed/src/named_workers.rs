//! Worker connections whose every error names the worker. A worker that
//! dies mid-query shows up in gRPC as a bare "connection reset"; wrapped
//! here, the query's error says which machine to look at, whether the
//! coordinator or another worker (fetching a shuffle) met it.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::physical_plan::metrics::ExecutionPlanMetricsSet;
use datafusion_distributed::grpc::DefaultChannelResolver;
use datafusion_distributed::{
    ChannelResolver, CoordinatorToWorkerMsg, ExecuteTaskRequest, GetWorkerInfoRequest,
    GetWorkerInfoResponse, WorkerChannel, WorkerToCoordinatorMsg,
};
use futures::stream::BoxStream;
use futures::StreamExt;
use tonic::codegen::http::HeaderMap;
use url::Url;

/// The default resolver (one cached connection a worker), its channels
/// naming their worker in every error.
#[derive(Clone, Default)]
pub struct NamingChannelResolver {
    inner: DefaultChannelResolver,
}

#[async_trait]
impl ChannelResolver for NamingChannelResolver {
    async fn get_worker_client_for_url(&self, url: &Url) -> Result<Box<dyn WorkerChannel>> {
        let inner = self.inner.get_worker_client_for_url(url).await;
        let inner = inner.map_err(|e| named(url, e))?;
        Ok(Box::new(NamedWorkerChannel {
            url: Arc::new(url.clone()),
            inner,
        }))
    }
}

struct NamedWorkerChannel {
    url: Arc<Url>,
    inner: Box<dyn WorkerChannel>,
}

/// `e`, said to have come from the worker at `url`.
fn named(url: &Url, e: DataFusionError) -> DataFusionError {
    let name = url.as_str().trim_end_matches('/');
    DataFusionError::Context(format!("on worker {name}"), Box::new(e))
}

fn named_stream<T: Send + 'static>(
    url: Arc<Url>,
    stream: BoxStream<'static, Result<T>>,
) -> BoxStream<'static, Result<T>> {
    stream
        .map(move |item| item.map_err(|e| named(&url, e)))
        .boxed()
}

#[async_trait]
impl WorkerChannel for NamedWorkerChannel {
    async fn coordinator_channel(
        &mut self,
        headers: HeaderMap,
        c2w_stream: BoxStream<'static, CoordinatorToWorkerMsg>,
    ) -> Result<BoxStream<'static, Result<WorkerToCoordinatorMsg>>> {
        let replies = self.inner.coordinator_channel(headers, c2w_stream).await;
        let replies = replies.map_err(|e| named(&self.url, e))?;
        Ok(named_stream(self.url.clone(), replies))
    }

    async fn execute_task(
        &mut self,
        headers: HeaderMap,
        request: ExecuteTaskRequest,
        metrics: ExecutionPlanMetricsSet,
        task_ctx: &Arc<TaskContext>,
    ) -> Result<Vec<BoxStream<'static, Result<RecordBatch>>>> {
        let streams = self
            .inner
            .execute_task(headers, request, metrics, task_ctx)
            .await
            .map_err(|e| named(&self.url, e))?;
        Ok(streams
            .into_iter()
            .map(|s| named_stream(self.url.clone(), s))
            .collect())
    }

    async fn get_worker_info(
        &mut self,
        request: GetWorkerInfoRequest,
    ) -> Result<GetWorkerInfoResponse> {
        let info = self.inner.get_worker_info(request).await;
        info.map_err(|e| named(&self.url, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_names_its_worker_once_without_the_trailing_slash() {
        let url = Url::parse("http://10.0.0.7:50051").unwrap();
        let e = named(&url, DataFusionError::Execution("connection reset".into()));
        let text = e.to_string();
        assert!(text.contains("on worker http://10.0.0.7:50051\n"), "{text}");
        assert!(text.contains("connection reset"), "{text}");
    }
}
