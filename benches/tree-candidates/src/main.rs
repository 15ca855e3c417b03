//! Gradient-boosted regression trees from three Rust crates, fitted with
//! the same settings (100 trees of depth 4, learning rate 0.1, row
//! subsample 0.8, L2 1) on the same 2,000 × 256 features as
//! `benches/trees.rs`, one thread each: fit time, and held-out MSE so that
//! a fast fit is not a worse one.

use std::time::Instant;

use rand::{Rng, SeedableRng};

const ROWS: usize = 2000;
const TEST: usize = 1000;
const DIMS: usize = 256;
const TREES: usize = 100;
const DEPTH: usize = 4;
const LEARNING_RATE: f32 = 0.1;
const SUBSAMPLE: f32 = 0.8;

/// Row-major N(0, 1) features and the target `benches/trees.rs` plants.
fn features(rows: usize, seed: u64) -> (Vec<f32>, Vec<f32>) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut normal = || {
        let (u, v): (f32, f32) = (rng.random::<f32>().max(1e-9), rng.random());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f32::consts::PI * v).cos()
    };
    let x: Vec<f32> = (0..rows * DIMS).map(|_| normal()).collect();
    let y = (0..rows)
        .map(|r| {
            let f = &x[r * DIMS..(r + 1) * DIMS];
            f[0] * 2.0 - f[3] + f32::from(f[7] > 0.5) + 0.3 * f[11] * f[13]
        })
        .collect();
    (x, y)
}

fn mse(predicted: &[f64], truth: &[f32]) -> f64 {
    let sum: f64 = (predicted.iter().zip(truth))
        .map(|(p, t)| (p - f64::from(*t)).powi(2))
        .sum();
    sum / truth.len() as f64
}

fn smartcore_fit(x: &[f32], y: &[f32], test: &[f32]) -> Vec<f64> {
    use smartcore::linalg::basic::matrix::DenseMatrix;
    use smartcore::xgboost::{XGRegressor, XGRegressorParameters};
    let train = DenseMatrix::new(ROWS, DIMS, x.to_vec(), false).expect("train matrix");
    let params = XGRegressorParameters::default()
        .with_n_estimators(TREES)
        .with_max_depth(DEPTH as u16)
        .with_learning_rate(f64::from(LEARNING_RATE))
        .with_subsample(f64::from(SUBSAMPLE))
        .with_lambda(1.0);
    let model = XGRegressor::fit(&train, &y.to_vec(), params).expect("smartcore fit");
    let test = DenseMatrix::new(TEST, DIMS, test.to_vec(), false).expect("test matrix");
    let p: Vec<f32> = model.predict(&test).expect("smartcore predict");
    p.into_iter().map(f64::from).collect()
}

fn forust_fit(x: &[f32], y: &[f32], test: &[f32]) -> Vec<f64> {
    use forust_ml::objective::ObjectiveType;
    use forust_ml::sampler::SampleMethod;
    use forust_ml::{GradientBooster, Matrix};
    // forust reads column-major f64.
    let columns = |x: &[f32], rows: usize| -> Vec<f64> {
        (0..DIMS)
            .flat_map(|d| (0..rows).map(move |r| f64::from(x[r * DIMS + d])))
            .collect()
    };
    let train = columns(x, ROWS);
    let y: Vec<f64> = y.iter().map(|&v| f64::from(v)).collect();
    let mut model = GradientBooster::default()
        .set_objective_type(ObjectiveType::SquaredLoss)
        .set_iterations(TREES)
        .set_max_depth(DEPTH)
        .set_learning_rate(LEARNING_RATE)
        .set_l2(1.0)
        .set_subsample(SUBSAMPLE)
        .set_sample_method(SampleMethod::Random)
        .set_parallel(false)
        .set_num_threads(Some(1));
    model
        .fit_unweighted(&Matrix::new(&train, ROWS, DIMS), &y, None)
        .expect("forust fit");
    let test = columns(test, TEST);
    model.predict(&Matrix::new(&test, TEST, DIMS), false)
}

fn gbdt_fit(x: &[f32], y: &[f32], test: &[f32]) -> Vec<f64> {
    use gbdt::config::Config;
    use gbdt::decision_tree::Data;
    use gbdt::gradient_boost::GBDT;
    let mut cfg = Config::new();
    cfg.set_feature_size(DIMS);
    cfg.set_max_depth(DEPTH as u32);
    cfg.set_iterations(TREES);
    cfg.set_shrinkage(LEARNING_RATE);
    cfg.set_data_sample_ratio(f64::from(SUBSAMPLE));
    cfg.set_loss("SquaredError");
    let mut train: Vec<Data> = (0..ROWS)
        .map(|r| Data::new_training_data(x[r * DIMS..(r + 1) * DIMS].to_vec(), 1.0, y[r], None))
        .collect();
    let mut model = GBDT::new(&cfg);
    model.fit(&mut train);
    let test: Vec<Data> = (0..TEST)
        .map(|r| Data::new_test_data(test[r * DIMS..(r + 1) * DIMS].to_vec(), None))
        .collect();
    model.predict(&test).into_iter().map(f64::from).collect()
}

fn main() {
    let (x, y) = features(ROWS, 11);
    let (test, truth) = features(TEST, 12);
    let mean = y.iter().map(|&v| f64::from(v)).sum::<f64>() / ROWS as f64;
    println!(
        "gradient-boosted trees, {TREES} × depth {DEPTH}, lr {LEARNING_RATE}, subsample {SUBSAMPLE}, \
         on {ROWS} × {DIMS} features, one thread; held-out MSE on {TEST} rows (the train mean's: {:.3})",
        mse(&vec![mean; TEST], &truth)
    );
    type Fit = fn(&[f32], &[f32], &[f32]) -> Vec<f64>;
    let candidates: [(&str, Fit); 3] = [
        ("smartcore 0.7 XGRegressor", smartcore_fit),
        ("forust-ml 0.8 GradientBooster", forust_fit),
        ("gbdt 0.1.3 GBDT", gbdt_fit),
    ];
    for (name, fit) in candidates {
        let clock = Instant::now();
        let predicted = fit(&x, &y, &test);
        let seconds = clock.elapsed().as_secs_f64();
        println!(
            "{name}: fit + predict {seconds:.2} s, held-out MSE {:.3}",
            mse(&predicted, &truth)
        );
    }
}
