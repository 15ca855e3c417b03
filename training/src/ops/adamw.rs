//! AdamW's update of one f32 parameter in place, in one pass over the
//! parameter, its gradient and its two moments, with the clipping scale
//! folded in. candle's `AdamW` takes about a dozen tensor ops a parameter,
//! each allocating a parameter-sized result: for DanQ's 21 M-weight layer,
//! a quarter of a training step went to fresh pages.

use std::sync::Mutex;

use candle_core::{CpuStorage, InplaceOp2, Layout, Result, Tensor, Var};
use rayon::prelude::*;

use super::kernels::slice;

/// AdamW's settings and step, as candle's `ParamsAdamW` names them.
#[derive(Debug, Clone, Copy)]
pub struct AdamWStep {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    /// 1-based.
    pub step: usize,
    /// Multiplies the gradient first (clipping by global norm).
    pub grad_scale: f64,
}

/// The first and second moments of one parameter.
pub struct Moments {
    first: Vec<f32>,
    second: Vec<f32>,
}

impl Moments {
    pub fn zeros(len: usize) -> Self {
        Moments {
            first: vec![0.0; len],
            second: vec![0.0; len],
        }
    }
}

struct Update<'a> {
    step: AdamWStep,
    moments: Mutex<&'a mut Moments>,
}

impl InplaceOp2 for Update<'_> {
    fn name(&self) -> &'static str {
        "adamw"
    }

    fn cpu_fwd(
        &self,
        dst: &mut CpuStorage,
        dst_l: &Layout,
        g: &CpuStorage,
        gl: &Layout,
    ) -> Result<()> {
        super::profile::timed(self.name(), false, || {
            let grad = slice::<f32>(self.name(), g, gl)?;
            let Some((start, end)) = dst_l.contiguous_offsets() else {
                candle_core::bail!("adamw: the parameter is not contiguous")
            };
            let CpuStorage::F32(theta) = dst else {
                candle_core::bail!("adamw: the fused update takes f32 parameters")
            };
            let theta = &mut theta[start..end];
            let mut moments = self.moments.lock().expect("one update at a time");
            let Moments { first, second } = &mut **moments;
            if theta.len() != grad.len() || first.len() != grad.len() {
                candle_core::bail!("adamw: parameter, gradient and moments differ in size");
            }
            let s = self.step;
            let decay = (1.0 - s.lr * s.weight_decay) as f32;
            let (b1, b2) = (s.beta1 as f32, s.beta2 as f32);
            let scale_m = (1.0 / (1.0 - s.beta1.powi(s.step as i32))) as f32;
            let scale_v = (1.0 / (1.0 - s.beta2.powi(s.step as i32))) as f32;
            let (lr, eps, gs) = (s.lr as f32, s.eps as f32, s.grad_scale as f32);
            const CHUNK: usize = 1 << 16;
            theta
                .par_chunks_mut(CHUNK)
                .zip(first.par_chunks_mut(CHUNK))
                .zip(second.par_chunks_mut(CHUNK))
                .zip(grad.par_chunks(CHUNK))
                .for_each(|(((theta, m), v), g)| {
                    for i in 0..theta.len() {
                        let g = g[i] * gs;
                        m[i] = b1 * m[i] + (1.0 - b1) * g;
                        v[i] = b2 * v[i] + (1.0 - b2) * g * g;
                        let update = (m[i] * scale_m) / ((v[i] * scale_v).sqrt() + eps);
                        theta[i] = theta[i] * decay - lr * update;
                    }
                });
            Ok(())
        })
    }
}

/// Updates `var` in place from its gradient and moments. Only f32
/// parameters on the CPU; others go through candle's `AdamW`.
pub fn adamw_update(
    var: &Var,
    grad: &Tensor,
    moments: &mut Moments,
    step: AdamWStep,
) -> Result<()> {
    let grad = grad.contiguous()?;
    let op = Update {
        step,
        moments: Mutex::new(moments),
    };
    var.as_tensor().inplace_op2(&grad, &op)
}

/// Σ x² of a tensor, in f64: one pass for f32 on the CPU (the gradient
/// norm that clipping needs), candle ops otherwise.
pub fn sum_of_squares(x: &Tensor) -> Result<f64> {
    if x.device().is_cpu() && x.dtype() == candle_core::DType::F32 {
        return super::kernels::with_data::<f32, _>(x, |xs| {
            Ok(xs
                .par_chunks(1 << 16)
                .map(|c| c.iter().map(|v| (*v as f64) * (*v as f64)).sum::<f64>())
                .sum())
        });
    }
    x.to_dtype(candle_core::DType::F64)?
        .sqr()?
        .sum_all()?
        .to_scalar::<f64>()
}

/// Whether [`adamw_update`] takes this parameter.
pub fn fused_adamw_takes(var: &Var) -> bool {
    var.device().is_cpu() && var.dtype() == candle_core::DType::F32 && var.is_contiguous()
}

#[cfg(test)]
mod tests {
    use candle_core::{DType, Device};
    use candle_nn::{AdamW, Optimizer, ParamsAdamW};

    use super::*;
    use crate::ops::finite_difference::max_difference;

    #[test]
    fn three_steps_equal_candles_adamw() {
        let dev = Device::Cpu;
        let start = Tensor::randn(0f32, 1., (300, 7), &dev).unwrap();
        let ours = Var::from_tensor(&start).unwrap();
        let theirs = Var::from_tensor(&start).unwrap();
        let params = ParamsAdamW {
            lr: 1e-2,
            weight_decay: 0.1,
            ..Default::default()
        };
        let mut adamw = AdamW::new(vec![theirs.clone()], params.clone()).unwrap();
        let mut moments = Moments::zeros(start.elem_count());
        for step in 1..=3 {
            let target = Tensor::randn(0f32, 1., (300, 7), &dev).unwrap();
            let loss = |v: &Var| {
                (v.as_tensor() - &target)
                    .unwrap()
                    .sqr()
                    .unwrap()
                    .sum_all()
                    .unwrap()
            };
            adamw.step(&loss(&theirs).backward().unwrap()).unwrap();
            let grads = loss(&ours).backward().unwrap();
            let step = AdamWStep {
                lr: params.lr,
                beta1: params.beta1,
                beta2: params.beta2,
                eps: params.eps,
                weight_decay: params.weight_decay,
                step,
                grad_scale: 1.0,
            };
            adamw_update(&ours, grads.get(&ours).unwrap(), &mut moments, step).unwrap();
        }
        let diff = max_difference(ours.as_tensor(), theirs.as_tensor());
        assert!(diff < 1e-6, "{diff}");
        let f64_var = Var::zeros(3, DType::F64, &dev).unwrap();
        assert!(!fused_adamw_takes(&f64_var));
    }
}
