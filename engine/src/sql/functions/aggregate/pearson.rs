//! `pearson(x, y)`: the Pearson correlation coefficient.
//!
//! ```sql
//! SELECT pearson(p.output[1], e.label) FROM predictions p
//! JOIN examples e USING (dataset, example_id) WHERE p.run_id = 'mpra-cnn-1';
//! ```
//!
//! NULL or NaN in either argument: the row is left out. Fewer than two rows,
//! or a constant x or y: NULL.

use std::sync::OnceLock;

use datafusion::logical_expr::{AggregateUDF, Documentation};

use super::pair::PairMetricFunction;

pub fn pearson(x: &[f64], y: &[f64]) -> Option<f64> {
    let n = x.len() as f64;
    if x.len() < 2 {
        return None;
    }
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        let (dx, dy) = (a - mx, b - my);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    if sxx == 0.0 || syy == 0.0 {
        return None;
    }
    Some((sxy / (sxx * syy).sqrt()).clamp(-1.0, 1.0))
}

/// `pearson` as a SQL aggregate.
pub fn udaf() -> AggregateUDF {
    PairMetricFunction::udaf("pearson", pearson, documentation())
}

/// What `dnabench sql --functions` and `information_schema` say of it.
pub fn documentation() -> &'static Documentation {
    static DOC: OnceLock<Documentation> = OnceLock::new();
    DOC.get_or_init(|| {
        Documentation::builder(
                super::AGGREGATE,
                r#"The Pearson correlation coefficient. NULL or NaN rows are left out; fewer than two rows, or a constant x or y, gives NULL."#,
                r#"pearson(x, y)"#,
            )
            .with_argument(r#"x"#, r#"A number."#)
            .with_argument(r#"y"#, r#"A number."#)
            .with_sql_example(r#"SELECT pearson(x, y) AS r FROM (VALUES (1.0, 2.0), (2.0, 4.1), (3.0, 5.9)) AS t(x, y)"#)
            .build()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worked_cases() {
        assert_eq!(pearson(&[1., 2., 3.], &[2., 4., 6.]), Some(1.0));
        assert_eq!(pearson(&[1., 2., 3.], &[3., 2., 1.]), Some(-1.0));
        // x = (−1, 0, 1), y = (1, −1, 1) about their means (1/3): r = 0.
        assert_eq!(pearson(&[1., 2., 3.], &[1., -1., 1.]), Some(0.0));
        assert_eq!(pearson(&[1., 1., 1.], &[1., 2., 3.]), None);
        assert_eq!(pearson(&[1.], &[1.]), None);
    }
}
