//! How a plan's stages split into tasks. A Lance scan is a list of
//! fragments: it asks for a task per fragment (the planner caps that by the
//! workers), and task i of n reads every n-th fragment from the i-th, so
//! the tasks' rows are the scan's, each once. A scan cut to a row range
//! (a pushed-down LIMIT) stays one task. The interval join collects its
//! build side whole in each task: a stage holding one stays one task, so
//! no build side is ever split across tasks.

use std::sync::Arc;

use datafusion::common::Result;
use datafusion::physical_plan::empty::EmptyExec;
use datafusion::physical_plan::ExecutionPlan;
use datafusion_distributed::{
    DesiredTaskCountEvent, DesiredTaskCountEventResponse, DistributedLeafExec,
    ScaleUpLeafNodeEvent, ScaleUpLeafNodeEventResponse,
};
use dnabench_engine::sql::interval_join::IntervalJoinExec;
use lance::io::exec::filtered_read::FilteredReadExec;

/// Tasks a node's stage wants: one a fragment for a Lance scan, one for a
/// stage with an interval join; none said for anything else.
pub fn desired_task_count(
    event: DesiredTaskCountEvent<'_>,
) -> Option<Result<DesiredTaskCountEventResponse>> {
    let plan = event.plan;
    if plan.downcast_ref::<IntervalJoinExec>().is_some() {
        return Some(Ok(DesiredTaskCountEventResponse::maximum(1)));
    }
    let scan = plan.downcast_ref::<FilteredReadExec>()?;
    if !splits(scan) {
        return Some(Ok(DesiredTaskCountEventResponse::maximum(1)));
    }
    Some(Ok(DesiredTaskCountEventResponse::desired(
        fragments_of(scan).len().max(1),
    )))
}

/// A Lance scan as `task_count` scans of its fragments, dealt round-robin.
pub fn scale_up_leaf(
    event: ScaleUpLeafNodeEvent<'_>,
) -> Option<Result<ScaleUpLeafNodeEventResponse>> {
    let scan = event.plan.downcast_ref::<FilteredReadExec>()?;
    Some(split_scan(event.plan, scan, event.task_count).map(ScaleUpLeafNodeEventResponse::new))
}

fn splits(scan: &FilteredReadExec) -> bool {
    let options = scan.options();
    scan.index_input().is_none()
        && options.scan_range_before_filter.is_none()
        && options.scan_range_after_filter.is_none()
}

fn fragments_of(scan: &FilteredReadExec) -> Vec<lance::table::format::Fragment> {
    match &scan.options().fragments {
        Some(f) => f.as_ref().clone(),
        None => scan.dataset().fragments().as_ref().clone(),
    }
}

fn split_scan(
    original: &Arc<dyn ExecutionPlan>,
    scan: &FilteredReadExec,
    tasks: usize,
) -> Result<Arc<dyn ExecutionPlan>> {
    if tasks <= 1 || !splits(scan) {
        return Ok(original.clone());
    }
    let fragments = fragments_of(scan);
    let mut variants: Vec<Arc<dyn ExecutionPlan>> = Vec::with_capacity(tasks);
    for task in 0..tasks {
        let mine: Vec<_> = fragments
            .iter()
            .skip(task)
            .step_by(tasks)
            .cloned()
            .collect();
        if mine.is_empty() {
            // Fewer fragments than tasks: this task reads nothing (an empty
            // fragment list would read them all).
            variants.push(Arc::new(EmptyExec::new(scan.schema())));
            continue;
        }
        let options = scan.options().clone().with_fragments(Arc::new(mine));
        let variant = FilteredReadExec::try_new(scan.dataset().clone(), options, None)
            .map_err(|e| crate::df(format!("splitting a Lance scan into tasks: {e}")))?;
        variants.push(Arc::new(variant));
    }
    // Every variant must have the same partitions: an empty one as many as
    // the first scan.
    let partitions = variants
        .iter()
        .find(|v| v.downcast_ref::<EmptyExec>().is_none())
        .map(|v| v.properties().partitioning.partition_count())
        .unwrap_or(1);
    let variants: Vec<Arc<dyn ExecutionPlan>> = variants
        .into_iter()
        .map(|v| {
            if v.downcast_ref::<EmptyExec>().is_some() {
                Arc::new(EmptyExec::new(scan.schema()).with_partitions(partitions))
                    as Arc<dyn ExecutionPlan>
            } else {
                v
            }
        })
        .collect();
    Ok(Arc::new(DistributedLeafExec::try_new(
        original.clone(),
        variants,
    )?))
}
