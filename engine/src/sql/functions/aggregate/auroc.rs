//! `auroc(score, label)`: the area under the ROC curve, as scikit-learn's
//! `roc_auc_score`: the chance that a random positive scores above a random
//! negative, ties counting one half (the Mann–Whitney U over P·N).
//!
//! ```sql
//! SELECT e.context AS tissue, auroc(p.output[1], e.label) AS auroc
//! FROM predictions p JOIN examples e USING (dataset, example_id)
//! WHERE p.run_id = 'causal_snp-cnn-1' AND p.split = 'test'
//! GROUP BY e.context;
//! ```
//!
//! NULL or NaN in either argument: the row is left out. Only one class in
//! the group: NULL.

use std::sync::OnceLock;

use datafusion::logical_expr::{AggregateUDF, Documentation};

use super::pair::PairMetricFunction;
use super::ranks::average_ranks;

pub fn auroc(scores: &[f64], labels: &[f64]) -> Option<f64> {
    let positive = super::positives(labels);
    let p = positive.iter().filter(|&&b| b).count() as f64;
    let n = positive.len() as f64 - p;
    if p == 0.0 || n == 0.0 {
        return None;
    }
    let ranks = average_ranks(scores);
    let rank_sum: f64 = ranks
        .iter()
        .zip(&positive)
        .filter(|(_, &b)| b)
        .map(|(r, _)| r)
        .sum();
    Some((rank_sum - p * (p + 1.0) / 2.0) / (p * n))
}

/// `auroc` as a SQL aggregate.
pub fn udaf() -> AggregateUDF {
    PairMetricFunction::udaf("auroc", auroc, documentation())
}

/// What `dnabench sql --functions` and `information_schema` say of it.
pub fn documentation() -> &'static Documentation {
    static DOC: OnceLock<Documentation> = OnceLock::new();
    DOC.get_or_init(|| {
        Documentation::builder(
                super::AGGREGATE,
                r#"The area under the ROC curve, as scikit-learn's roc_auc_score: the chance that a random positive scores above a random negative, ties counting one half. A row with a NULL or NaN argument is left out; a label is positive when true or above 0.5; a group with one class only gives NULL."#,
                r#"auroc(score, label)"#,
            )
            .with_argument(r#"score"#, r#"The prediction."#)
            .with_argument(r#"label"#, r#"The truth: boolean, or a number (positive above 0.5)."#)
            .with_sql_example(r#"SELECT tissue, auroc(score, label) AS auroc FROM (VALUES ('blood', 0.9, 1), ('blood', 0.2, 0), ('blood', 0.6, 0), ('liver', 0.4, 1), ('liver', 0.7, 0)) AS t(tissue, score, label) GROUP BY tissue ORDER BY tissue"#)
            .build()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worked_cases() {
        assert_eq!(auroc(&[0.1, 0.4, 0.35, 0.8], &[0., 0., 1., 1.]), Some(0.75));
        // Perfect, reversed, and all scores equal.
        assert_eq!(auroc(&[1., 2., 3.], &[0., 1., 1.]), Some(1.0));
        assert_eq!(auroc(&[3., 2., 1.], &[0., 1., 1.]), Some(0.0));
        assert_eq!(auroc(&[5., 5., 5., 5.], &[0., 1., 0., 1.]), Some(0.5));
        // A tie between a positive and a negative counts one half.
        assert_eq!(auroc(&[1., 2., 2.], &[0., 0., 1.]), Some(0.75));
        assert_eq!(auroc(&[1., 2.], &[1., 1.]), None, "one class only");
        assert_eq!(auroc(&[], &[]), None);
    }
}
