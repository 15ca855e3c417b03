//! Materialization rate, one run: `dnabench simulate --store` once, then
//! every task's SQL through `materialize` (not written), examples/s each.
//! The chromatin task is the one the issue asks for: tiles, the interval
//! join with the peaks, grouping into label lists, and 1000 bp of sequence
//! per example.
//!
//! Run: `cargo bench --profile dev --bench materialize`

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use dnabench_engine::simulate::{ingest_simulated, simulate, SimulatedFiles};
use dnabench_engine::{materialize::materialize, open_session, Store};
use dnabench_queries::TASKS;

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    let sources = dir.path().join("sources");
    simulate(&data, &sources, 1).unwrap();
    let store = Store::create(&dir.path().join("store")).unwrap();
    ingest_simulated(&store, &SimulatedFiles { dir: sources })
        .await
        .unwrap();
    let ctx = open_session(&store).await.unwrap();
    for task in TASKS {
        let origin = format!("queries/{}.sql", task.name);
        let started = Instant::now();
        let m = materialize(
            &ctx,
            task.name,
            task.name,
            &origin,
            task.sql,
            &BTreeMap::new(),
        )
        .await
        .unwrap();
        let secs = started.elapsed().as_secs_f64();
        println!(
            "{:<12} {:>7} examples in {:.3} s: {:>9.0} examples/s",
            task.name,
            m.rows(),
            secs,
            m.rows() as f64 / secs
        );
    }
}
