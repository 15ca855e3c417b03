//! `dnabench export`: a dataset's examples with their sequences, cut from
//! the genome by the training loader itself, for readers outside dnabench
//! (pylance, PyTorch, pandas). Streams: memory holds a few batches.

use std::path::PathBuf;

use crate::output::{BatchWriter, OutputFormat};
use anyhow::{bail, Context, Result};
use clap::Args;
use dnabench_engine::Store;
use dnabench_training::loader::{Loader, LoaderConfig};

use crate::StoreArg;

#[derive(Args)]
pub(crate) struct ExportArgs {
    /// The dataset of `examples` (see 'dnabench tasks')
    #[arg(long)]
    dataset: String,
    /// Splits to write, comma-separated
    #[arg(long, default_value = "train,valid,test")]
    split: String,
    /// Move each window by a random shift of up to this many bp, as training does
    #[arg(long, default_value_t = 0)]
    jitter: u32,
    /// Read about half of the windows (drawn from --seed) on the other strand
    #[arg(long)]
    reverse_complement: bool,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// csv, ndjson or parquet
    #[arg(long, default_value = "parquet")]
    format: String,
    /// The file to write (written whole or not at all)
    #[arg(short, long)]
    output: PathBuf,
    #[command(flatten)]
    store: StoreArg,
}

/// Columns of `examples` an export carries, the sequences last.
const COLUMNS: &[&str] = &[
    "example_id",
    "split",
    "chrom",
    "start",
    "end",
    "strand",
    "context",
    "variant_id",
    "pos",
    "ref",
    "alt",
    "label",
    "targets",
    "positive_tracks",
    "seq",
    "alt_seq",
];

pub(crate) fn export(args: ExportArgs) -> Result<()> {
    let format: OutputFormat = args.format.parse()?;
    let store = Store::open(&args.store.store)?;
    let dir = args
        .output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let file = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot write into {}", dir.display()))?;
    let mut writer: Option<BatchWriter<std::io::BufWriter<std::fs::File>>> = None;
    let mut rows = 0;
    for split in args.split.split(',').map(str::trim) {
        let config = LoaderConfig {
            shuffle: false,
            reverse_complement: args.reverse_complement,
            jitter: args.jitter,
            seed: args.seed,
            batch_size: 4096,
            ..LoaderConfig::new(&args.dataset, split, COLUMNS)
        };
        let loader = Loader::open(&store, config)?;
        for batch in loader.epoch(0) {
            let batch = batch?;
            let w = match &mut writer {
                Some(w) => w,
                None => writer.insert(BatchWriter::new(
                    format,
                    std::io::BufWriter::new(file.as_file().try_clone()?),
                    &batch.schema(),
                )?),
            };
            w.write(&batch)?;
            rows += batch.num_rows();
        }
    }
    let Some(writer) = writer else {
        bail!("dataset '{}' has no examples to export", args.dataset);
    };
    writer.finish()?;
    file.persist(&args.output)
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    println!(
        "exported {rows} examples of {} ({}) to {}",
        args.dataset,
        args.split,
        args.output.display()
    );
    Ok(())
}
