//! A random forest per context (the tissue of a causal SNP) on the
//! concatenated ref and alt embeddings, with smartcore.
//!
//! smartcore's forest classifier gives hard votes only, so the forest here
//! regresses the 0/1 label: a leaf's value is its fraction of positives and
//! the forest's mean is the vote fraction that AUROC and AUPRC rank by
//! (variance splits on 0/1 labels are Gini splits). The output written is
//! that probability's logit, as a classifier's head would give.

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use smartcore::ensemble::random_forest_regressor::{
    RandomForestRegressor, RandomForestRegressorParameters,
};
use smartcore::linalg::basic::arrays::Array;
use smartcore::linalg::basic::matrix::DenseMatrix;

use super::{first_target, predicted_rows, Table};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ForestConfig {
    pub trees: usize,
    pub max_depth: Option<u16>,
    pub min_samples_leaf: usize,
    /// Features tried per split (default √features).
    pub features_per_split: Option<usize>,
    pub seed: u64,
}

impl Default for ForestConfig {
    fn default() -> Self {
        ForestConfig {
            trees: 100,
            max_depth: None,
            min_samples_leaf: 1,
            features_per_split: None,
            seed: 0,
        }
    }
}

/// Rows as a row-major smartcore matrix.
pub(crate) fn matrix(table: &Table, rows: &[usize]) -> Result<DenseMatrix<f32>> {
    let dim = rows.first().map_or(0, |&i| table.vectors[i].len());
    let values: Vec<f32> = rows
        .iter()
        .flat_map(|&i| table.vectors[i].iter().copied())
        .collect();
    DenseMatrix::new(rows.len(), dim, values, false).map_err(|e| anyhow::anyhow!("{e}"))
}

/// Fits a forest of 0/1 labels; the fraction of positives for `test`.
pub fn fit_predict(
    x: &DenseMatrix<f32>,
    y: &[f32],
    test: &DenseMatrix<f32>,
    cfg: &ForestConfig,
) -> Result<Vec<f32>> {
    let mut params = RandomForestRegressorParameters::default()
        .with_n_trees(cfg.trees)
        .with_min_samples_leaf(cfg.min_samples_leaf)
        .with_seed(cfg.seed);
    if let Some(d) = cfg.max_depth {
        params = params.with_max_depth(d);
    }
    let features = x.shape().1;
    params = params.with_m(
        cfg.features_per_split
            .unwrap_or(((features as f64).sqrt() as usize).max(1)),
    );
    let y: Vec<f32> = y.to_vec();
    let forest = RandomForestRegressor::fit(x, &y, params)
        .map_err(|e| anyhow::anyhow!("random forest: {e}"))?;
    forest
        .predict(test)
        .map_err(|e| anyhow::anyhow!("random forest: {e}"))
}

/// One forest per context, fitted on its train rows; logits for its valid
/// and test rows.
pub fn fit_per_context(table: &Table, cfg: &ForestConfig) -> Result<Vec<(usize, Vec<f32>)>> {
    let mut contexts: Vec<Option<String>> = table.contexts.clone();
    contexts.sort();
    contexts.dedup();
    let predicted = predicted_rows(table);
    let mut out = Vec::new();
    for context in contexts {
        let train: Vec<usize> = (0..table.ids.len())
            .filter(|&i| {
                table.splits[i] == "train"
                    && table.contexts[i] == context
                    && first_target(table, i).is_some()
            })
            .collect();
        let scored: Vec<usize> = predicted
            .iter()
            .copied()
            .filter(|&i| table.contexts[i] == context)
            .collect();
        if scored.is_empty() {
            continue;
        }
        let name = context.as_deref().unwrap_or("(none)");
        let y: Vec<f32> = train
            .iter()
            .map(|&i| first_target(table, i).unwrap_or(0.0))
            .collect();
        if !y.iter().any(|&v| v > 0.5) || !y.iter().any(|&v| v < 0.5) {
            bail!("context '{name}': the train split needs positive and negative examples for a forest");
        }
        let p = fit_predict(&matrix(table, &train)?, &y, &matrix(table, &scored)?, cfg)?;
        for (i, p) in scored.into_iter().zip(p) {
            out.push((i, vec![logit(p)]));
        }
    }
    Ok(out)
}

fn logit(p: f32) -> f32 {
    let p = p.clamp(1e-4, 1.0 - 1e-4);
    (p / (1.0 - p)).ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forest_ranks_a_planted_feature() {
        // Feature 0 is the label plus noise; feature 1 is noise alone.
        let mut rng = 7u64;
        let mut noise = || {
            rng = rng
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((rng >> 33) as f32 / (1u64 << 31) as f32) - 0.5
        };
        let mut rows = Vec::new();
        let mut y = Vec::new();
        for i in 0..200 {
            let label = (i % 2) as f32;
            rows.extend([label + noise(), noise()]);
            y.push(label);
        }
        let x = DenseMatrix::new(200, 2, rows, false).unwrap();
        let test = DenseMatrix::new(2, 2, vec![1.1, 0.0, -0.1, 0.0], false).unwrap();
        let p = fit_predict(&x, &y, &test, &ForestConfig::default()).unwrap();
        assert!(p[0] > 0.8 && p[1] < 0.2, "{p:?}");
    }
}
