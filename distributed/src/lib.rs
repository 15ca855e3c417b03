//! dnabench's SQL past one process, on datafusion-distributed: workers
//! ([`worker`]) run stages of a plan over a store they open themselves,
//! and a coordinator ([`coordinator`]) plans `sql`, `materialize` and `eval`
//! across them. Plans cross as DataFusion protobuf, our nodes (Lance scans,
//! the interval join) through the engine's `PlanCodec`; Lance scans split
//! into tasks by fragment ([`lance_tasks`]). Writes stay the coordinator's:
//! it streams the query's rows into Lance and commits once, as on one
//! machine, so a failed worker leaves every table at its previous version.

pub mod coordinator;
pub mod lance_tasks;
pub mod named_workers;
pub mod planned_versions;
pub mod worker;

/// A DataFusion error from one of ours.
pub(crate) fn df(e: impl std::fmt::Display) -> datafusion::error::DataFusionError {
    datafusion::error::DataFusionError::Execution(e.to_string())
}
