//! AdamW with a linear warm-up and decay, and gradient clipping by global
//! norm: the optimizer of every run.

use candle_core::backprop::GradStore;
use candle_core::{Result, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};

use crate::ops::{adamw_update, fused_adamw_takes, AdamWStep, Moments};

/// Learning rate at `step` (0-based): rises linearly to `peak` over
/// `warmup` steps, then falls linearly to 0 at `total`.
pub fn learning_rate(step: usize, peak: f64, warmup: usize, total: usize) -> f64 {
    if step < warmup {
        return peak * (step + 1) as f64 / warmup as f64;
    }
    let left = total.saturating_sub(step) as f64;
    let span = total.saturating_sub(warmup).max(1) as f64;
    peak * (left / span).clamp(0.0, 1.0)
}

/// Scales every gradient down so that their global L2 norm is at most
/// `max_norm`; returns the norm before clipping.
pub fn clip_grad_norm(vars: &[Var], grads: &mut GradStore, max_norm: f64) -> Result<f64> {
    let (norm, scale) = clip_scale(vars, grads, max_norm)?;
    scale_grads(vars, grads, scale)?;
    Ok(norm)
}

/// The global L2 norm of `vars`' gradients, and the factor that brings it
/// down to `max_norm` (1 where it is within).
fn clip_scale(vars: &[Var], grads: &GradStore, max_norm: f64) -> Result<(f64, f64)> {
    let norm = vars
        .iter()
        .filter_map(|v| grads.get(v))
        .map(crate::ops::sum_of_squares)
        .sum::<Result<f64>>()?
        .sqrt();
    let scale = if norm.is_finite() && norm > max_norm {
        max_norm / (norm + 1e-6)
    } else {
        1.0
    };
    Ok((norm, scale))
}

/// Multiplies the gradients of `vars` by `scale`.
fn scale_grads(vars: &[Var], grads: &mut GradStore, scale: f64) -> Result<()> {
    if scale != 1.0 {
        for var in vars {
            if let Some(g) = grads.remove(var) {
                grads.insert(var, (g * scale)?);
            }
        }
    }
    Ok(())
}

/// AdamW stepped with clipping and the schedule.
pub struct Optim {
    /// Parameters the fused kernel updates (f32 on the CPU), with their
    /// moments.
    fused: Vec<(Var, Moments)>,
    /// The others, through candle's AdamW.
    adamw: AdamW,
    params: ParamsAdamW,
    vars: Vec<Var>,
    peak: f64,
    warmup: usize,
    total: usize,
    clip: f64,
    step: usize,
}

impl Optim {
    pub fn new(
        vars: Vec<Var>,
        peak: f64,
        weight_decay: f64,
        warmup: usize,
        total: usize,
        clip: f64,
    ) -> Result<Optim> {
        let params = ParamsAdamW {
            lr: learning_rate(0, peak, warmup, total),
            weight_decay,
            ..Default::default()
        };
        let (fused, others): (Vec<Var>, Vec<Var>) =
            vars.iter().cloned().partition(fused_adamw_takes);
        Ok(Optim {
            fused: fused
                .into_iter()
                .map(|v| {
                    let moments = Moments::zeros(v.elem_count());
                    (v, moments)
                })
                .collect(),
            adamw: AdamW::new(others, params.clone())?,
            params,
            vars,
            peak,
            warmup,
            total,
            clip,
            step: 0,
        })
    }

    /// The optimizer of a run: `cfg`'s settings over `batches` per epoch.
    pub fn for_run(
        vars: Vec<Var>,
        cfg: &crate::config::TrainConfig,
        batches: usize,
    ) -> Result<Optim> {
        Optim::new(
            vars,
            cfg.lr,
            cfg.weight_decay,
            cfg.warmup_steps,
            batches * cfg.epochs_at(batches),
            cfg.clip,
        )
    }

    /// Back-propagates `loss`, clips, and takes one step.
    pub fn backward_step(&mut self, loss: &Tensor) -> Result<()> {
        let mut grads = loss.backward()?;
        let lr = learning_rate(self.step, self.peak, self.warmup, self.total);
        let grad_scale = if self.clip > 0.0 {
            clip_scale(&self.vars, &grads, self.clip)?.1
        } else {
            1.0
        };
        self.step += 1;
        let step = AdamWStep {
            lr,
            beta1: self.params.beta1,
            beta2: self.params.beta2,
            eps: self.params.eps,
            weight_decay: self.params.weight_decay,
            step: self.step,
            grad_scale,
        };
        for (var, moments) in &mut self.fused {
            if let Some(g) = grads.get(var) {
                adamw_update(var, g, moments, step)?;
            }
            grads.remove(var);
        }
        // The fused updates took theirs; the rest go through candle's.
        scale_grads(&self.vars, &mut grads, grad_scale)?;
        self.adamw.set_learning_rate(lr);
        self.adamw.step(&grads)
    }

    pub fn learning_rate(&self) -> f64 {
        self.adamw.learning_rate()
    }
}

#[cfg(test)]
mod tests {
    use candle_core::Device;

    use super::*;

    #[test]
    fn warm_up_then_linear_decay() {
        let lr = |s| learning_rate(s, 1.0, 4, 14);
        assert_eq!([lr(0), lr(1), lr(3)], [0.25, 0.5, 1.0]);
        assert_eq!(lr(4), 1.0);
        assert!((lr(9) - 0.5).abs() < 1e-12);
        assert_eq!(lr(14), 0.0);
        assert_eq!(learning_rate(0, 2.0, 0, 10), 2.0, "no warm-up");
    }

    #[test]
    fn clipping_scales_the_global_norm_to_the_limit() {
        let a = Var::new(&[3f32, 0.], &Device::Cpu).unwrap();
        let b = Var::new(&[0f32, 4.], &Device::Cpu).unwrap();
        // d/dx of sum(x · x) / 2 is x: gradients (3, 0) and (0, 4), norm 5.
        let loss = ((a.as_tensor().sqr().unwrap().sum_all().unwrap()
            + b.as_tensor().sqr().unwrap().sum_all().unwrap())
        .unwrap()
            * 0.5)
            .unwrap();
        let mut grads = loss.backward().unwrap();
        let vars = [a.clone(), b.clone()];
        let norm = clip_grad_norm(&vars, &mut grads, 1.0).unwrap();
        assert!((norm - 5.0).abs() < 1e-6);
        let ga: Vec<f32> = grads.get(&a).unwrap().to_vec1().unwrap();
        let gb: Vec<f32> = grads.get(&b).unwrap().to_vec1().unwrap();
        assert!((ga[0] - 0.6).abs() < 1e-5 && (gb[1] - 0.8).abs() < 1e-5);
        let again = clip_grad_norm(&vars, &mut grads, 1.0).unwrap();
        assert!((again - 1.0).abs() < 1e-4, "{again}");
    }
}
