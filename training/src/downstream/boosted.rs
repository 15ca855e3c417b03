//! Gradient-boosted regression trees (forust-ml's `GradientBooster`,
//! XGBoost's algorithm on 256-bin histograms, squared error) on the
//! concatenated ref and alt embeddings: the MPRA task's model.
//!
//! Chosen among the Rust candidates by `benches/tree-candidates` (their
//! times and errors are in `benches/README.md`): forust-ml, as fast as
//! `gbdt` on one thread, bins features (work grows with rows, not with
//! sorting them), runs on every core, and is kept up; `gbdt` is not.
//! `benches/trees.rs` times it against xgboost.

use anyhow::{anyhow, bail, Result};
use forust_ml::objective::ObjectiveType;
use forust_ml::sampler::SampleMethod;
use forust_ml::{GradientBooster, Matrix};
use serde::{Deserialize, Serialize};

use super::{first_target, predicted_rows, Table};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BoostedConfig {
    pub trees: usize,
    pub learning_rate: f32,
    pub max_depth: usize,
    /// Fraction of the train rows each tree sees (1: all).
    pub subsample: f32,
    /// L2 penalty on leaf weights.
    pub lambda: f32,
    /// Histogram bins per feature.
    pub bins: u16,
    /// Threads (0: every core).
    pub threads: usize,
    pub seed: u64,
}

impl Default for BoostedConfig {
    fn default() -> Self {
        BoostedConfig {
            trees: 100,
            learning_rate: 0.1,
            max_depth: 4,
            subsample: 0.8,
            lambda: 1.0,
            bins: 256,
            threads: 0,
            seed: 0,
        }
    }
}

/// An unfitted booster with `cfg`'s settings; its base score is the train
/// mean, set at fit time.
pub fn booster(cfg: &BoostedConfig) -> GradientBooster {
    let sampling = if cfg.subsample < 1.0 {
        SampleMethod::Random
    } else {
        SampleMethod::None
    };
    GradientBooster::default()
        .set_objective_type(ObjectiveType::SquaredLoss)
        .set_iterations(cfg.trees)
        .set_learning_rate(cfg.learning_rate)
        .set_max_depth(cfg.max_depth)
        .set_l2(cfg.lambda)
        .set_nbins(cfg.bins)
        .set_subsample(cfg.subsample)
        .set_sample_method(sampling)
        .set_initialize_base_score(true)
        .set_seed(cfg.seed)
        .set_parallel(cfg.threads != 1)
        .set_num_threads((cfg.threads > 1).then_some(cfg.threads))
}

/// Row-major rows of `dim` features as the column-major f64 values forust
/// reads.
pub fn column_major(rows: &[&[f32]], dim: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(rows.len() * dim);
    for d in 0..dim {
        out.extend(rows.iter().map(|r| f64::from(r[d])));
    }
    out
}

/// Fits on the train rows with a label; predictions for valid and test.
pub fn fit_predict(table: &Table, cfg: &BoostedConfig) -> Result<Vec<(usize, Vec<f32>)>> {
    let train: Vec<usize> = table
        .rows_of("train")
        .into_iter()
        .filter(|&i| first_target(table, i).is_some())
        .collect();
    if train.is_empty() {
        bail!("no train rows with a label to fit boosted trees on");
    }
    let dim = table.vectors[train[0]].len();
    let vectors = |rows: &[usize]| -> Vec<&[f32]> {
        rows.iter().map(|&i| table.vectors[i].as_slice()).collect()
    };
    let y: Vec<f64> = train
        .iter()
        .map(|&i| f64::from(first_target(table, i).unwrap_or(0.0)))
        .collect();
    let x = column_major(&vectors(&train), dim);
    let mut model = booster(cfg);
    model
        .fit_unweighted(&Matrix::new(&x, train.len(), dim), &y, None)
        .map_err(|e| anyhow!("boosted trees: {e}"))?;
    let scored = predicted_rows(table);
    let test = column_major(&vectors(&scored), dim);
    let p = model.predict(&Matrix::new(&test, scored.len(), dim), cfg.threads != 1);
    Ok(scored
        .into_iter()
        .zip(p)
        .map(|(i, v)| (i, vec![v as f32]))
        .collect())
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};

    use super::*;

    /// The label is a function of two of 32 features: held-out predictions
    /// must follow it closely, and beat predicting the train mean.
    #[test]
    fn boosted_trees_learn_a_planted_function_of_the_features() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let mut table = Table::default();
        for i in 0..600 {
            let v: Vec<f32> = (0..32).map(|_| rng.random_range(-1.0..1.0)).collect();
            let y = 2.0 * v[0] - v[3] + if v[7] > 0.5 { 1.0 } else { 0.0 };
            table.ids.push(format!("e{i}"));
            table
                .splits
                .push(if i < 500 { "train" } else { "test" }.to_string());
            table.contexts.push(None);
            table.vectors.push(v);
            table.targets.push(vec![Some(y)]);
        }
        let out = fit_predict(&table, &BoostedConfig::default()).unwrap();
        assert_eq!(out.len(), 100);
        let mse = |f: &dyn Fn(usize, &[f32]) -> f32| {
            out.iter()
                .map(|(i, o)| (f(*i, o) - first_target(&table, *i).unwrap()).powi(2))
                .sum::<f32>()
                / out.len() as f32
        };
        let train_mean = (0..500)
            .map(|i| first_target(&table, i).unwrap())
            .sum::<f32>()
            / 500.0;
        let model = mse(&|_, o| o[0]);
        let baseline = mse(&|_, _| train_mean);
        assert!(
            model < 0.2 * baseline,
            "MSE {model} against the mean's {baseline}"
        );
    }
}
