//! `mse(prediction, truth)`: the mean squared error.
//!
//! ```sql
//! SELECT mse(p.output[1], e.label) FROM predictions p
//! JOIN examples e USING (dataset, example_id) WHERE p.run_id = 'mpra-cnn-1';
//! ```
//!
//! NULL or NaN in either argument: the row is left out. No rows: NULL.

use std::sync::OnceLock;

use datafusion::logical_expr::{AggregateUDF, Documentation};

use super::pair::PairMetricFunction;

pub fn mse(x: &[f64], y: &[f64]) -> Option<f64> {
    if x.is_empty() {
        return None;
    }
    let sum: f64 = x.iter().zip(y).map(|(a, b)| (a - b) * (a - b)).sum();
    Some(sum / x.len() as f64)
}

/// `mse` as a SQL aggregate.
pub fn udaf() -> AggregateUDF {
    PairMetricFunction::udaf("mse", mse, documentation())
}

/// What `dnabench sql --functions` and `information_schema` say of it.
pub fn documentation() -> &'static Documentation {
    static DOC: OnceLock<Documentation> = OnceLock::new();
    DOC.get_or_init(|| {
        Documentation::builder(
                super::AGGREGATE,
                r#"The mean squared error of predictions against the truth. NULL or NaN rows are left out; no rows gives NULL."#,
                r#"mse(prediction, truth)"#,
            )
            .with_argument(r#"prediction"#, r#"A number."#)
            .with_argument(r#"truth"#, r#"A number."#)
            .with_sql_example(r#"SELECT mse(prediction, truth) AS mse FROM (VALUES (1.0, 1.5), (2.0, 1.0)) AS t(prediction, truth)"#)
            .build()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worked_cases() {
        assert_eq!(
            mse(&[1., 2., 5.], &[1.5, 2., 1.]),
            Some((0.25 + 16.0) / 3.0)
        );
        assert_eq!(mse(&[], &[]), None);
    }
}
