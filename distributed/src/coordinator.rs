//! The coordinator: every session the process opens over a store
//! ([`dnabench_engine::open_session`]) becomes a distributed one, planning
//! its queries into stages whose tasks run on the given workers.

use datafusion::error::DataFusionError;
use datafusion::execution::SessionStateBuilder;
use datafusion::prelude::SessionContext;
use datafusion_distributed::{DistributedExt, SessionStateBuilderExt, WorkerResolver};
use dnabench_engine::sql::plan_codec::PlanCodec;
use dnabench_engine::sql::session::set_session_hook;
use url::Url;

use crate::lance_tasks;
use crate::named_workers::NamingChannelResolver;
use crate::planned_versions::PlannedVersions;

/// The worker URLs of `--workers` (`http://host:port`, comma-separated).
pub fn parse_workers(text: &str) -> anyhow::Result<Vec<Url>> {
    let urls: Vec<Url> = text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            let url = Url::parse(s).map_err(|e| {
                anyhow::anyhow!("worker '{s}' is not a URL ({e}); give http://HOST:PORT")
            })?;
            if url.scheme() != "http" || url.host().is_none() || url.port().is_none() {
                anyhow::bail!("worker '{s}': give http://HOST:PORT");
            }
            Ok(url)
        })
        .collect::<anyhow::Result<_>>()?;
    if urls.is_empty() {
        anyhow::bail!("--workers names no worker; give http://HOST:PORT[,…]");
    }
    Ok(urls)
}

static INSTALLED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether [`install`] ran in this process.
pub fn is_installed() -> bool {
    INSTALLED.load(std::sync::atomic::Ordering::Relaxed)
}

/// A distributed plan as its stages, each with its tasks.
pub fn display_plan(plan: &dyn datafusion::physical_plan::ExecutionPlan) -> String {
    datafusion_distributed::display_plan_ascii(plan, false)
}

/// Makes every session of this process plan across `workers`.
pub fn install(workers: Vec<Url>) {
    INSTALLED.store(true, std::sync::atomic::Ordering::Relaxed);
    set_session_hook(Box::new(move |ctx| {
        let workers = workers.clone();
        Box::pin(async move { distribute(ctx, workers).await })
    }));
}

/// `ctx` (a session over a store) as a distributed session over `workers`.
pub async fn distribute(
    ctx: SessionContext,
    workers: Vec<Url>,
) -> dnabench_engine::Result<SessionContext> {
    let codec = PlanCodec::of_session(&ctx).await?;
    let versions = PlannedVersions::of(&codec.table_versions());
    let state = SessionStateBuilder::new_from_existing(ctx.state())
        .with_distributed_option_extension(versions)
        .with_distributed_worker_resolver(Workers(workers))
        .with_distributed_channel_resolver(channels())
        .with_distributed_user_codec(codec)
        .with_distributed_desired_task_count_handler(lance_tasks::desired_task_count)
        .with_distributed_scale_up_leaf_node_handler(lance_tasks::scale_up_leaf)
        .with_distributed_planner()
        .build();
    // In place: the session's file-URL tables hold a reference to this
    // very state, which a new context would leave dangling.
    *ctx.state_ref().write() = state;
    Ok(ctx)
}

/// The process's connections to workers, shared by its sessions so each
/// worker is connected to once.
pub(crate) fn channels() -> NamingChannelResolver {
    static CHANNELS: std::sync::OnceLock<NamingChannelResolver> = std::sync::OnceLock::new();
    CHANNELS.get_or_init(NamingChannelResolver::default).clone()
}

/// A fixed list of workers.
#[derive(Clone)]
struct Workers(Vec<Url>);

impl WorkerResolver for Workers {
    fn get_urls(&self) -> Result<Vec<Url>, DataFusionError> {
        Ok(self.0.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_are_http_urls_with_a_port() {
        let urls = parse_workers("http://127.0.0.1:50051, http://w2:7").unwrap();
        assert_eq!(urls.len(), 2);
        for bad in ["", "127.0.0.1:5", "http://w1", "grpc://w1:5"] {
            assert!(parse_workers(bad).is_err(), "{bad}");
        }
    }
}
