//! Training rate, one run: the paper-size CNN+FC and Transformer (500 bp,
//! patch 4, batch 64, AdamW, clipping 1) on random data, examples/s, next
//! to the same architectures in PyTorch on CPU (`training_torch.py`, run by
//! this bench with `$DNABENCH_PYTHON`, default `python3`; skipped if torch
//! is missing). Then the loader alone: examples/s of batches read from the
//! simulated promoter dataset, to show it is not what training waits on.
//!
//! Run: `cargo bench --profile dev --bench training`
//! (`DNABENCH_BENCH_STEPS`, default 3, sets the timed steps per model.)

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use dnabench_engine::materialize::{materialize, Materialization};
use dnabench_engine::simulate::{ingest_simulated, simulate, SimulatedFiles};
use dnabench_engine::{open_session, Store};
use dnabench_queries::Task;
use dnabench_training::losses::bce_with_logits;
use dnabench_training::models::{CnnConfig, CnnFc, Positions, Transformer, TransformerConfig};
use dnabench_training::optim::Optim;
use dnabench_training::{Loader, LoaderConfig};

const BATCH: usize = 64;
const LENGTH: usize = 500;

/// Examples/s of `steps` optimizer steps after one untimed one.
fn rate(map: &VarMap, steps: usize, forward: impl Fn() -> (Tensor, Tensor)) -> f64 {
    let mut optim = Optim::new(map.all_vars(), 1e-4, 0.01, 0, steps + 1, 1.0).unwrap();
    let mut step = || {
        let (logits, y) = forward();
        optim
            .backward_step(&bce_with_logits(&logits, &y).unwrap())
            .unwrap();
    };
    step();
    let started = Instant::now();
    for _ in 0..steps {
        step();
    }
    (BATCH * steps) as f64 / started.elapsed().as_secs_f64()
}

fn labels(device: &Device) -> Tensor {
    Tensor::rand(0f32, 1f32, (BATCH, 1), device)
        .unwrap()
        .round()
        .unwrap()
}

fn cnn_rate(steps: usize) -> f64 {
    let device = Device::Cpu;
    let map = VarMap::new();
    let vb = VarBuilder::from_varmap(&map, DType::F32, &device);
    let model = CnnFc::new(vb, &CnnConfig::paper(LENGTH, 1)).unwrap();
    rate(&map, steps, || {
        let bases: Vec<u8> = (0..BATCH * LENGTH)
            .map(|i| b"ACGT"[(i * 7919 + i / 13) % 4])
            .collect();
        let seqs: Vec<&[u8]> = bases.chunks(LENGTH).collect();
        let x = dnabench_training::one_hot(&seqs, &device).unwrap();
        (model.forward(&x, true).unwrap(), labels(&device))
    })
}

fn transformer_rate(steps: usize) -> f64 {
    let device = Device::Cpu;
    let map = VarMap::new();
    let vb = VarBuilder::from_varmap(&map, DType::F32, &device);
    let tokens = LENGTH.div_ceil(4);
    let cfg = TransformerConfig::paper(tokens, 1, Positions::Rotary);
    let model = Transformer::new(vb, &cfg).unwrap();
    rate(&map, steps, || {
        let ids: Vec<u32> = (0..BATCH * tokens)
            .map(|i| 4 + (i * 7919 % 625) as u32)
            .collect();
        let ids = Tensor::from_vec(ids, (BATCH, tokens), &device).unwrap();
        (model.forward(&ids, true).unwrap(), labels(&device))
    })
}

fn torch_rates(steps: usize) -> Option<(f64, f64)> {
    let python = std::env::var("DNABENCH_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/training_torch.py");
    let out = Command::new(python)
        .arg(script)
        .args(["--threads", "2", "--steps", &steps.to_string()])
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!(
            "training_torch.py failed (is torch installed?):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let value = |name: &str| -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} "))?.trim().parse().ok())
    };
    Some((value("cnn")?, value("transformer")?))
}

fn loader_rate() -> (usize, f64) {
    let dir = tempfile::tempdir().unwrap();
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    let sources = dir.path().join("sources");
    simulate(&data, &sources, 1).unwrap();
    let store = Store::create(&dir.path().join("store")).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        ingest_simulated(&store, &SimulatedFiles { dir: sources })
            .await
            .unwrap();
        let ctx = open_session(&store).await.unwrap();
        for name in ["chromatin"] {
            let task = Task::named(name).unwrap();
            let spec = Materialization::of_task(&task, name, &Default::default()).unwrap();
            materialize(&ctx, &store, &spec).await.unwrap();
        }
    });
    drop(rt);
    let config = LoaderConfig {
        batch_size: BATCH,
        reverse_complement: true,
        ..LoaderConfig::new(
            "chromatin",
            "train",
            &["example_id", "seq", "positive_tracks"],
        )
    };
    let loader = Loader::open(&store, config).unwrap();
    let started = Instant::now();
    let mut rows = 0;
    for epoch in 0..5 {
        for batch in loader.epoch(epoch) {
            rows += batch.unwrap().num_rows();
        }
    }
    (rows, rows as f64 / started.elapsed().as_secs_f64())
}

fn main() {
    dnabench_training::allocator::keep_freed_memory();
    let steps: usize = std::env::var("DNABENCH_BENCH_STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let cnn = cnn_rate(steps);
    let transformer = transformer_rate(steps);
    let torch = torch_rates(steps);
    for (name, ours, theirs) in [
        ("cnn+fc (paper size)", cnn, torch.map(|t| t.0)),
        ("transformer (paper size)", transformer, torch.map(|t| t.1)),
    ] {
        match theirs {
            Some(t) => println!(
                "train {name:<26} {ours:>8.1} examples/s   pytorch cpu {t:>8.1} examples/s   ratio {:.2}",
                ours / t
            ),
            None => println!("train {name:<26} {ours:>8.1} examples/s   (no pytorch baseline)"),
        }
    }
    let (rows, per_s) = loader_rate();
    println!(
        "loader, chromatin 1000 bp, batch {BATCH}, reverse-complement: {rows} examples in 5 epochs, {per_s:.0} examples/s"
    );
}
