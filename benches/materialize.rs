//! Materialization rate, one run: `dnabench simulate --store` once, then
//! every task's SQL through `materialize` (not written), examples/s each.
//! The chromatin task is the one the issue asks for: peaks binned by
//! arithmetic and grouped into label lists (the windows' bases are
//! cut at load time, not here).
//!
//! Then the chromatin task at a larger scale: a generated 20 Mb genome and
//! 50 peak tracks of 10,000 peaks each (DNABENCH_BENCH_TRACKS changes 50).
//!
//! Run: `cargo bench --profile dev --bench materialize`

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use std::io::Write;

use dnabench_engine::ingest::{self, peaks::Peaks, OnInvalid, TrackSpec};
use dnabench_engine::materialize::{collect_examples, Materialization};
use dnabench_engine::{open_session, Store};
use dnabench_queries::{Task, TASKS};
use dnabench_simulate::{ingest_simulated, simulate, SimulatedFiles};
use rand::{Rng, SeedableRng};

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
        let started = Instant::now();
        let spec = Materialization::of_task(task, task.name, &BTreeMap::new()).unwrap();
        let (m, _) = collect_examples(&ctx, &store, &spec).await.unwrap();
        let secs = started.elapsed().as_secs_f64();
        println!(
            "{:<12} {:>7} examples in {:.3} s: {:>9.0} examples/s",
            task.name,
            m.rows(),
            secs,
            m.rows() as f64 / secs
        );
    }
    chromatin_at_scale(dir.path()).await;
}

async fn chromatin_at_scale(dir: &Path) {
    let tracks: usize = std::env::var("DNABENCH_BENCH_TRACKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let fasta = dir.join("big.fa");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&fasta).unwrap());
    for c in 1..=4 {
        writeln!(out, ">chr{c}").unwrap();
        for _ in 0..5_000_000 / 60 {
            let line: Vec<u8> = (0..60).map(|_| b"ACGT"[rng.random_range(0..4)]).collect();
            out.write_all(&line).unwrap();
            out.write_all(b"\n").unwrap();
        }
    }
    drop(out);
    let mut specs = Vec::new();
    for t in 0..tracks {
        let path = dir.join(format!("track{t}.bed"));
        let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        for _ in 0..10_000 {
            let start = rng.random_range(0..4_990_000);
            let c = rng.random_range(1..=4);
            writeln!(
                out,
                "chr{c}\t{start}\t{}",
                start + rng.random_range(200..1000)
            )
            .unwrap();
        }
        specs.push(TrackSpec {
            path,
            name: Some(format!("track{t}")),
            assay: Some("TF ChIP-seq".into()),
            biosample: None,
            ..Default::default()
        });
    }
    let store = Store::create(&dir.join("big-store")).unwrap();
    ingest::ingest_genome(&store, &fasta).await.unwrap();
    ingest::ingest_tracks::<Peaks>(&store, &specs, OnInvalid::Fail, &mut |_| {})
        .await
        .unwrap();
    let ctx = open_session(&store).await.unwrap();
    let task = Task::named("chromatin").unwrap();
    let started = Instant::now();
    let spec = Materialization::of_task(&task, "chromatin", &BTreeMap::new()).unwrap();
    let (m, _) = collect_examples(&ctx, &store, &spec).await.unwrap();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "chromatin at scale (20 Mb, {tracks} tracks x 10,000 peaks): {} examples in {secs:.3} s: {:.0} examples/s",
        m.rows(),
        m.rows() as f64 / secs
    );
}
