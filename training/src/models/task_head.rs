//! The layers between a model's representation and the task's outputs:
//! one linear layer, or the paper's classifier (`FC → GELU → FC`, its
//! `Head` of a dense layer, an activation and a decoder).
//!
//! Both keep their weights under `head.` (the linear one as `head.weight`,
//! the MLP as `head.dense.*` and `head.decoder.*`), so a pre-trained
//! backbone loads into a model with either: `checkpoint::load_backbone`
//! skips every `head.` weight.

use candle_core::{Module, Result, Tensor};
use candle_nn::VarBuilder;
use serde::{Deserialize, Serialize};

use super::linear::Linear;

/// Which head a model ends in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HeadKind {
    /// One linear layer from the representation to the outputs.
    #[default]
    Linear,
    /// The paper's: a dense layer of `head_hidden`, GELU, then the outputs.
    Mlp,
}

/// The paper's width of the MLP head's dense layer (its `dim_ff`).
pub const PAPER_HEAD_HIDDEN: usize = 2048;

pub(crate) fn paper_head_hidden() -> usize {
    PAPER_HEAD_HIDDEN
}

#[derive(Debug)]
pub enum TaskHead {
    Linear(Linear),
    Mlp { dense: Linear, decoder: Linear },
}

impl TaskHead {
    /// A head from `features` to `outputs`; `make` builds each linear layer
    /// with the model's own initialisation.
    pub fn new(
        vb: VarBuilder,
        kind: HeadKind,
        features: usize,
        hidden: usize,
        outputs: usize,
        make: fn(usize, usize, VarBuilder) -> Result<Linear>,
    ) -> Result<Self> {
        Ok(match kind {
            HeadKind::Linear => TaskHead::Linear(make(features, outputs, vb)?),
            HeadKind::Mlp => {
                if hidden == 0 {
                    candle_core::bail!("an mlp head needs head_hidden > 0");
                }
                TaskHead::Mlp {
                    dense: make(features, hidden, vb.pp("dense"))?,
                    decoder: make(hidden, outputs, vb.pp("decoder"))?,
                }
            }
        })
    }
}

impl Module for TaskHead {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match self {
            TaskHead::Linear(layer) => layer.forward(x),
            TaskHead::Mlp { dense, decoder } => decoder.forward(&dense.forward(x)?.gelu_erf()?),
        }
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{DType, Device};
    use candle_nn::VarMap;

    use super::*;
    use crate::models::linear::linear;

    #[test]
    fn an_mlp_head_keeps_its_weights_under_head_and_maps_features_to_outputs() {
        let map = VarMap::new();
        let vb = VarBuilder::from_varmap(&map, DType::F32, &Device::Cpu);
        let head = TaskHead::new(vb.pp("head"), HeadKind::Mlp, 6, 5, 3, linear).unwrap();
        let x = Tensor::ones((2, 6), DType::F32, &Device::Cpu).unwrap();
        assert_eq!(head.forward(&x).unwrap().dims(), &[2, 3]);
        let mut names: Vec<String> = map.data().lock().unwrap().keys().cloned().collect();
        names.sort();
        assert_eq!(
            names,
            [
                "head.decoder.bias",
                "head.decoder.weight",
                "head.dense.bias",
                "head.dense.weight"
            ]
        );
        let vb = VarBuilder::from_varmap(&VarMap::new(), DType::F32, &Device::Cpu);
        let err = TaskHead::new(vb, HeadKind::Mlp, 6, 0, 3, linear).unwrap_err();
        assert!(err.to_string().contains("head_hidden"), "{err}");
    }
}
