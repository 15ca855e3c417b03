//! `auprc(score, label)`: average precision, as scikit-learn's
//! `average_precision_score`: Σₙ (Rₙ − Rₙ₋₁) Pₙ over the distinct score
//! thresholds from the highest down, tied scores forming one threshold.
//!
//! ```sql
//! SELECT auprc(p.output[1], e.label) AS average_precision,
//!        auprc_trapz(p.output[1], e.label) AS aupr_paper
//! FROM predictions p JOIN examples e USING (dataset, example_id)
//! WHERE p.run_id = 'promoter-cnn-1' AND p.split = 'test';
//! ```
//!
//! NULL or NaN in either argument: the row is left out. No positive, or no
//! negative, in the group: NULL.

use std::sync::OnceLock;

use datafusion::logical_expr::{AggregateUDF, Documentation};

use super::pair::PairMetricFunction;

/// For each distinct threshold from the highest score down, the true and
/// false positives at or above it (cumulative).
pub(crate) fn threshold_counts(scores: &[f64], positive: &[bool]) -> Vec<(f64, f64)> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_unstable_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (mut tp, mut fp) = (0.0, 0.0);
    let mut out = Vec::new();
    for (k, &i) in order.iter().enumerate() {
        if positive[i] {
            tp += 1.0;
        } else {
            fp += 1.0;
        }
        let last_of_tie = order.get(k + 1).is_none_or(|&j| scores[j] != scores[i]);
        if last_of_tie {
            out.push((tp, fp));
        }
    }
    out
}

pub fn auprc(scores: &[f64], labels: &[f64]) -> Option<f64> {
    let positive = super::positives(labels);
    let p = positive.iter().filter(|&&b| b).count() as f64;
    if p == 0.0 || p == positive.len() as f64 {
        return None;
    }
    let mut previous_recall = 0.0;
    let mut ap = 0.0;
    for (tp, fp) in threshold_counts(scores, &positive) {
        let recall = tp / p;
        ap += (recall - previous_recall) * tp / (tp + fp);
        previous_recall = recall;
    }
    Some(ap)
}

/// `auprc` as a SQL aggregate.
pub fn udaf() -> AggregateUDF {
    PairMetricFunction::udaf("auprc", auprc, documentation())
}

/// What `dnabench sql --functions` and `information_schema` say of it.
pub fn documentation() -> &'static Documentation {
    static DOC: OnceLock<Documentation> = OnceLock::new();
    DOC.get_or_init(|| {
        Documentation::builder(
                super::AGGREGATE,
                r#"Average precision, as scikit-learn's average_precision_score: the sum over distinct score thresholds, from the highest down, of the recall gained times the precision there; tied scores form one threshold. NULL or NaN rows are left out; a group with no positive or no negative gives NULL."#,
                r#"auprc(score, label)"#,
            )
            .with_argument(r#"score"#, r#"The prediction."#)
            .with_argument(r#"label"#, r#"The truth: boolean, or a number (positive above 0.5)."#)
            .with_sql_example(r#"SELECT auprc(score, label) AS average_precision FROM (VALUES (0.9, 1), (0.8, 0), (0.7, 1), (0.1, 0)) AS t(score, label)"#)
            .build()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worked_cases() {
        // scikit-learn's documented example: 0.8333…
        let ap = auprc(&[0.1, 0.4, 0.35, 0.8], &[0., 0., 1., 1.]).unwrap();
        assert!((ap - 5.0 / 6.0).abs() < 1e-12, "{ap}");
        // All scores tied: one threshold, precision = prevalence.
        assert_eq!(auprc(&[1., 1., 1., 1.], &[1., 0., 0., 0.]), Some(0.25));
        assert_eq!(auprc(&[1., 2.], &[0., 0.]), None);
        assert_eq!(auprc(&[1., 2.], &[1., 1.]), None);
    }
}
