//! Scaled dot-product attention with a key padding mask and dropout on the
//! attention weights, fused: for each (sequence, head) the scores, the
//! masked softmax, the dropout and the weighted sum of values happen in one
//! `tokens × tokens` scratch matrix. The backward pass recomputes the
//! weights from q and k instead of keeping them (as flash attention does),
//! and redraws the same dropout mask from its seed.

use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Tensor, D};

use super::dropout::DropoutMask;
use super::kernels::{
    by_dtype, gemm, on_cpu_kernel, output, par_items, slice, storage_dtype, tensor, with_data, Mat,
    Real,
};
use super::precision::in_f32;

struct Attention {
    /// `(batch, tokens)`: true where the key is padding.
    padding: Option<Vec<bool>>,
    dropout: Option<DropoutMask>,
}

#[derive(Clone, Copy)]
struct Dims {
    heads: usize,
    tokens: usize,
    head_dim: usize,
}

impl Attention {
    /// One (sequence, head)'s attention weights into `p`: softmax of the
    /// scaled scores over unpadded keys.
    fn weights<T: Real>(&self, d: Dims, item: usize, q: &[T], k: &[T], p: &mut [T]) {
        let t = d.tokens;
        let scale = T::of(1.0 / (d.head_dim as f64).sqrt());
        gemm(
            p,
            false,
            scale,
            Mat::rows(q, t, d.head_dim),
            Mat::rows(k, t, d.head_dim).t(),
        );
        let batch = item / d.heads;
        let padded = self.padding.as_ref().map(|m| &m[batch * t..][..t]);
        for row in p.chunks_mut(t) {
            if let Some(padded) = padded {
                for (v, pad) in row.iter_mut().zip(padded) {
                    if *pad {
                        *v = T::NEG_INFINITY;
                    }
                }
            }
            let max = row.iter().fold(T::NEG_INFINITY, |m, v| Real::max(m, *v));
            if max == T::NEG_INFINITY {
                row.fill(T::ZERO);
                continue;
            }
            let mut sum = T::ZERO;
            for v in row.iter_mut() {
                *v = (*v - max).exp();
                sum += *v;
            }
            let inv = T::ONE / sum;
            row.iter_mut().for_each(|v| *v *= inv);
        }
    }

    /// Applies the dropout mask of one (sequence, head) to `p` in place.
    fn drop<T: Real>(&self, d: Dims, item: usize, p: &mut [T]) {
        if let Some(dropout) = self.dropout {
            dropout.apply(p, item * d.tokens * d.tokens);
        }
    }

    fn forward<T: Real>(&self, d: Dims, q: &[T], k: &[T], v: &[T]) -> Vec<T> {
        let size = d.tokens * d.head_dim;
        let mut out = vec![T::ZERO; q.len()];
        par_items(&mut out, size, |first, outs| {
            let mut p = vec![T::ZERO; d.tokens * d.tokens];
            for (i, out) in outs.chunks_mut(size).enumerate() {
                let item = first + i;
                let (q, k, v) = (
                    &q[item * size..][..size],
                    &k[item * size..][..size],
                    &v[item * size..][..size],
                );
                self.weights(d, item, q, k, &mut p);
                self.drop(d, item, &mut p);
                gemm(
                    out,
                    false,
                    T::ONE,
                    Mat::rows(&p, d.tokens, d.tokens),
                    Mat::rows(v, d.tokens, d.head_dim),
                );
            }
        });
        out
    }

    /// `[dq | dk | dv]` for each (sequence, head), one after the other.
    fn backward<T: Real>(&self, d: Dims, q: &[T], k: &[T], v: &[T], dout: &[T]) -> Vec<T> {
        let size = d.tokens * d.head_dim;
        let t = d.tokens;
        let scale = T::of(1.0 / (d.head_dim as f64).sqrt());
        let mut grads = vec![T::ZERO; 3 * q.len()];
        par_items(&mut grads, 3 * size, |first, chunks| {
            let mut p = vec![T::ZERO; t * t];
            let mut dropped = vec![T::ZERO; t * t];
            let mut dp = vec![T::ZERO; t * t];
            for (i, chunk) in chunks.chunks_mut(3 * size).enumerate() {
                let item = first + i;
                let span = item * size..(item + 1) * size;
                let (q, k, v, dout) = (
                    &q[span.clone()],
                    &k[span.clone()],
                    &v[span.clone()],
                    &dout[span],
                );
                let (dq, rest) = chunk.split_at_mut(size);
                let (dk, dv) = rest.split_at_mut(size);
                self.weights(d, item, q, k, &mut p);
                dropped.copy_from_slice(&p);
                self.drop(d, item, &mut dropped);
                // dv = (dropped p)ᵀ · dout
                gemm(
                    dv,
                    false,
                    T::ONE,
                    Mat::rows(&dropped, t, t).t(),
                    Mat::rows(dout, t, d.head_dim),
                );
                // d(dropped p) = dout · vᵀ, then back through the dropout.
                gemm(
                    &mut dp,
                    false,
                    T::ONE,
                    Mat::rows(dout, t, d.head_dim),
                    Mat::rows(v, t, d.head_dim).t(),
                );
                self.drop(d, item, &mut dp);
                // Through the softmax: ds = p ⊙ (dp − Σ_j dp ⊙ p).
                for (prow, grow) in p.chunks(t).zip(dp.chunks_mut(t)) {
                    let dot = prow
                        .iter()
                        .zip(grow.iter())
                        .fold(T::ZERO, |s, (a, b)| s + *a * *b);
                    for (g, pv) in grow.iter_mut().zip(prow) {
                        *g = *pv * (*g - dot);
                    }
                }
                gemm(
                    dq,
                    false,
                    scale,
                    Mat::rows(&dp, t, t),
                    Mat::rows(k, t, d.head_dim),
                );
                gemm(
                    dk,
                    false,
                    scale,
                    Mat::rows(&dp, t, t).t(),
                    Mat::rows(q, t, d.head_dim),
                );
            }
        });
        grads
    }
}

impl CustomOp3 for Attention {
    fn name(&self) -> &'static str {
        "attention"
    }

    fn cpu_fwd(
        &self,
        qs: &CpuStorage,
        ql: &Layout,
        ks: &CpuStorage,
        kl: &Layout,
        vs: &CpuStorage,
        vl: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        super::profile::timed(self.name(), false, || {
            let (_, heads, tokens, head_dim) = ql.shape().dims4()?;
            let d = Dims {
                heads,
                tokens,
                head_dim,
            };
            let shape = ql.shape().clone();
            Ok(by_dtype!(storage_dtype(qs), T => output(
                self.forward::<T>(
                    d,
                    slice(self.name(), qs, ql)?,
                    slice(self.name(), ks, kl)?,
                    slice(self.name(), vs, vl)?,
                ),
                shape,
            )))
        })
    }

    fn bwd(
        &self,
        q: &Tensor,
        k: &Tensor,
        v: &Tensor,
        _out: &Tensor,
        dout: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        super::profile::timed(self.name(), true, || {
            let (_, heads, tokens, head_dim) = q.dims4()?;
            let d = Dims {
                heads,
                tokens,
                head_dim,
            };
            let size = tokens * head_dim;
            by_dtype!(q.dtype(), T => with_data::<T, _>(q, |qs| {
                with_data::<T, _>(k, |ks| {
                    with_data::<T, _>(v, |vs| {
                        with_data::<T, _>(dout, |ds| {
                            let grads = self.backward(d, qs, ks, vs, ds);
                            let mut split = [
                                Vec::with_capacity(qs.len()),
                                Vec::with_capacity(qs.len()),
                                Vec::with_capacity(qs.len()),
                            ];
                            for chunk in grads.chunks(3 * size) {
                                for (j, part) in split.iter_mut().enumerate() {
                                    part.extend_from_slice(&chunk[j * size..][..size]);
                                }
                            }
                            let [dq, dk, dv] = split;
                            Ok((
                                Some(tensor(dq, q.shape().clone())?),
                                Some(tensor(dk, q.shape().clone())?),
                                Some(tensor(dv, q.shape().clone())?),
                            ))
                        })
                    })
                })
            }))
        })
    }
}

/// `softmax(q kᵀ / √head_dim + mask) v` for q, k, v of `(batch, heads,
/// tokens, head_dim)`; `padding` is `(batch, tokens)`, nonzero where a key
/// is padding, which no query attends to. `dropout` zeroes attention
/// weights (training only).
pub fn attention(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    padding: Option<&Tensor>,
    dropout: Option<DropoutMask>,
) -> Result<Tensor> {
    let (batch, _, tokens, _) = q.dims4()?;
    if k.dims() != q.dims() || v.dims() != q.dims() {
        candle_core::bail!(
            "attention: q {:?}, k {:?} and v {:?} must have one shape",
            q.dims(),
            k.dims(),
            v.dims()
        );
    }
    if let Some(mask) = padding {
        if mask.dims() != [batch, tokens] {
            candle_core::bail!(
                "attention: padding mask {:?} must be ({batch}, {tokens})",
                mask.dims()
            );
        }
    }
    // The softmax's sums need f32: half-precision inputs are computed in it.
    in_f32(&[q, k, v], |t| {
        let (q, k, v) = (&t[0], &t[1], &t[2]);
        if on_cpu_kernel(&[q, k, v]) {
            let padding = match padding {
                Some(mask) => Some(
                    mask.ne(0u8)?
                        .flatten_all()?
                        .to_vec1::<u8>()?
                        .into_iter()
                        .map(|m| m != 0)
                        .collect(),
                ),
                None => None,
            };
            q.contiguous()?.apply_op3(
                &k.contiguous()?,
                &v.contiguous()?,
                Attention { padding, dropout },
            )
        } else {
            composed(q, k, v, padding, dropout)
        }
    })
}

/// matmul, mask, softmax, dropout, matmul in candle ops (any device; its
/// dropout mask is candle's own draw, not the seed's).
fn composed(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    padding: Option<&Tensor>,
    dropout: Option<DropoutMask>,
) -> Result<Tensor> {
    let (batch, _, tokens, head_dim) = q.dims4()?;
    let mut scores = (q.contiguous()?.matmul(&k.contiguous()?.t()?)? / (head_dim as f64).sqrt())?;
    if let Some(mask) = padding {
        let bias = mask
            .ne(0u8)?
            .to_dtype(q.dtype())?
            .affine(-1e9, 0.0)?
            .reshape((batch, 1, 1, tokens))?;
        scores = scores.broadcast_add(&bias)?;
    }
    let mut weights = candle_nn::ops::softmax(&scores, D::Minus1)?;
    if let Some(dropout) = dropout {
        weights = candle_nn::ops::dropout(&weights, dropout.rate)?;
    }
    weights.matmul(&v.contiguous()?)
}

#[cfg(test)]
mod tests {
    use candle_core::{DType, Device};

    use super::*;
    use crate::ops::finite_difference::{assert_close, check_gradients};

    fn padding(dev: &Device) -> Tensor {
        Tensor::new(&[[0u8, 0, 0, 0, 0, 1], [0, 0, 0, 1, 1, 1]], dev).unwrap()
    }

    #[test]
    fn forward_equals_the_composition_and_padding_keys_are_ignored() {
        let dev = Device::Cpu;
        let shape = (2, 3, 6, 8);
        let q = Tensor::randn(0f32, 1., shape, &dev).unwrap();
        let k = Tensor::randn(0f32, 1., shape, &dev).unwrap();
        let v = Tensor::randn(0f32, 1., shape, &dev).unwrap();
        let mask = padding(&dev);
        let ours = attention(&q, &k, &v, Some(&mask), None).unwrap();
        assert_close(
            &ours,
            &composed(&q, &k, &v, Some(&mask), None).unwrap(),
            1e-5,
        );
        // Changing padded keys and values changes nothing.
        let noise = Tensor::randn(0f32, 5., shape, &dev).unwrap();
        let keep = mask
            .to_dtype(DType::F32)
            .unwrap()
            .reshape((2, 1, 6, 1))
            .unwrap()
            .broadcast_as(shape)
            .unwrap();
        let k2 = (&k + (&noise * &keep).unwrap()).unwrap();
        let v2 = (&v + (&noise * &keep).unwrap()).unwrap();
        assert_close(
            &attention(&q, &k2, &v2, Some(&mask), None).unwrap(),
            &ours,
            1e-5,
        );
    }

    #[test]
    fn gradients_equal_finite_differences_with_and_without_dropout() {
        let dev = Device::Cpu;
        let shape = (2, 2, 6, 4);
        for dropout in [None, Some(DropoutMask { rate: 0.3, seed: 7 })] {
            let q = Tensor::randn(0f64, 1., shape, &dev).unwrap();
            let k = Tensor::randn(0f64, 1., shape, &dev).unwrap();
            let v = Tensor::randn(0f64, 1., shape, &dev).unwrap();
            let mask = padding(&dev);
            check_gradients(&[q, k, v], |x| {
                attention(&x[0], &x[1], &x[2], Some(&mask), dropout)
            });
        }
    }
}
