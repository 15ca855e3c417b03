//! `auprc_trapz(score, label)`: the area under the precision–recall curve by
//! the trapezoidal rule, as the benchmark paper's code computes AUPR
//! (`auc(recall, precision)` over scikit-learn's `precision_recall_curve`):
//! the curve starts at (recall 0, precision 1), has one point per distinct
//! threshold, and stops at the first threshold with full recall. It is not
//! average precision ([`super::auprc`]); report both, labelled.
//!
//! ```sql
//! SELECT auprc_trapz(arrow_cast(arrow_cast(p.output[1], 'Float16'), 'Float64'), e.label)
//!        AS aupr_paper_fp16
//! FROM predictions p JOIN examples e USING (dataset, example_id)
//! WHERE p.run_id = 'promoter-cnn-1' AND p.split = 'test';
//! ```
//!
//! NULL or NaN in either argument: the row is left out. No positive, or no
//! negative, in the group: NULL.

use std::sync::OnceLock;

use datafusion::logical_expr::{AggregateUDF, Documentation};

use super::auprc::threshold_counts;
use super::pair::PairMetricFunction;

pub fn auprc_trapz(scores: &[f64], labels: &[f64]) -> Option<f64> {
    let positive = super::positives(labels);
    let p = positive.iter().filter(|&&b| b).count() as f64;
    if p == 0.0 || p == positive.len() as f64 {
        return None;
    }
    let (mut recall0, mut precision0) = (0.0, 1.0);
    let mut area = 0.0;
    for (tp, fp) in threshold_counts(scores, &positive) {
        let (recall, precision) = (tp / p, tp / (tp + fp));
        area += (recall - recall0) * (precision + precision0) / 2.0;
        (recall0, precision0) = (recall, precision);
        if tp == p {
            break;
        }
    }
    Some(area)
}

/// `auprc_trapz` as a SQL aggregate.
pub fn udaf() -> AggregateUDF {
    PairMetricFunction::udaf("auprc_trapz", auprc_trapz, documentation())
}

/// What `dnabench sql --functions` and `information_schema` say of it.
pub fn documentation() -> &'static Documentation {
    static DOC: OnceLock<Documentation> = OnceLock::new();
    DOC.get_or_init(|| {
        Documentation::builder(
                super::AGGREGATE,
                r#"The area under the precision-recall curve by the trapezoidal rule, as the benchmark paper's code computes AUPR (auc(recall, precision) over scikit-learn's precision_recall_curve). It is not average precision (auprc): report both, labelled. NULL or NaN rows are left out; a group with no positive or no negative gives NULL."#,
                r#"auprc_trapz(score, label)"#,
            )
            .with_argument(r#"score"#, r#"The prediction."#)
            .with_argument(r#"label"#, r#"The truth: boolean, or a number (positive above 0.5)."#)
            .with_sql_example(r#"SELECT auprc_trapz(score, label) AS aupr_paper, auprc(score, label) AS average_precision FROM (VALUES (0.9, 1), (0.8, 0), (0.7, 1), (0.1, 0)) AS t(score, label)"#)
            .build()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worked_cases() {
        // Points (0, 1), (0.5, 1), (0.5, 0.5), (1, 2/3):
        // 0.5 · 1 + 0 + 0.5 · (0.5 + 2/3) / 2 = 0.7916…
        let a = auprc_trapz(&[0.1, 0.4, 0.35, 0.8], &[0., 0., 1., 1.]).unwrap();
        assert!((a - (0.5 + 0.25 * (0.5 + 2.0 / 3.0))).abs() < 1e-12, "{a}");
        // One tied threshold: from (0, 1) straight to (1, 0.25).
        assert_eq!(
            auprc_trapz(&[1., 1., 1., 1.], &[1., 0., 0., 0.]),
            Some(0.625)
        );
        assert_eq!(auprc_trapz(&[1.], &[1.]), None);
    }
}
