//! Gradient-boosted regression trees (smartcore's `XGRegressor`, squared
//! error) on the concatenated ref and alt embeddings: the MPRA task's model.
//!
//! Chosen over `forust-ml` and `gbdt` because smartcore already serves the
//! random forest (one crate for both tree models), it is pure Rust with
//! light dependencies, and `forust-ml` would turn on serde_json's
//! `float_roundtrip` for the whole workspace, which rebuilds DataFusion and
//! Lance. `benches/trees.rs` times it against scikit-learn and xgboost.

use anyhow::Result;
use serde::{Deserialize, Serialize};
use smartcore::xgboost::{XGRegressor, XGRegressorParameters};

use super::forest::matrix;
use super::{first_target, predicted_rows, Table};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BoostedConfig {
    pub trees: usize,
    pub learning_rate: f64,
    pub max_depth: u16,
    pub subsample: f64,
    pub lambda: f64,
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
            seed: 0,
        }
    }
}

pub fn params(cfg: &BoostedConfig, base_score: f64) -> XGRegressorParameters {
    XGRegressorParameters::default()
        .with_n_estimators(cfg.trees)
        .with_learning_rate(cfg.learning_rate)
        .with_max_depth(cfg.max_depth)
        .with_subsample(cfg.subsample)
        .with_lambda(cfg.lambda)
        .with_seed(cfg.seed)
        .with_base_score(base_score)
}

/// Fits on the train rows with a label; predictions for valid and test.
pub fn fit_predict(table: &Table, cfg: &BoostedConfig) -> Result<Vec<(usize, Vec<f32>)>> {
    let train: Vec<usize> = table
        .rows_of("train")
        .into_iter()
        .filter(|&i| first_target(table, i).is_some())
        .collect();
    if train.is_empty() {
        anyhow::bail!("no train rows with a label to fit boosted trees on");
    }
    let y: Vec<f32> = train
        .iter()
        .map(|&i| first_target(table, i).unwrap_or(0.0))
        .collect();
    let mean = y.iter().map(|&v| f64::from(v)).sum::<f64>() / y.len() as f64;
    let model = XGRegressor::fit(&matrix(table, &train)?, &y, params(cfg, mean))
        .map_err(|e| anyhow::anyhow!("boosted trees: {e}"))?;
    let scored = predicted_rows(table);
    let p = model
        .predict(&matrix(table, &scored)?)
        .map_err(|e| anyhow::anyhow!("boosted trees: {e}"))?;
    Ok(scored
        .into_iter()
        .zip(p)
        .map(|(i, v)| (i, vec![v]))
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
