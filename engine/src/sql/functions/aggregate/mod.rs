//! Aggregate functions, one file each: [`dense_targets`], and the metric
//! aggregates over (prediction, truth) pairs: [`auroc`], [`auprc`] (average
//! precision), [`auprc_trapz`] (the paper's code's trapezoidal area),
//! [`spearman`], [`pearson`] and [`mse`].
//!
//! The metrics share one implementation ([`pair::PairMetricFunction`]) and
//! one convention:
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
//!
//! Each metric is also a plain Rust function (`auroc::auroc`, …), which the
//! training crate calls where it scores outside SQL.

pub mod auprc;
pub mod auprc_trapz;
pub mod auroc;
pub mod dense_targets;
pub mod mse;
pub mod pair;
pub mod pearson;
pub mod ranks;
pub mod spearman;

use arrow::datatypes::DataType;
use datafusion::logical_expr::{AggregateUDF, DocSection, Signature, TypeSignature, Volatility};

pub(crate) const AGGREGATE: DocSection = DocSection {
    include: true,
    label: "dnabench aggregate functions",
    description: None,
};

/// Every aggregate function.
pub fn all() -> Vec<AggregateUDF> {
    vec![
        dense_targets::DenseTargetsFunction::udaf(),
        auroc::udaf(),
        auprc::udaf(),
        auprc_trapz::udaf(),
        spearman::udaf(),
        pearson::udaf(),
        mse::udaf(),
    ]
}

/// `n` arguments of any type, as the accumulators cast them themselves,
/// with `example` as the types `information_schema` (and so `SHOW
/// FUNCTIONS`) lists: it lists no row for a signature without example types.
/// `Any` comes first and always matches, so the example never coerces a call.
pub(crate) fn any_signature(example: Vec<DataType>) -> Signature {
    Signature::one_of(
        vec![
            TypeSignature::Any(example.len()),
            TypeSignature::Exact(example),
        ],
        Volatility::Immutable,
    )
}

/// Labels as positive or not.
pub(crate) fn positives(labels: &[f64]) -> Vec<bool> {
    labels.iter().map(|&l| l > 0.5).collect()
}
