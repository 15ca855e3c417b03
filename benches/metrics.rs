//! Metric aggregates at scale, one run: `auroc` and `spearman` over 10M
//! rows of an in-memory table in SQL, next to scikit-learn's
//! `roc_auc_score` and scipy's `spearmanr` on the same values
//! (`metrics_sklearn.py`, run with `$DNABENCH_PYTHON`, default `python3`,
//! reading them from a Parquet file; its load time is not counted).
//!
//! Run: `cargo bench --profile dev --bench metrics`
//! (`DNABENCH_BENCH_ROWS` changes 10,000,000.)

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use arrow::array::{Float64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};
use datafusion::datasource::MemTable;
use rand::{Rng, SeedableRng};

fn table(rows: usize) -> RecordBatch {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let label: Vec<f64> = (0..rows).map(|_| f64::from(rng.random_bool(0.3))).collect();
    let score: Vec<f64> = label
        .iter()
        .map(|l| l * 0.5 + rng.random::<f64>())
        .collect();
    let y: Vec<f64> = score.iter().map(|s| s + rng.random::<f64>()).collect();
    let schema = Schema::new(vec![
        Field::new("score", DataType::Float64, false),
        Field::new("label", DataType::Float64, false),
        Field::new("y", DataType::Float64, false),
    ]);
    RecordBatch::try_new(
        Arc::new(schema),
        vec![
            Arc::new(Float64Array::from(score)),
            Arc::new(Float64Array::from(label)),
            Arc::new(Float64Array::from(y)),
        ],
    )
    .unwrap()
}

#[tokio::main]
async fn main() {
    let rows: usize = std::env::var("DNABENCH_BENCH_ROWS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000_000);
    let batch = table(rows);
    let dir = tempfile::tempdir().unwrap();
    let parquet = dir.path().join("pairs.parquet");
    let file = std::fs::File::create(&parquet).unwrap();
    let mut writer = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();

    let ctx = dnabench_engine::sql::session::open_session_without_store();
    // One partition per core, as a scan of a large table would give.
    let parts: Vec<Vec<RecordBatch>> = (0..2)
        .map(|i| {
            let half = rows / 2;
            vec![batch.slice(i * half, if i == 1 { rows - half } else { half })]
        })
        .collect();
    ctx.register_table(
        "pairs",
        Arc::new(MemTable::try_new(batch.schema(), parts).unwrap()),
    )
    .unwrap();
    let python = std::env::var("DNABENCH_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/metrics_sklearn.py");
    let baseline = Command::new(python).arg(script).arg(&parquet).output().ok();
    let baseline = baseline
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).to_string());
    for (name, sql) in [
        ("auroc", "SELECT auroc(score, label) FROM pairs"),
        ("spearman", "SELECT spearman(score, y) FROM pairs"),
    ] {
        let started = Instant::now();
        let out = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        let secs = started.elapsed().as_secs_f64();
        let value = out[0]
            .column(0)
            .as_any()
            .downcast_ref::<Float64Array>()
            .unwrap()
            .value(0);
        let theirs = baseline.as_ref().and_then(|text| {
            text.lines().find_map(|l| {
                let mut parts = l.split_whitespace();
                (parts.next()? == name).then(|| {
                    let v: f64 = parts.next()?.parse().ok()?;
                    let t: f64 = parts.next()?.parse().ok()?;
                    Some((v, t))
                })?
            })
        });
        match theirs {
            Some((v, t)) => println!(
                "{name:<9} {rows} rows: SQL {secs:.3} s ({value:.6})   python {t:.3} s ({v:.6})   ratio {:.2}",
                secs / t
            ),
            None => println!("{name:<9} {rows} rows: SQL {secs:.3} s ({value:.6})   (no python baseline)"),
        }
    }
}
