//! Losses of the task heads, written in differentiable, numerically stable
//! forms (candle's `binary_cross_entropy_with_logit` overflows for large
//! logits). Each returns the mean over every element.

use candle_core::{Result, Tensor};

/// Binary cross-entropy on logits: `max(x, 0) − x·y + log(1 + e^(−|x|))`.
pub fn bce_with_logits(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
    bce_elementwise(logits, targets)?.mean_all()
}

/// Focal loss (Lin et al. 2017) for the many rare labels of the chromatin
/// task: BCE weighted by `α_t (1 − p_t)^γ`, so easy negatives count little.
pub fn focal(logits: &Tensor, targets: &Tensor, gamma: f64, alpha: f64) -> Result<Tensor> {
    focal_elementwise(logits, targets, gamma, alpha)?.mean_all()
}

/// Mean squared error.
pub fn mse(predictions: &Tensor, targets: &Tensor) -> Result<Tensor> {
    (predictions - targets)?.sqr()?.mean_all()
}

/// Huber loss: quadratic within `delta` of the target, linear beyond.
pub fn huber(predictions: &Tensor, targets: &Tensor, delta: f64) -> Result<Tensor> {
    huber_elementwise(predictions, targets, delta)?.mean_all()
}

pub fn bce_elementwise(x: &Tensor, y: &Tensor) -> Result<Tensor> {
    let softplus_neg_abs = x.abs()?.neg()?.exp()?.affine(1.0, 1.0)?.log()?;
    x.relu()? - (x * y)? + softplus_neg_abs
}

pub fn focal_elementwise(x: &Tensor, y: &Tensor, gamma: f64, alpha: f64) -> Result<Tensor> {
    let bce = bce_elementwise(x, y)?;
    // p_t = exp(−bce): the probability given to the true class.
    let p_t = bce.neg()?.exp()?;
    let weight = p_t.affine(-1.0, 1.0)?.powf(gamma)?;
    let alpha_t = y.affine(2.0 * alpha - 1.0, 1.0 - alpha)?;
    (bce * weight)?.mul(&alpha_t)
}

pub fn squared_error(predictions: &Tensor, targets: &Tensor) -> Result<Tensor> {
    (predictions - targets)?.sqr()
}

pub fn huber_elementwise(predictions: &Tensor, targets: &Tensor, delta: f64) -> Result<Tensor> {
    let error = (predictions - targets)?.abs()?;
    let quadratic = error.minimum(delta)?;
    let linear = (&error - &quadratic)?;
    (quadratic.sqr()? * 0.5)? + (linear * delta)?
}

/// The mean of `values` where `mask` is 1: labels that are NULL (a CpG
/// with low coverage in one sample) count in no loss.
pub fn masked_mean(values: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let count = mask.sum_all()?.maximum(1f32)?;
    (values * mask)?.sum_all()?.div(&count)
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Var};

    use super::*;

    fn t(values: &[f32]) -> Tensor {
        Tensor::new(values, &Device::Cpu).unwrap()
    }

    fn scalar(x: Tensor) -> f32 {
        x.to_scalar::<f32>().unwrap()
    }

    #[test]
    fn bce_matches_the_textbook_and_stays_finite_for_huge_logits() {
        let x = t(&[0.0, 2.0, -3.0]);
        let y = t(&[1.0, 0.0, 1.0]);
        let want = [
            (2f32).ln(),
            (1.0 + 2f32.exp()).ln(),
            (1.0 + 3f32.exp()).ln(),
        ];
        let got = scalar(bce_with_logits(&x, &y).unwrap());
        assert!((got - want.iter().sum::<f32>() / 3.0).abs() < 1e-5);
        let huge = scalar(bce_with_logits(&t(&[1000.0, -1000.0]), &t(&[0.0, 1.0])).unwrap());
        assert!((huge - 1000.0).abs() < 1e-3, "{huge}");
    }

    #[test]
    fn focal_with_gamma_zero_is_weighted_bce_and_regression_losses_are_exact() {
        let x = t(&[0.5, -1.5, 2.0]);
        let y = t(&[1.0, 0.0, 0.0]);
        let f = scalar(focal(&x, &y, 0.0, 0.5).unwrap());
        let b = scalar(bce_with_logits(&x, &y).unwrap());
        assert!((f - 0.5 * b).abs() < 1e-6);
        let p = t(&[1.0, 2.0, 5.0]);
        let q = t(&[1.5, 2.0, 1.0]);
        assert!((scalar(mse(&p, &q).unwrap()) - (0.25 + 16.0) / 3.0).abs() < 1e-6);
        // errors 0.5 (quadratic) and 4 (linear beyond delta 1): 0.125 and 3.5.
        assert!((scalar(huber(&p, &q, 1.0).unwrap()) - (0.125 + 3.5) / 3.0).abs() < 1e-6);
    }

    #[test]
    fn gradients_flow_through_every_loss() {
        let x = Var::new(&[0.3f32, -2.0, 4.0], &Device::Cpu).unwrap();
        let y = t(&[1.0, 0.0, 1.0]);
        for loss in [
            bce_with_logits(x.as_tensor(), &y).unwrap(),
            focal(x.as_tensor(), &y, 2.0, 0.25).unwrap(),
            mse(x.as_tensor(), &y).unwrap(),
            huber(x.as_tensor(), &y, 1.0).unwrap(),
            masked_mean(
                &bce_elementwise(x.as_tensor(), &y).unwrap(),
                &t(&[1.0, 0.0, 1.0]),
            )
            .unwrap(),
        ] {
            let grads = loss.backward().unwrap();
            let g: Vec<f32> = grads.get(&x).unwrap().to_vec1().unwrap();
            assert!(
                g.iter().all(|v| v.is_finite()) && g.iter().any(|v| *v != 0.0),
                "{g:?}"
            );
        }
    }
}
