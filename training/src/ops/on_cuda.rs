//! The ops on `cuda:0` against their CPU kernels: forward and every
//! input's gradient, f32. Built with the `cuda` feature only; run by
//! `scripts/gpu-check` on a machine with a GPU (it fails where there is
//! none).

use candle_core::{Device, Result, Tensor, Var};

use super::*;

/// `f` on the CPU and on `cuda:0` from the same inputs: outputs and the
/// gradients of `sum(f · r)` agree within `tolerance`.
fn agree(inputs: &[Tensor], tolerance: f64, f: impl Fn(&[Tensor]) -> Result<Tensor>) {
    let gpu = Device::new_cuda(0).expect("a CUDA device 0");
    let run = |device: &Device| {
        let vars: Vec<Var> = inputs
            .iter()
            .map(|t| Var::from_tensor(&t.to_device(device).unwrap()).unwrap())
            .collect();
        let xs: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().clone()).collect();
        let out = f(&xs).unwrap();
        let r = Tensor::ones(out.shape(), out.dtype(), device).unwrap();
        let grads = (&out * &r).unwrap().sum_all().unwrap().backward().unwrap();
        let grads: Vec<Tensor> = vars
            .iter()
            .map(|v| grads.get(v).unwrap().to_device(&Device::Cpu).unwrap())
            .collect();
        (out.to_device(&Device::Cpu).unwrap(), grads)
    };
    let (cpu_out, cpu_grads) = run(&Device::Cpu);
    let (gpu_out, gpu_grads) = run(&gpu);
    finite_difference::assert_close(&gpu_out, &cpu_out, tolerance);
    for (g, c) in gpu_grads.iter().zip(&cpu_grads) {
        finite_difference::assert_close(g, c, tolerance);
    }
}

fn randn(shape: &[usize]) -> Tensor {
    Tensor::randn(0f32, 1., shape, &Device::Cpu).unwrap()
}

#[test]
fn every_op_on_cuda_equals_its_cpu_kernel() {
    let spec = Conv1dSpec {
        padding: (2, 1),
        stride: 1,
        dilation: 1,
        relu: true,
    };
    agree(
        &[randn(&[4, 8, 50]), randn(&[16, 8, 5]), randn(&[16])],
        1e-3,
        |v| conv1d(&v[0], &v[1], &v[2], spec),
    );
    agree(&[randn(&[4, 8, 50])], 1e-5, |v| max_pool1d(&v[0], 5, 4));
    agree(
        &[randn(&[4, 9, 32]), randn(&[32]), randn(&[32])],
        1e-3,
        |v| layer_norm(&v[0], &v[1], &v[2], 1e-5),
    );
    agree(
        &[randn(&[4, 9, 32]), randn(&[12, 32]), randn(&[12])],
        1e-3,
        |v| linear(&v[0], &v[1], &v[2]),
    );
    agree(&[randn(&[4, 9, 32])], 1e-3, |v| gated_gelu(&v[0]));
    agree(&[randn(&[6, 40]), randn(&[6, 10])], 1e-3, |v| {
        let (h, c) = lstm_cell(&v[0], &v[1])?;
        Tensor::cat(&[h, c], 1)
    });
    agree(&[randn(&[3, 7, 24]), randn(&[24, 6])], 1e-3, |v| {
        lstm_layer(&v[0], &v[1], true)
    });
    // The rotary tables are constants, as in the model: no gradient.
    let (cos, sin) = (randn(&[6, 4]), randn(&[6, 4]));
    agree(&[randn(&[2, 6, 48])], 1e-3, |v| {
        let cos = cos.to_device(v[0].device())?;
        let sin = sin.to_device(v[0].device())?;
        qkv_heads(&v[0], 2, Some((&cos, &sin)))
    });
    agree(&[randn(&[2, 6, 48])], 1e-5, |v| qkv_heads(&v[0], 2, None));
    let padding = Tensor::new(&[[0u8, 0, 0, 0, 0, 1], [0, 0, 0, 1, 1, 1]], &Device::Cpu).unwrap();
    agree(
        &[
            randn(&[2, 3, 6, 8]),
            randn(&[2, 3, 6, 8]),
            randn(&[2, 3, 6, 8]),
        ],
        1e-3,
        |v| {
            let mask = padding.to_device(v[0].device())?;
            attention(&v[0], &v[1], &v[2], Some(&mask), None)
        },
    );
}
