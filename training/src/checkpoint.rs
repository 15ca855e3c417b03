//! Checkpoints: a model's parameters as safetensors, loaded back into a
//! `VarMap` with every name and shape checked, so a checkpoint of another
//! model or size is an error that says which tensor differs.

use std::path::Path;

use candle_core::{Device, Result};
use candle_nn::VarMap;

/// Writes every parameter of `map` to `path` (safetensors).
pub fn save(map: &VarMap, path: &Path) -> Result<()> {
    map.save(path)
}

/// Loads `path` into the parameters of `map`.
pub fn load(map: &VarMap, path: &Path, device: &Device) -> Result<()> {
    load_matching(map, path, device, false).map(|_| ())
}

/// Loads a pre-trained backbone: every parameter except the task head
/// (`head.*`) must be in `path` with its shape; the checkpoint's own head
/// and MLM layers are left out. Returns how many tensors were loaded.
pub fn load_backbone(map: &VarMap, path: &Path, device: &Device) -> Result<usize> {
    load_matching(map, path, device, true)
}

fn is_head(name: &str) -> bool {
    name.starts_with("head.")
}

fn load_matching(map: &VarMap, path: &Path, device: &Device, backbone: bool) -> Result<usize> {
    let tensors = candle_core::safetensors::load(path, device)
        .map_err(|e| candle_core::Error::Msg(format!("checkpoint {}: {e}", path.display())))?;
    let data = map.data().lock().expect("the VarMap lock is not poisoned");
    let mut names: Vec<&String> = data.keys().collect();
    names.sort();
    let mut loaded = 0;
    for name in names {
        if backbone && is_head(name) {
            continue;
        }
        let var = &data[name];
        let Some(tensor) = tensors.get(name) else {
            candle_core::bail!(
                "checkpoint {}: no tensor '{name}', which the model has (is it a checkpoint of another model?)",
                path.display()
            );
        };
        if tensor.dims() != var.dims() {
            candle_core::bail!(
                "checkpoint {}: '{name}' has shape {:?}, the model expects {:?} (another model size?)",
                path.display(),
                tensor.dims(),
                var.dims()
            );
        }
        var.set(&tensor.to_dtype(var.dtype())?)?;
        loaded += 1;
    }
    if !backbone {
        if let Some(extra) = tensors.keys().find(|k| !data.contains_key(*k)) {
            candle_core::bail!(
                "checkpoint {}: tensor '{extra}' belongs to no parameter of the model",
                path.display()
            );
        }
    }
    Ok(loaded)
}

#[cfg(test)]
mod tests {
    use candle_core::{DType, Tensor};
    use candle_nn::VarBuilder;

    use super::*;
    use crate::models::{CnnConfig, CnnFc};

    fn cnn(map: &VarMap, channels: usize) -> CnnFc {
        let cfg = CnnConfig {
            pool_kernel: 2,
            pool_stride: 2,
            ..CnnConfig::plain(40, vec![channels, 4], vec![5, 3], 3)
        };
        CnnFc::new(VarBuilder::from_varmap(map, DType::F32, &Device::Cpu), &cfg).unwrap()
    }

    #[test]
    fn a_saved_model_loads_back_with_the_same_outputs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.safetensors");
        let (first, second) = (VarMap::new(), VarMap::new());
        let (a, b) = (cnn(&first, 6), cnn(&second, 6));
        let x = Tensor::rand(0f32, 1f32, (2, 4, 40), &Device::Cpu).unwrap();
        let out = |m: &CnnFc| -> Vec<f32> {
            m.forward(&x, false)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap()
        };
        assert_ne!(out(&a), out(&b));
        save(&first, &path).unwrap();
        load(&second, &path, &Device::Cpu).unwrap();
        assert_eq!(out(&a), out(&b));
    }

    #[test]
    fn a_checkpoint_of_another_size_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.safetensors");
        let small = VarMap::new();
        cnn(&small, 6);
        save(&small, &path).unwrap();
        let big = VarMap::new();
        cnn(&big, 8);
        let err = load(&big, &path, &Device::Cpu).unwrap_err().to_string();
        assert!(
            err.contains("'conv0.bias' has shape [6], the model expects [8]"),
            "{err}"
        );
        let err = load(&big, &dir.path().join("missing.safetensors"), &Device::Cpu)
            .unwrap_err()
            .to_string();
        assert!(err.contains("missing.safetensors"), "{err}");
    }

    #[test]
    fn a_backbone_loads_into_a_model_with_another_head() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.safetensors");
        let pretrained = VarMap::new();
        cnn(&pretrained, 6);
        save(&pretrained, &path).unwrap();
        let tuned = VarMap::new();
        let cfg = CnnConfig {
            pool_kernel: 2,
            pool_stride: 2,
            ..CnnConfig::plain(40, vec![6, 4], vec![5, 3], 7)
        };
        CnnFc::new(
            VarBuilder::from_varmap(&tuned, DType::F32, &Device::Cpu),
            &cfg,
        )
        .unwrap();
        assert!(
            load(&tuned, &path, &Device::Cpu).is_err(),
            "the heads differ"
        );
        assert_eq!(load_backbone(&tuned, &path, &Device::Cpu).unwrap(), 4);
        let data = tuned.data().lock().unwrap();
        let same = |name: &str| {
            let a: Vec<f32> = data[name].flatten_all().unwrap().to_vec1().unwrap();
            let b: Vec<f32> = pretrained.data().lock().unwrap()[name]
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap();
            a == b
        };
        assert!(same("conv0.weight") && same("conv1.bias"));
    }
}
