//! An attention layer's input projection cut into heads, with rotary
//! positions, in one pass: `(batch, tokens, 3 · hidden)` in, q, k and v of
//! `(batch, heads, tokens, head_dim)` out, stacked on a first axis of 3.
//! Rotary embeddings rotate each half-pair `(x[j], x[j + head_dim / 2])` of
//! q and k by the token's angle, as candle's non-interleaved `rope`. The
//! composition it replaces (a permute, three copies and `rope_slow`'s five
//! passes over each of q and k) runs one element-wise candle op at a time,
//! on one thread. The backward pass is the inverse permutation and the
//! inverse rotation.

use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Tensor};

use super::kernels::{
    by_dtype, on_cpu_kernel, output, par_items, slice, storage_dtype, tensor, with_data, Real,
};

struct QkvHeads {
    heads: usize,
    /// `(tokens, head_dim / 2)` cos and sin, row-major.
    rotary: Option<(Vec<f64>, Vec<f64>)>,
}

#[derive(Clone, Copy)]
struct Dims {
    batch: usize,
    tokens: usize,
    heads: usize,
    head_dim: usize,
}

impl Dims {
    fn hidden(&self) -> usize {
        self.heads * self.head_dim
    }
}

impl QkvHeads {
    fn dims(&self, shape: &Shape) -> Result<Dims> {
        let (batch, tokens, width) = shape.dims3()?;
        Ok(Dims {
            batch,
            tokens,
            heads: self.heads,
            head_dim: width / 3 / self.heads,
        })
    }

    /// The rotation tables in the kernel's type, with `sin` negated for
    /// the inverse rotation.
    fn tables<T: Real>(&self, inverse: bool) -> Option<(Vec<T>, Vec<T>)> {
        let sign = if inverse { -1.0 } else { 1.0 };
        self.rotary.as_ref().map(|(cos, sin)| {
            (
                cos.iter().map(|c| T::of(*c)).collect(),
                sin.iter().map(|s| T::of(sign * s)).collect(),
            )
        })
    }

    fn forward<T: Real>(&self, d: Dims, x: &[T]) -> Vec<T> {
        let (t, hd, hidden) = (d.tokens, d.head_dim, d.hidden());
        let half = hd / 2;
        let tables = self.tables::<T>(false);
        let mut out = vec![T::ZERO; x.len()];
        // One item is one (part, sequence, head): a `tokens × head_dim` block.
        par_items(&mut out, t * hd, |first, blocks| {
            for (i, block) in blocks.chunks_mut(t * hd).enumerate() {
                let item = first + i;
                let (part, rest) = (item / (d.batch * d.heads), item % (d.batch * d.heads));
                let (b, h) = (rest / d.heads, rest % d.heads);
                for (ti, row) in block.chunks_mut(hd).enumerate() {
                    let src = &x[(b * t + ti) * 3 * hidden + part * hidden + h * hd..][..hd];
                    match (&tables, part < 2) {
                        (Some((cos, sin)), true) => {
                            let (cos, sin) = (&cos[ti * half..][..half], &sin[ti * half..][..half]);
                            rotate(src, row, cos, sin);
                        }
                        _ => row.copy_from_slice(src),
                    }
                }
            }
        });
        out
    }

    fn backward<T: Real>(&self, d: Dims, dout: &[T]) -> Vec<T> {
        let (t, hd, hidden) = (d.tokens, d.head_dim, d.hidden());
        let half = hd / 2;
        let tables = self.tables::<T>(true);
        let mut dx = vec![T::ZERO; dout.len()];
        // One item is one (sequence, token) row of the projection.
        par_items(&mut dx, 3 * hidden, |first, rows| {
            for (i, row) in rows.chunks_mut(3 * hidden).enumerate() {
                let (b, ti) = ((first + i) / t, (first + i) % t);
                for part in 0..3 {
                    for h in 0..d.heads {
                        let src =
                            &dout[(((part * d.batch + b) * d.heads + h) * t + ti) * hd..][..hd];
                        let dst = &mut row[part * hidden + h * hd..][..hd];
                        match (&tables, part < 2) {
                            (Some((cos, sin)), true) => {
                                let (cos, sin) =
                                    (&cos[ti * half..][..half], &sin[ti * half..][..half]);
                                rotate(src, dst, cos, sin);
                            }
                            _ => dst.copy_from_slice(src),
                        }
                    }
                }
            }
        });
        dx
    }
}

/// `dst = (x₁ cos − x₂ sin, x₂ cos + x₁ sin)` for the halves x₁, x₂ of `src`.
#[inline]
fn rotate<T: Real>(src: &[T], dst: &mut [T], cos: &[T], sin: &[T]) {
    let half = cos.len();
    let (x1, x2) = src.split_at(half);
    let (y1, y2) = dst.split_at_mut(half);
    for j in 0..half {
        y1[j] = x1[j] * cos[j] - x2[j] * sin[j];
        y2[j] = x2[j] * cos[j] + x1[j] * sin[j];
    }
}

impl CustomOp1 for QkvHeads {
    fn name(&self) -> &'static str {
        "qkv_heads"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        super::profile::timed(self.name(), false, || {
            let d = self.dims(layout.shape())?;
            Ok(by_dtype!(storage_dtype(storage), T => output(
                self.forward::<T>(d, slice(self.name(), storage, layout)?),
                (3, d.batch, d.heads, d.tokens, d.head_dim),
            )))
        })
    }

    fn bwd(&self, x: &Tensor, _y: &Tensor, dy: &Tensor) -> Result<Option<Tensor>> {
        super::profile::timed(self.name(), true, || {
            let d = self.dims(x.shape())?;
            Ok(Some(
                by_dtype!(x.dtype(), T => with_data::<T, _>(dy, |dys| {
                    tensor(self.backward(d, dys), x.shape().clone())
                }))?,
            ))
        })
    }
}

/// `(batch, tokens, 3 · hidden)` to `(3, batch, heads, tokens, head_dim)`:
/// q, k and v cut into `heads`, q and k rotated by `rotary`'s `(tokens,
/// head_dim / 2)` cos and sin tables when given.
pub fn qkv_heads(qkv: &Tensor, heads: usize, rotary: Option<(&Tensor, &Tensor)>) -> Result<Tensor> {
    let (_, tokens, width) = qkv.dims3()?;
    if heads == 0
        || !width.is_multiple_of(3 * heads)
        || (rotary.is_some() && !(width / 3 / heads).is_multiple_of(2))
    {
        candle_core::bail!(
            "qkv_heads: a last axis of {width} does not hold q, k and v of {heads} heads{}",
            if rotary.is_some() {
                " of even width"
            } else {
                ""
            }
        );
    }
    let half = width / 3 / heads / 2;
    if let Some((cos, sin)) = rotary {
        for table in [cos, sin] {
            if table.dims() != [tokens, half] {
                candle_core::bail!(
                    "qkv_heads: rotary table {:?} must be ({tokens}, {half})",
                    table.dims()
                );
            }
        }
    }
    if on_cpu_kernel(&[qkv]) {
        let rotary = match rotary {
            Some((cos, sin)) => Some((table(cos)?, table(sin)?)),
            None => None,
        };
        qkv.contiguous()?.apply_op1(QkvHeads { heads, rotary })
    } else {
        composed(qkv, heads, rotary)
    }
}

fn table(t: &Tensor) -> Result<Vec<f64>> {
    t.to_dtype(candle_core::DType::F64)?
        .flatten_all()?
        .to_vec1()
}

/// reshape, permute, copy, and candle's `rope_slow` on q and k.
fn composed(qkv: &Tensor, heads: usize, rotary: Option<(&Tensor, &Tensor)>) -> Result<Tensor> {
    let (batch, tokens, width) = qkv.dims3()?;
    let head_dim = width / 3 / heads;
    let qkv = qkv
        .reshape((batch, tokens, 3, heads, head_dim))?
        .permute((2, 0, 3, 1, 4))?
        .contiguous()?;
    let Some((cos, sin)) = rotary else {
        return Ok(qkv);
    };
    let (cos, sin) = (cos.to_dtype(qkv.dtype())?, sin.to_dtype(qkv.dtype())?);
    let q = candle_nn::rotary_emb::rope_slow(&qkv.get(0)?.contiguous()?, &cos, &sin)?;
    let k = candle_nn::rotary_emb::rope_slow(&qkv.get(1)?.contiguous()?, &cos, &sin)?;
    Tensor::stack(&[q, k, qkv.get(2)?], 0)
}

#[cfg(test)]
mod tests {
    use candle_core::{DType, Device};

    use super::*;
    use crate::ops::finite_difference::{assert_close, check_gradients};

    fn tables(tokens: usize, half: usize, dtype: DType) -> (Tensor, Tensor) {
        let angles = Tensor::randn(0f64, 2., (tokens, half), &Device::Cpu)
            .unwrap()
            .to_dtype(dtype)
            .unwrap();
        (angles.cos().unwrap(), angles.sin().unwrap())
    }

    #[test]
    fn forward_equals_the_composition_with_and_without_rotary() {
        let x = Tensor::randn(0f32, 1., (3, 7, 3 * 4 * 8), &Device::Cpu).unwrap();
        let (cos, sin) = tables(7, 4, DType::F32);
        assert_close(
            &qkv_heads(&x, 4, Some((&cos, &sin))).unwrap(),
            &composed(&x, 4, Some((&cos, &sin))).unwrap(),
            1e-6,
        );
        assert_close(
            &qkv_heads(&x, 4, None).unwrap(),
            &composed(&x, 4, None).unwrap(),
            0.0,
        );
    }

    #[test]
    fn gradients_equal_finite_differences() {
        let x = Tensor::randn(0f64, 1., (2, 5, 3 * 2 * 4), &Device::Cpu).unwrap();
        let (cos, sin) = tables(5, 2, DType::F64);
        check_gradients(std::slice::from_ref(&x), |v| {
            qkv_heads(&v[0], 2, Some((&cos, &sin)))
        });
        check_gradients(&[x], |v| qkv_heads(&v[0], 2, None));
    }

    #[test]
    fn shapes_that_do_not_hold_the_heads_are_errors() {
        let x = Tensor::zeros((2, 5, 30), DType::F32, &Device::Cpu).unwrap();
        assert!(qkv_heads(&x, 4, None).is_err());
        let (cos, sin) = tables(4, 2, DType::F32);
        let x = Tensor::zeros((2, 5, 24), DType::F32, &Device::Cpu).unwrap();
        let err = qkv_heads(&x, 2, Some((&cos, &sin))).unwrap_err();
        assert!(err.to_string().contains("must be (5, 2)"), "{err}");
    }
}
