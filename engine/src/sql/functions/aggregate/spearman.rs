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

use std::sync::OnceLock;

use datafusion::logical_expr::{AggregateUDF, Documentation};

use super::pair::PairMetricFunction;
use super::pearson::pearson;
use super::ranks::average_ranks;

pub fn spearman(x: &[f64], y: &[f64]) -> Option<f64> {
    pearson(&average_ranks(x), &average_ranks(y))
}

/// `spearman` as a SQL aggregate.
pub fn udaf() -> AggregateUDF {
    PairMetricFunction::udaf("spearman", spearman, documentation())
}

/// What `dnabench sql --functions` and `information_schema` say of it.
pub fn documentation() -> &'static Documentation {
    static DOC: OnceLock<Documentation> = OnceLock::new();
    DOC.get_or_init(|| {
        Documentation::builder(
                super::AGGREGATE,
                r#"Spearman's rank correlation, the Pearson correlation of average ranks (ties share the mean of their ranks), as scipy.stats.spearmanr. NULL or NaN rows are left out; fewer than two rows, or a constant x or y, gives NULL."#,
                r#"spearman(x, y)"#,
            )
            .with_argument(r#"x"#, r#"A number."#)
            .with_argument(r#"y"#, r#"A number."#)
            .with_sql_example(r#"SELECT spearman(predicted, measured) AS rho FROM (VALUES (1.0, 10.0), (2.0, 30.0), (3.0, 20.0), (4.0, 40.0)) AS t(predicted, measured)"#)
            .build()
    })
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
