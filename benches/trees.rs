//! Tree training time, one run each: the downstream random forest
//! (smartcore) and gradient-boosted trees (forust-ml) against scikit-learn's
//! `RandomForestRegressor` and xgboost's `XGBRegressor` with the same
//! settings on the same features (`trees_sklearn.py`, run with
//! `$DNABENCH_PYTHON`, default `python3`, reading them from a Parquet file).
//! Every library runs on one thread.
//!
//! The features stand in for embeddings: rows × dims of N(0, 1), with the
//! target a function of a few of them.
//!
//! Run: `cargo bench --profile dev --bench trees`

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use arrow::array::{ArrayRef, Float32Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};
use dnabench_training::downstream::boosted::{self, BoostedConfig};
use dnabench_training::downstream::forest::{self, ForestConfig};
use forust_ml::Matrix;
use rand::{Rng, SeedableRng};
use smartcore::linalg::basic::matrix::DenseMatrix;

const ROWS: usize = 2000;
const DIMS: usize = 256;

fn features() -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let mut normal = || {
        // Box–Muller.
        let (u, v): (f32, f32) = (rng.random::<f32>().max(1e-9), rng.random());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f32::consts::PI * v).cos()
    };
    let x: Vec<f32> = (0..ROWS * DIMS).map(|_| normal()).collect();
    let y: Vec<f32> = (0..ROWS)
        .map(|r| {
            let f = &x[r * DIMS..(r + 1) * DIMS];
            f[0] * 2.0 - f[3] + (f[7] > 0.5) as i32 as f32 + 0.3 * f[11] * f[13]
        })
        .collect();
    let label: Vec<f32> = y.iter().map(|&v| f32::from(v > 0.0)).collect();
    (x, y, label)
}

fn write_parquet(path: &Path, x: &[f32], y: &[f32], label: &[f32]) {
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for d in 0..DIMS {
        fields.push(Field::new(format!("f{d}"), DataType::Float32, false));
        columns.push(Arc::new(Float32Array::from_iter_values(
            (0..ROWS).map(|r| x[r * DIMS + d]),
        )));
    }
    fields.push(Field::new("y", DataType::Float32, false));
    columns.push(Arc::new(Float32Array::from(y.to_vec())));
    fields.push(Field::new("label", DataType::Float32, false));
    columns.push(Arc::new(Float32Array::from(label.to_vec())));
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap();
    let file = std::fs::File::create(path).unwrap();
    let mut writer = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
}

fn main() {
    let (x, y, label) = features();
    let dir = tempfile::tempdir().unwrap();
    let parquet = dir.path().join("features.parquet");
    write_parquet(&parquet, &x, &y, &label);
    let m = DenseMatrix::new(ROWS, DIMS, x.clone(), false).unwrap();

    let forest_cfg = ForestConfig::default();
    let clock = Instant::now();
    let p = forest::fit_predict(&m, &label, &m, &forest_cfg).unwrap();
    let forest_s = clock.elapsed().as_secs_f64();
    assert_eq!(p.len(), ROWS);

    let boosted_cfg = BoostedConfig {
        threads: 1,
        ..BoostedConfig::default()
    };
    let rows: Vec<&[f32]> = x.chunks(DIMS).collect();
    let columns = boosted::column_major(&rows, DIMS);
    let matrix = Matrix::new(&columns, ROWS, DIMS);
    let targets: Vec<f64> = y.iter().map(|&v| f64::from(v)).collect();
    let clock = Instant::now();
    let mut model = boosted::booster(&boosted_cfg);
    model.fit_unweighted(&matrix, &targets, None).unwrap();
    let boosted_s = clock.elapsed().as_secs_f64();
    assert_eq!(model.predict(&matrix, false).len(), ROWS);

    let python = std::env::var("DNABENCH_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/trees_sklearn.py");
    let baseline = Command::new(python)
        .arg(script)
        .arg(&parquet)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).to_string());
    let seconds_of = |name: &str| -> Option<f64> {
        baseline.as_ref()?.lines().find_map(|l| {
            let (n, s) = l.split_once(' ')?;
            (n == name).then(|| s.trim().parse().ok()).flatten()
        })
    };
    println!("trees on {ROWS} rows × {DIMS} features, one thread each");
    let forest = "random forest, 100 trees, √d features a split";
    let boosted = "boosted trees, 100 × depth 4, lr 0.1, subsample 0.8";
    for (name, crate_name, ours, theirs, against) in [
        (
            forest,
            "smartcore",
            forest_s,
            "forest",
            "scikit-learn RandomForestRegressor",
        ),
        (
            boosted,
            "forust-ml",
            boosted_s,
            "boosted_exact",
            "xgboost XGBRegressor (exact)",
        ),
        (
            boosted,
            "forust-ml",
            boosted_s,
            "boosted_hist",
            "xgboost XGBRegressor (hist)",
        ),
    ] {
        match seconds_of(theirs) {
            Some(t) => println!(
                "{name}: {crate_name} {ours:.2} s, {against} {t:.2} s, ratio (time) {:.2}",
                ours / t
            ),
            None => println!("{name}: {crate_name} {ours:.2} s ({against} not run: set DNABENCH_PYTHON to a Python with it)"),
        }
    }
}
