//! The loader step of the scale bench, run in a process of its own
//! (`--loader-epoch STORE DATASET LABELS`) so its peak RSS is its own.

use std::path::Path;
use std::time::Instant;

use dnabench_engine::Store;
use dnabench_training::{one_hot, Device, Loader, LoaderConfig};

/// One epoch of a task's train split: (examples, seconds).
pub fn loader_epoch(store: &Path, dataset: &str, labels: &str) {
    let store = Store::open(store).unwrap();
    let mut config = LoaderConfig::new(dataset, "train", &["seq", labels]);
    config.batch_size = 64;
    config.prefetch = 8;
    let started = Instant::now();
    let loader = Loader::open(&store, config).unwrap();
    let opened = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let mut examples = 0;
    // One-hot on the loader's workers, as a training loop would take it.
    let batches = loader.epoch_map(0, |batch| {
        let seqs = dnabench_training::train::batch_sequences(&batch, false)?;
        one_hot(&seqs, &Device::Cpu).map_err(anyhow::Error::from)
    });
    for x in batches {
        examples += x.unwrap().dims()[0];
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{examples} examples in {secs:.1} s after {opened:.1} s to open: {:.0} examples/s",
        examples as f64 / secs
    );
}
