//! `spearman(x, y)`: Spearman's rank correlation, the Pearson correlation
//! of average ranks (ties share the mean of their ranks), as
//! `scipy.stats.spearmanr`.
//!
//! ```sql
//! -- expression: Spearman across genes, per sample
//! SELECT s.i AS sample, spearman(s.predicted, s.measured)
//! FROM (SELECT unnest(range(cardinality(p.output))) AS i, unnest(p.output) AS predicted,
//!              unnest(e.targets) AS measured
//!       FROM predictions p JOIN examples e USING (dataset, example_id)
//!       WHERE p.run_id = 'expression-cnn-1' AND p.split = 'test') s
//! GROUP BY s.i;
//! ```
//!
//! NULL or NaN in either argument: the row is left out. Fewer than two rows,
//! or every x (or y) equal: NULL.

use super::pearson::pearson;
use super::ranks::average_ranks;

pub fn spearman(x: &[f64], y: &[f64]) -> Option<f64> {
    pearson(&average_ranks(x), &average_ranks(y))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worked_cases() {
        // Monotone but not linear: 1.
        assert_eq!(spearman(&[1., 2., 3., 4.], &[1., 8., 27., 64.]), Some(1.0));
        // Ties: ranks (1.5, 1.5, 3) against (1, 2, 3): r = √3/2.
        let r = spearman(&[1., 1., 2.], &[1., 2., 3.]).unwrap();
        assert!((r - 3f64.sqrt() / 2.0).abs() < 1e-12, "{r}");
        assert_eq!(spearman(&[2., 2.], &[1., 3.]), None);
    }
}
