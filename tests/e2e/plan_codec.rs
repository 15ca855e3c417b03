//! A physical plan shipped as DataFusion protobuf (what a distributed
//! engine sends its workers) runs on the receiving side to the same rows.

use std::sync::Arc;

use datafusion::physical_plan::{collect, displayable, ExecutionPlan};
use dnabench_engine::sql::plan_codec::PlanCodec;
use dnabench_engine::sql::session::open_session;
use dnabench_engine::store::Store;

/// The chromatin task's label rule as an interval join (DeepSEA's: a track
/// labels a 200 bp bin when one of its peaks covers more than half of it),
/// over the TF ChIP tracks only.
const CHROMATIN_LABELS: &str =
    "SELECT t.chrom, t.start, array_sort(array_agg(DISTINCT p.track_id)) AS labels \
    FROM tiles(200) t JOIN peaks p \
      ON t.chrom = p.chrom AND t.start < p.\"end\" AND p.start < t.\"end\" \
     AND overlap_len(t.start, t.\"end\", p.start, p.\"end\") > 100 \
    WHERE p.track_id IN (SELECT track_id FROM tracks WHERE assay = 'TF ChIP-seq') \
    GROUP BY t.chrom, t.start";

async fn sorted_rows(
    plan: Arc<dyn ExecutionPlan>,
    ctx: Arc<datafusion::execution::TaskContext>,
) -> Vec<String> {
    let batches = collect(plan, ctx).await.unwrap();
    let text = arrow::util::pretty::pretty_format_batches(&batches)
        .unwrap()
        .to_string();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines.sort();
    lines
}

#[test]
fn the_chromatin_label_plan_runs_the_same_after_the_protobuf_codec() {
    let path = &crate::tasks::fixture().store;
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = Store::open(path).unwrap();
        let planner = open_session(&store).await.unwrap();
        let plan = planner
            .sql(CHROMATIN_LABELS)
            .await
            .unwrap()
            .create_physical_plan()
            .await
            .unwrap();
        let shown = displayable(plan.as_ref()).indent(true).to_string();
        for node in ["IntervalJoinExec", "LanceRead: uri=", "overlap_len("] {
            assert!(shown.contains(node), "{node} not in\n{shown}");
        }
        let bytes = PlanCodec::of_session(&planner)
            .await
            .unwrap()
            .encode(plan.clone())
            .unwrap();

        // The worker's side: its own session over the store (functions bound
        // to its copy of the genome, its own snapshot of the tables), the
        // codec of that session, and only the bytes.
        let worker = open_session(&store).await.unwrap();
        let codec = PlanCodec::of_session(&worker).await.unwrap();
        let decoded = codec.decode(&bytes, &worker.task_ctx()).unwrap();
        assert_eq!(
            displayable(decoded.as_ref()).indent(true).to_string(),
            shown
        );

        let want = sorted_rows(plan, planner.task_ctx()).await;
        let got = sorted_rows(decoded, worker.task_ctx()).await;
        // Six TF tracks over 10.3 Mb: thousands of labelled bins.
        assert!(want.len() > 5000, "{} rows", want.len());
        assert_eq!(got, want);
    });
}
