//! Training rate, one run: the paper-size CNN+FC, Transformer (500 bp,
//! patch 4) and DanQ's CNN+LSTM (batch 64, AdamW, clipping 1) on random
//! data, examples/s, next to the same architectures in PyTorch on CPU
//! (`training_torch.py`, run by this bench with `$DNABENCH_PYTHON`, default
//! `python3`, at `$DNABENCH_BENCH_THREADS` threads, default 2; skipped if
//! torch is missing), and the share of a step each dnabench op's kernels
//! take. Then the loader alone: examples/s of batches read from the
//! simulated chromatin dataset, to show it is not what training waits on.
//!
//! Run: `cargo bench --profile dev --bench training`
//! (`DNABENCH_BENCH_STEPS`, default 3, sets the timed steps per model.)

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use dnabench_engine::materialize::{materialize, Materialization};
use dnabench_engine::{open_session, Store};
use dnabench_queries::Task;
use dnabench_simulate::{ingest_simulated, simulate, SimulatedFiles};
use dnabench_training::losses::bce_with_logits;
use dnabench_training::models::{
    CnnConfig, CnnFc, CnnLstm, CnnLstmConfig, Positions, Transformer, TransformerConfig,
};
use dnabench_training::ops;
use dnabench_training::optim::Optim;
use dnabench_training::{Loader, LoaderConfig};

const BATCH: usize = 64;
const LENGTH: usize = 500;

/// Examples/s of `steps` optimizer steps after one untimed one, and each
/// op's share of those steps' time.
fn rate(
    map: &VarMap,
    steps: usize,
    forward: impl Fn() -> (Tensor, Tensor),
) -> (f64, Vec<(&'static str, f64)>) {
    let mut optim = Optim::new(map.all_vars(), 1e-4, 0.01, 0, steps + 1, 1.0).unwrap();
    let mut step = || {
        let (logits, y) = forward();
        optim
            .backward_step(&bce_with_logits(&logits, &y).unwrap())
            .unwrap();
    };
    step();
    ops::reset_op_times();
    let started = Instant::now();
    for _ in 0..steps {
        step();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let shares = ops::op_times()
        .into_iter()
        .map(|(op, f, b)| (op, (f + b).as_secs_f64() / elapsed))
        .filter(|(_, share)| *share > 0.0)
        .collect();
    ((BATCH * steps) as f64 / elapsed, shares)
}

fn labels(device: &Device) -> Tensor {
    Tensor::rand(0f32, 1f32, (BATCH, 1), device)
        .unwrap()
        .round()
        .unwrap()
}

type Rate = (f64, Vec<(&'static str, f64)>);
/// A model's key in `training_torch.py`'s output, its name, its run.
type Model = (&'static str, &'static str, fn(usize) -> Rate);

fn one_hot_batch(device: &Device) -> Tensor {
    let bases: Vec<u8> = (0..BATCH * LENGTH)
        .map(|i| b"ACGT"[(i * 7919 + i / 13) % 4])
        .collect();
    let seqs: Vec<&[u8]> = bases.chunks(LENGTH).collect();
    dnabench_training::one_hot(&seqs, device).unwrap()
}

fn cnn_rate(steps: usize) -> Rate {
    let device = Device::Cpu;
    let map = VarMap::new();
    let vb = VarBuilder::from_varmap(&map, DType::F32, &device);
    let model = CnnFc::new(vb, &CnnConfig::paper(LENGTH, 1)).unwrap();
    rate(&map, steps, || {
        let x = one_hot_batch(&device);
        (model.forward(&x, true).unwrap(), labels(&device))
    })
}

fn cnn_lstm_rate(steps: usize) -> Rate {
    let device = Device::Cpu;
    let map = VarMap::new();
    let vb = VarBuilder::from_varmap(&map, DType::F32, &device);
    let model = CnnLstm::new(vb, &CnnLstmConfig::danq(LENGTH, 1)).unwrap();
    rate(&map, steps, || {
        let x = one_hot_batch(&device);
        (model.forward(&x, true).unwrap(), labels(&device))
    })
}

fn transformer_rate(steps: usize) -> Rate {
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

/// PyTorch's examples/s of each model, by name.
fn torch_rates(steps: usize) -> Option<Vec<(String, f64)>> {
    let python = std::env::var("DNABENCH_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/training_torch.py");
    let out = Command::new(python)
        .arg(script)
        .args([
            "--threads",
            &threads().to_string(),
            "--steps",
            &steps.to_string(),
        ])
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
    Some(
        text.lines()
            .filter_map(|l| {
                let (name, value) = l.split_once(' ')?;
                Some((name.to_string(), value.trim().parse().ok()?))
            })
            .collect(),
    )
}

fn threads() -> usize {
    std::env::var("DNABENCH_BENCH_THREADS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2)
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
    ops::load_blas();
    let steps: usize = std::env::var("DNABENCH_BENCH_STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    // candle's kernels and ours share rayon's pool; PyTorch gets as many.
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads())
        .build_global()
        .ok();
    let models: [Model; 3] = [
        ("cnn", "cnn+fc (paper size)", cnn_rate),
        ("transformer", "transformer (paper size)", transformer_rate),
        ("cnn_lstm", "cnn+lstm (danq size)", cnn_lstm_rate),
    ];
    // DNABENCH_BENCH_MODELS=cnn,transformer runs only those (for profiling).
    let only = std::env::var("DNABENCH_BENCH_MODELS").ok();
    let models: Vec<_> = models
        .into_iter()
        .filter(|(key, _, _)| {
            only.as_ref()
                .is_none_or(|o| o.split(',').any(|m| m == *key))
        })
        .collect();
    println!(
        "dnabench gemms: {}, {} threads",
        ops::gemm_backend(),
        threads()
    );
    let ours: Vec<Rate> = models.iter().map(|(_, _, run)| run(steps)).collect();
    let torch = torch_rates(steps);
    for ((key, name, _), (rate, shares)) in models.iter().zip(&ours) {
        let theirs = torch
            .as_ref()
            .and_then(|t| t.iter().find(|(k, _)| k == key).map(|(_, v)| *v));
        match theirs {
            Some(t) => println!(
                "train {name:<26} {rate:>8.1} examples/s   pytorch cpu {t:>8.1} examples/s   ratio {:.2}",
                rate / t
            ),
            None => println!("train {name:<26} {rate:>8.1} examples/s   (no pytorch baseline)"),
        }
        let rest = 1.0 - shares.iter().map(|(_, share)| share).sum::<f64>();
        let shares: Vec<String> = shares
            .iter()
            .map(|(op, share)| format!("{op} {:.0}%", 100.0 * share))
            .collect();
        println!(
            "      share of a step: {}, the rest (matmuls, elementwise ops, optimizer) {:.0}%",
            shares.join(", "),
            100.0 * rest
        );
    }
    if only.is_some() {
        return;
    }
    let (rows, per_s) = loader_rate();
    println!(
        "loader, chromatin 1000 bp, batch {BATCH}, reverse-complement: {rows} examples in 5 epochs, {per_s:.0} examples/s"
    );
}
