//! Metric aggregates over (prediction, truth) pairs, one file each:
//! [`auroc`], [`auprc`] (average precision), [`auprc_trapz`] (the paper's
//! code's trapezoidal area), [`spearman`], [`pearson`] and [`mse`].
//!
//! They share one accumulator ([`pair`]) and one convention:
//! - a row where either argument is NULL or NaN is left out;
//! - a label counts as positive when it is true or greater than 0.5;
//! - a metric that is undefined for the rows of a group (no rows, one
//!   class only, a constant input) is NULL, never an error.
//!
//! Every one works with `GROUP BY`. For multi-label outputs, unnest the
//! output list with its index and group by it:
//!
//! ```sql
//! SELECT i AS label_index, auroc(score, label)
//! FROM (SELECT unnest(range(cardinality(output))) AS i, unnest(output) AS score, ... )
//! GROUP BY i;
//! ```

pub mod auprc;
pub mod auprc_trapz;
pub mod auroc;
pub mod mse;
pub mod pair;
pub mod pearson;
pub mod ranks;
pub mod spearman;

use datafusion::logical_expr::AggregateUDF;

/// Every metric aggregate, for registration.
pub fn all() -> Vec<AggregateUDF> {
    vec![
        pair::PairAggregate::udaf("auroc", auroc::auroc),
        pair::PairAggregate::udaf("auprc", auprc::auprc),
        pair::PairAggregate::udaf("auprc_trapz", auprc_trapz::auprc_trapz),
        pair::PairAggregate::udaf("spearman", spearman::spearman),
        pair::PairAggregate::udaf("pearson", pearson::pearson),
        pair::PairAggregate::udaf("mse", mse::mse),
    ]
}

/// Labels as positive or not.
pub(crate) fn positives(labels: &[f64]) -> Vec<bool> {
    labels.iter().map(|&l| l > 0.5).collect()
}
