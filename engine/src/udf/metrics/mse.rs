//! `mse(prediction, truth)`: the mean squared error.
//!
//! ```sql
//! SELECT mse(p.output[1], e.label) FROM predictions p
//! JOIN examples e USING (dataset, example_id) WHERE p.run_id = 'mpra-cnn-1';
//! ```
//!
//! NULL or NaN in either argument: the row is left out. No rows: NULL.

pub fn mse(x: &[f64], y: &[f64]) -> Option<f64> {
    if x.is_empty() {
        return None;
    }
    let sum: f64 = x.iter().zip(y).map(|(a, b)| (a - b) * (a - b)).sum();
    Some(sum / x.len() as f64)
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
