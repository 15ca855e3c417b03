//! The tests' checks: an op's gradients against central finite differences
//! in f64, and two tensors equal within a tolerance.

use candle_core::{Tensor, Var};

/// Largest absolute difference of two tensors, as f64.
pub(crate) fn max_difference(a: &Tensor, b: &Tensor) -> f64 {
    assert_eq!(a.dims(), b.dims(), "shapes differ");
    (a.to_dtype(candle_core::DType::F64).unwrap() - b.to_dtype(candle_core::DType::F64).unwrap())
        .unwrap()
        .abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar::<f64>()
        .unwrap()
}

pub(crate) fn assert_close(a: &Tensor, b: &Tensor, tolerance: f64) {
    let diff = max_difference(a, b);
    assert!(diff <= tolerance, "max difference {diff} > {tolerance}");
}

/// Checks the gradient of `sum(f(inputs) · r)`, for a fixed random `r`,
/// with respect to every f64 input against central differences of step
/// 1e-6.
pub(crate) fn check_gradients(
    inputs: &[Tensor],
    f: impl Fn(&[Tensor]) -> candle_core::Result<Tensor>,
) {
    let vars: Vec<Var> = inputs
        .iter()
        .map(|t| Var::from_tensor(t).unwrap())
        .collect();
    let tensors: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().clone()).collect();
    let out = f(&tensors).unwrap();
    let r = Tensor::randn(0f64, 1., out.shape(), out.device()).unwrap();
    let objective = |xs: &[Tensor]| -> f64 {
        (f(xs).unwrap() * &r)
            .unwrap()
            .sum_all()
            .unwrap()
            .to_scalar::<f64>()
            .unwrap()
    };
    let grads = (out * &r).unwrap().sum_all().unwrap().backward().unwrap();
    let h = 1e-6;
    for (i, var) in vars.iter().enumerate() {
        let analytic: Vec<f64> = grads
            .get(var)
            .unwrap_or_else(|| panic!("no gradient for input {i}"))
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let values: Vec<f64> = inputs[i].flatten_all().unwrap().to_vec1().unwrap();
        for j in 0..values.len() {
            let at = |delta: f64| {
                let mut v = values.clone();
                v[j] += delta;
                let mut xs: Vec<Tensor> = inputs.to_vec();
                xs[i] = Tensor::from_vec(v, inputs[i].shape(), inputs[i].device()).unwrap();
                objective(&xs)
            };
            let numeric = (at(h) - at(-h)) / (2.0 * h);
            let scale = 1f64.max(numeric.abs());
            assert!(
                (numeric - analytic[j]).abs() <= 1e-5 * scale,
                "input {i}, element {j}: finite difference {numeric}, gradient {}",
                analytic[j]
            );
        }
    }
}
