//! Embedding throughput, one run: 200 bp segments/s through a CNN backbone
//! on the CPU (the paper's CNN+FC features, and the quickstart's motif CNN),
//! as `dnabench embed` feeds them: 1 kb sequences cut into 5 segments,
//! 256 segments a forward pass. With a `cuda` build and a GPU, the same on
//! `cuda:0` as well.
//!
//! Run: `cargo bench --profile dev --bench embed`

use std::time::Instant;

use candle_core::{DType, Device};
use candle_nn::{VarBuilder, VarMap};
use dnabench_training::embed::{embed_sequences, SEGMENT_BP};
use dnabench_training::models::{CnnConfig, CnnFc};
use dnabench_training::network::{Encoder, Network};
use dnabench_training::train::Predictor;

const SEQUENCES: usize = 512;
const LENGTH: usize = 1000;

fn segments_per_s(cfg: &CnnConfig, device: &Device) -> f64 {
    let map = VarMap::new();
    let vb = VarBuilder::from_varmap(&map, DType::F32, device);
    let predictor = Predictor {
        network: Network::Cnn(CnnFc::new(vb, cfg).unwrap()),
        encoder: Encoder::OneHot,
        pair: false,
        device: device.clone(),
    };
    let seqs: Vec<Vec<u8>> = (0..SEQUENCES)
        .map(|s| {
            (0..LENGTH)
                .map(|i| b"ACGT"[(i * 7919 + s * 31 + i / 13) % 4])
                .collect()
        })
        .collect();
    let refs: Vec<&[u8]> = seqs.iter().map(Vec::as_slice).collect();
    embed_sequences(&predictor, &refs[..8], SEGMENT_BP, 256).unwrap();
    let started = Instant::now();
    let out = embed_sequences(&predictor, &refs, SEGMENT_BP, 256).unwrap();
    assert_eq!(out.len(), SEQUENCES);
    (SEQUENCES * LENGTH.div_ceil(SEGMENT_BP)) as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    dnabench_training::allocator::keep_freed_memory();
    let quickstart = CnnConfig {
        global_pool: true,
        ..CnnConfig::plain(SEGMENT_BP, vec![64], vec![15], 8)
    };
    let paper = CnnConfig::paper(SEGMENT_BP, 919);
    let mut devices = vec![("cpu", Device::Cpu)];
    if let Ok(cuda) = Device::new_cuda(0) {
        devices.push(("cuda:0", cuda));
    }
    for (name, device) in &devices {
        for (model, cfg) in [
            ("paper CNN+FC", &paper),
            ("quickstart motif CNN", &quickstart),
        ] {
            println!(
                "embed {model} on {name}: {:.0} segments/s of {SEGMENT_BP} bp",
                segments_per_s(cfg, device)
            );
        }
    }
}
