//! The front end of the paper's one-hot Transformer (Table 6.2's "onehot"
//! row): a convolution over the one-hot bases (kernel 25, stride 1, "same"
//! padding, ReLU), then a max-pool of stride 4, so each token stands for
//! 4 bp, as a 4-patch token does.

use candle_core::{Module, Result, Tensor};
use candle_nn::VarBuilder;

use super::conv::Conv1d;

/// Bases per token after the pool.
pub const ONE_HOT_POOL: usize = 4;

#[derive(Debug)]
pub struct OneHotFront {
    conv: Conv1d,
}

impl OneHotFront {
    pub fn new(vb: VarBuilder, kernel: usize, hidden: usize) -> Result<Self> {
        if kernel == 0 {
            candle_core::bail!("one_hot_conv: the kernel must be at least 1");
        }
        let conv = Conv1d::new(vb, 4, hidden, kernel)?
            .padded(((kernel - 1) / 2, kernel / 2))
            .with_relu();
        Ok(OneHotFront { conv })
    }

    /// Tokens a window of `length` bp becomes.
    pub fn tokens(length: usize) -> usize {
        length / ONE_HOT_POOL
    }

    /// `(batch, 4, length)` one-hot in, `(batch, length / 4, hidden)` out.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if x.dims().len() != 3 || x.dim(1)? != 4 {
            candle_core::bail!(
                "a one-hot transformer reads (batch, 4, length) one-hot input, not {:?}",
                x.dims()
            );
        }
        if x.dim(2)? < ONE_HOT_POOL {
            candle_core::bail!("a one-hot transformer needs at least {ONE_HOT_POOL} bp");
        }
        let h = self.conv.forward(x)?;
        crate::ops::max_pool1d(&h, ONE_HOT_POOL, ONE_HOT_POOL)?.transpose(1, 2)
    }
}
