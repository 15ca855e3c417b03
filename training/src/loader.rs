//! The streaming loader: batches of one split of one dataset of `examples`,
//! shuffled each epoch over the whole split, so memory holds the row ids
//! plus a shuffle window whatever the table's size.
//!
//! A random take of 64 rows scattered over a table of millions touches 64
//! pages; at genome scale that, not the model, would bound the loader. So
//! an epoch shuffles *blocks* of `shuffle_block` consecutive rows over the
//! whole split, reads `shuffle_window` rows (many blocks from all over the
//! genome) in one sorted take, and shuffles the rows inside that window
//! before cutting it into batches: every batch mixes rows of many places,
//! as a full shuffle would, at the cost of a few large reads.
//!
//! Reads run on a background runtime (`threads` workers, a window read
//! ahead, batches cut and encoded on every worker, up to `prefetch` batches
//! waiting) while the caller trains;
//! batches come out in the epoch's order, and every example of the split is
//! in exactly one batch per epoch.
//!
//! `examples` holds windows, not bases: `seq` and `alt_seq` are cut from the
//! store's genome (held once, packed) as each batch is read, with the
//! window moved by a random shift of up to `jitter` bp and, with
//! `reverse_complement`, half of the examples (chosen per epoch from the
//! seed) read on the other strand.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, UInt64Array};
use arrow::datatypes::{Field, Schema};
use dnabench_engine::genome::{window_sequences, Genome, WindowDraw};
use dnabench_engine::hash::hash_uniform;
use dnabench_engine::{Error, Result, Store};

use crate::shard::Shard;
use futures::{StreamExt, TryStreamExt};
use lance::dataset::ProjectionRequest;
use lance::Dataset;

/// What to read and how.
#[derive(Debug, Clone)]
pub struct LoaderConfig {
    pub dataset: String,
    pub split: String,
    /// Columns of `examples` each batch carries.
    pub columns: Vec<String>,
    pub batch_size: usize,
    pub shuffle: bool,
    pub reverse_complement: bool,
    /// Windows move by a random shift in `[-jitter, jitter]` bp, drawn per
    /// example and epoch; a variant stays inside its window.
    pub jitter: u32,
    pub seed: u64,
    /// Batches read ahead of the one being trained on.
    pub prefetch: usize,
    /// Consecutive rows that move together when an epoch is shuffled.
    pub shuffle_block: usize,
    /// Rows read at once and shuffled among themselves (rounded to whole batches).
    pub shuffle_window: usize,
    /// Worker threads of the background runtime.
    pub threads: usize,
    /// Data-parallel training: this process reads shard `rank` of
    /// `world_size` ([`Shard`]); none reads the whole split.
    pub shard: Option<Shard>,
}

impl LoaderConfig {
    pub fn new(dataset: &str, split: &str, columns: &[&str]) -> Self {
        LoaderConfig {
            dataset: dataset.to_string(),
            split: split.to_string(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            batch_size: 64,
            shuffle: true,
            reverse_complement: false,
            jitter: 0,
            seed: 0,
            prefetch: 4,
            shuffle_block: 64,
            shuffle_window: 16_384,
            threads: 2,
            shard: None,
        }
    }
}

/// A split of a dataset, ready to be read epoch after epoch.
pub struct Loader {
    config: LoaderConfig,
    dataset: Arc<Dataset>,
    row_ids: Vec<u64>,
    /// The columns read from the table: those asked for, less the
    /// sequences, plus what cutting them needs.
    projection: ProjectionRequest,
    /// The genome, when `seq` or `alt_seq` is asked for.
    genome: Option<Arc<Genome>>,
    runtime: Arc<tokio::runtime::Runtime>,
}

/// Columns cut from the genome rather than read.
const CUT: [&str; 2] = ["seq", "alt_seq"];

impl Loader {
    /// Finds the rows of the split (their ids only) in `store`'s `examples`.
    pub fn open(store: &Store, config: LoaderConfig) -> Result<Loader> {
        let runtime = Arc::new(
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(config.threads.max(1))
                .thread_name("dnabench-loader")
                .enable_all()
                .build()?,
        );
        let (dataset, row_ids, projection, genome) = runtime.block_on(async {
            let dataset = store.dataset("examples").await?;
            let schema = dataset.schema();
            for c in &config.columns {
                if schema.field(c).is_none() {
                    return Err(Error::Invalid(format!(
                        "examples has no column '{c}' to load"
                    )));
                }
            }
            let mut read: Vec<&str> = config
                .columns
                .iter()
                .map(String::as_str)
                .filter(|c| !CUT.contains(c))
                .collect();
            let mut genome = None;
            if config.columns.iter().any(|c| CUT.contains(&c.as_str())) {
                read.extend(["chrom", "start", "end", "strand"]);
                if config.columns.iter().any(|c| c == "alt_seq") {
                    read.extend(["pos", "ref", "alt"]);
                }
                genome = Some(Genome::shared(store).await?.ok_or_else(|| {
                    Error::store(
                        store.root(),
                        "has no genome to cut the examples' sequences from; ingest one with 'dnabench ingest genome FILE'",
                    )
                })?);
            }
            read.sort_unstable();
            read.dedup();
            let filter = format!(
                "dataset = '{}' AND split = '{}'",
                config.dataset.replace('\'', "''"),
                config.split.replace('\'', "''")
            );
            // Row ids alone: the filter's two columns are all the scan reads
            // (and the example ids, to find a shard's rows).
            let shard = config.shard.filter(|s| s.world_size > 1);
            let mut scan = dataset.scan();
            scan.filter(&filter)?.with_row_id();
            match shard {
                Some(_) => scan.project(&["example_id"])?,
                None => scan.project::<&str>(&[])?,
            };
            let mut stream = scan.try_into_stream().await?;
            let mut ids = Vec::new();
            while let Some(b) = stream.try_next().await? {
                let column = b
                    .column_by_name("_rowid")
                    .ok_or_else(|| Error::Invalid("the scan gave no _rowid".into()))?;
                let column: &UInt64Array = column.as_primitive();
                match shard {
                    None => ids.extend(column.values().iter().copied()),
                    Some(shard) => {
                        let examples = b
                            .column_by_name("example_id")
                            .ok_or_else(|| Error::Invalid("the scan gave no example_id".into()))?;
                        let examples =
                            arrow::compute::cast(examples, &arrow::datatypes::DataType::Utf8)?;
                        let examples = examples.as_string::<i32>();
                        ids.extend(
                            (0..b.num_rows())
                                .filter(|&i| shard.holds(examples.value(i), config.seed))
                                .map(|i| column.value(i)),
                        );
                    }
                }
            }

            // A task whose windows are all forward (chromatin's '+') stores
            // `strand` as one constant page, and Lance takes rows from the
            // middle of such a page by stepping through it from its start,
            // which at genome scale costs more than all the rest of an
            // epoch. A split with no reverse-strand row does not read the
            // column (a filter on it reads it in order, once).
            if read.contains(&"strand") && !config.columns.iter().any(|c| c == "strand") {
                let mut reverse = dataset.scan();
                reverse
                    .filter(&format!("{filter} AND strand = '-'"))?
                    .project::<&str>(&[])?
                    .with_row_id()
                    .limit(Some(1), None)?;
                let found: Vec<RecordBatch> =
                    reverse.try_into_stream().await?.try_collect().await?;
                if found.iter().all(|b| b.num_rows() == 0) {
                    read.retain(|c| *c != "strand");
                }
            }
            let projection = ProjectionRequest::from_schema(
                schema
                    .project(&read)
                    .map_err(|e| Error::Invalid(e.to_string()))?,
            );
            Ok((Arc::new(dataset), ids, projection, genome))
        })?;
        if row_ids.is_empty() {
            return Err(Error::Invalid(format!(
                "examples has no rows of dataset '{}' in split '{}'; materialize the task first",
                config.dataset, config.split
            )));
        }
        Ok(Loader {
            config,
            dataset,
            row_ids,
            projection,
            genome,
            runtime,
        })
    }

    /// Examples in the split.
    pub fn len(&self) -> usize {
        self.row_ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.row_ids.is_empty()
    }

    /// Batches per epoch.
    pub fn batches_per_epoch(&self) -> usize {
        self.row_ids.len().div_ceil(self.config.batch_size.max(1))
    }

    /// Rows read and shuffled together: whole batches.
    fn window_rows(&self) -> usize {
        let batch = self.config.batch_size.max(1);
        self.config.shuffle_window.max(batch).div_ceil(batch) * batch
    }

    /// The row ids of `epoch` in the order they will be read: blocks in a
    /// random order over the whole split, rows in a random order inside
    /// each window.
    pub fn epoch_order(&self, epoch: u64) -> Vec<u64> {
        if !self.config.shuffle {
            return self.row_ids.clone();
        }
        let seed = self.config.seed.wrapping_mul(1_000_003).wrapping_add(epoch) as i64;
        let block = self.config.shuffle_block.max(1);
        let mut blocks: Vec<(f64, &[u64])> = self
            .row_ids
            .chunks(block)
            .map(|b| (hash_uniform(&b[0].to_le_bytes(), seed), b))
            .collect();
        blocks.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1[0].cmp(&b.1[0])));
        let mut order: Vec<u64> = blocks
            .into_iter()
            .flat_map(|(_, b)| b.iter().copied())
            .collect();
        for window in order.chunks_mut(self.window_rows()) {
            window.sort_by_cached_key(|&id| {
                (
                    hash_uniform(&id.to_le_bytes(), seed ^ 0x5bd1_e995).to_bits(),
                    id,
                )
            });
        }
        order
    }

    /// The batches of one epoch, read ahead on the background runtime.
    pub fn epoch(&self, epoch: u64) -> EpochBatches<RecordBatch> {
        self.epoch_map(epoch, Ok)
    }

    /// The batches of one epoch, each passed through `encode` (into a
    /// model's arrays, say) on the background runtime: batches are cut and
    /// encoded on `threads` workers at once, so the caller's thread only
    /// trains, and they still come out in the epoch's order.
    pub fn epoch_map<T, E, F>(&self, epoch: u64, encode: F) -> EpochBatches<T, E>
    where
        T: Send + 'static,
        E: From<Error> + Send + 'static,
        F: Fn(RecordBatch) -> std::result::Result<T, E> + Send + Sync + 'static,
    {
        let order = self.epoch_order(epoch);
        let windows: Vec<Vec<u64>> = order
            .chunks(self.window_rows())
            .map(<[u64]>::to_vec)
            .collect();
        let (sender, receiver) = tokio::sync::mpsc::channel(self.config.prefetch.max(1));
        let dataset = self.dataset.clone();
        let projection = self.projection.clone();
        let config = Arc::new(self.config.clone());
        let genome = self.genome.clone();
        let encode = Arc::new(encode);
        self.runtime.spawn(async move {
            // One window read ahead while the last one's batches are sent.
            let mut reads = futures::stream::iter(windows)
                .map(|ids| {
                    let (dataset, projection) = (dataset.clone(), projection.clone());
                    tokio::spawn(async move {
                        let mut sorted = ids.clone();
                        sorted.sort_unstable();
                        let rows = dataset.take_rows(&sorted, projection).await?;
                        Ok::<_, Error>((ids, sorted, rows))
                    })
                })
                .buffered(2);
            while let Some(joined) = reads.next().await {
                let read = match joined {
                    Ok(read) => read,
                    Err(e) => Err(Error::Invalid(format!("a loader task failed: {e}"))),
                };
                let (ids, sorted, rows) = match read {
                    Ok(read) => (read.0, Arc::new(read.1), Arc::new(read.2)),
                    Err(e) => {
                        let _ = sender.send(Err(E::from(e))).await;
                        return;
                    }
                };
                let chunks: Vec<Vec<u64>> = ids
                    .chunks(config.batch_size.max(1))
                    .map(<[u64]>::to_vec)
                    .collect();
                let batches = chunks.into_iter().map(|batch_ids| {
                    let (rows, sorted) = (rows.clone(), sorted.clone());
                    let (config, genome, encode) = (config.clone(), genome.clone(), encode.clone());
                    tokio::spawn(async move {
                        let batch = window_batch(&rows, &sorted, &batch_ids).and_then(|b| {
                            finish_batch(&b, &batch_ids, &config, epoch, genome.as_deref())
                        })?;
                        encode(batch)
                    })
                });
                let mut batches = futures::stream::iter(batches).buffered(config.threads.max(1));
                while let Some(joined) = batches.next().await {
                    let batch = joined.unwrap_or_else(|e| {
                        Err(E::from(Error::Invalid(format!(
                            "a loader task failed: {e}"
                        ))))
                    });
                    if sender.send(batch).await.is_err() {
                        return; // the epoch was dropped
                    }
                }
            }
        });
        EpochBatches { receiver }
    }
}

/// The rows `ids` of a window read in `sorted` order, in the order of `ids`.
fn window_batch(rows: &RecordBatch, sorted: &[u64], ids: &[u64]) -> Result<RecordBatch> {
    let indices: arrow::array::UInt32Array = ids
        .iter()
        .map(|id| sorted.binary_search(id).map(|i| i as u32).ok())
        .collect();
    Ok(arrow::compute::take_record_batch(rows, &indices)?)
}

/// The batches of one epoch, in order; blocking, for a training loop.
pub struct EpochBatches<T, E = Error> {
    receiver: tokio::sync::mpsc::Receiver<std::result::Result<T, E>>,
}

impl<T, E> Iterator for EpochBatches<T, E> {
    type Item = std::result::Result<T, E>;

    fn next(&mut self) -> Option<Self::Item> {
        self.receiver.blocking_recv()
    }
}

/// The columns asked for, in their order: those read as they are, `seq`
/// and `alt_seq` cut from the genome with this epoch's shifts and flips.
fn finish_batch(
    batch: &RecordBatch,
    ids: &[u64],
    config: &LoaderConfig,
    epoch: u64,
    genome: Option<&Genome>,
) -> Result<RecordBatch> {
    let (mut seq, mut alt_seq) = (None, None);
    if let Some(genome) = genome {
        let draw_key = |id: u64, what: u8| {
            let mut k = id.to_le_bytes().to_vec();
            k.extend(epoch.to_le_bytes());
            k.push(what);
            hash_uniform(&k, config.seed as i64)
        };
        // Drawn only when asked for: two hashes a row on every batch otherwise.
        let flips: Option<Vec<bool>> = config
            .reverse_complement
            .then(|| ids.iter().map(|&id| draw_key(id, 0) < 0.5).collect());
        let jitter = i64::from(config.jitter);
        let shifts: Option<Vec<i64>> = (jitter > 0).then(|| {
            ids.iter()
                .map(|&id| {
                    ((draw_key(id, 1) * (2 * jitter + 1) as f64) as i64).min(2 * jitter) - jitter
                })
                .collect()
        });
        let draw = WindowDraw {
            shifts: shifts.as_deref(),
            flips: flips.as_deref(),
        };
        let alt = config.columns.iter().any(|c| c == "alt_seq");
        let (reference, alternative) = window_sequences(genome, batch, draw, alt)?;
        (seq, alt_seq) = (Some(reference), alternative);
    }
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for name in &config.columns {
        let column = match name.as_str() {
            "seq" => seq.clone(),
            "alt_seq" => alt_seq.clone(),
            _ => batch.column_by_name(name).cloned(),
        }
        .ok_or_else(|| Error::Invalid(format!("the loaded batch has no column '{name}'")))?;
        fields.push(Field::new(name, column.data_type().clone(), true));
        columns.push(column);
    }
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use arrow::array::{Float32Array, Int64Array, StringArray};
    use dnabench_schemas::examples_schema;

    use super::*;

    /// A store whose `examples` holds `n` train and 10 valid rows of dataset
    /// `d`; even rows are the window AACG of its genome, odd rows ATTT.
    fn store_with_examples(dir: &std::path::Path, n: usize) -> Store {
        let store = Store::create(&dir.join("store")).unwrap();
        let fasta = dir.join("genome.fa");
        std::fs::write(&fasta, ">chr1\nAACGATTTGGGG\n").unwrap();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime
            .block_on(dnabench_engine::ingest::ingest_genome(&store, &fasta))
            .unwrap();
        let schema = examples_schema();
        let rows = n + 10;
        let id = |i: usize| format!("ex{i}");
        let columns: Vec<ArrayRef> = schema
            .fields()
            .iter()
            .map(|f| -> ArrayRef {
                match f.name().as_str() {
                    "dataset" => Arc::new(StringArray::from(vec!["d"; rows])),
                    "task" => Arc::new(StringArray::from(vec!["t"; rows])),
                    "example_id" => Arc::new(StringArray::from_iter_values((0..rows).map(id))),
                    "split" => Arc::new(StringArray::from_iter_values((0..rows).map(|i| {
                        if i < n {
                            "train"
                        } else {
                            "valid"
                        }
                    }))),
                    "chrom" => Arc::new(StringArray::from(vec!["chr1"; rows])),
                    "start" => Arc::new(Int64Array::from_iter_values(
                        (0..rows).map(|i| 4 * (i % 2) as i64),
                    )),
                    "end" => Arc::new(Int64Array::from_iter_values(
                        (0..rows).map(|i| 4 * (i % 2) as i64 + 4),
                    )),
                    "label" => {
                        Arc::new(Float32Array::from_iter_values((0..rows).map(|i| i as f32)))
                    }
                    _ => arrow::array::new_null_array(f.data_type(), rows),
                }
            })
            .collect();
        let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
        runtime
            .block_on(store.append("examples", schema, vec![batch]))
            .unwrap();
        store
    }

    fn ids_of(batch: &RecordBatch) -> Vec<String> {
        let ids = batch
            .column_by_name("example_id")
            .unwrap()
            .as_string::<i32>();
        (0..ids.len()).map(|i| ids.value(i).to_string()).collect()
    }

    #[test]
    fn every_example_once_per_epoch_for_any_batch_size_and_thread_count() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with_examples(dir.path(), 250);
        let want: BTreeSet<String> = (0..250).map(|i| format!("ex{i}")).collect();
        for batch_size in [1, 7, 64, 250, 1000] {
            for threads in [1, 3] {
                let mut config = LoaderConfig::new("d", "train", &["example_id", "seq", "label"]);
                config.batch_size = batch_size;
                config.threads = threads;
                config.prefetch = threads * 2;
                let loader = Loader::open(&store, config).unwrap();
                assert_eq!(loader.len(), 250);
                let mut orders = Vec::new();
                for epoch in 0..2 {
                    let batches: Vec<RecordBatch> =
                        loader.epoch(epoch).collect::<Result<_>>().unwrap();
                    assert_eq!(batches.len(), loader.batches_per_epoch());
                    assert!(batches.iter().all(|b| b.num_rows() <= batch_size));
                    let seen: Vec<String> = batches.iter().flat_map(ids_of).collect();
                    assert_eq!(seen.len(), 250, "batch {batch_size}, threads {threads}");
                    assert_eq!(seen.iter().cloned().collect::<BTreeSet<_>>(), want);
                    orders.push(seen);
                }
                assert_ne!(orders[0], orders[1], "epochs are shuffled differently");
            }
        }
    }

    #[test]
    fn a_shuffled_batch_mixes_rows_of_many_blocks_from_all_over_the_split() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with_examples(dir.path(), 2000);
        let mut config = LoaderConfig::new("d", "train", &["example_id"]);
        config.batch_size = 16;
        config.shuffle_block = 8;
        config.shuffle_window = 400;
        let loader = Loader::open(&store, config).unwrap();
        let mut spread = Vec::new();
        for batch in loader.epoch(0) {
            let ids: Vec<usize> = ids_of(&batch.unwrap())
                .iter()
                .map(|id| id[2..].parse().unwrap())
                .collect();
            let blocks: BTreeSet<usize> = ids.iter().map(|i| i / 8).collect();
            assert!(
                blocks.len() >= 6,
                "a batch of 16 from {} blocks",
                blocks.len()
            );
            spread.push(ids.iter().max().unwrap() - ids.iter().min().unwrap());
        }
        // A batch spans far more of the split than one window of 400 rows.
        spread.sort_unstable();
        assert!(spread[spread.len() / 2] > 1000, "{spread:?}");
    }

    #[test]
    fn reverse_complement_flips_about_half_and_keeps_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with_examples(dir.path(), 400);
        let mut config = LoaderConfig::new("d", "train", &["example_id", "seq"]);
        config.reverse_complement = true;
        let loader = Loader::open(&store, config).unwrap();
        let mut flipped = 0;
        for batch in loader.epoch(0) {
            let batch = batch.unwrap();
            let seqs = batch.column_by_name("seq").unwrap().as_string::<i32>();
            for (i, id) in ids_of(&batch).iter().enumerate() {
                let n: usize = id[2..].parse().unwrap();
                let (forward, reverse) = if n.is_multiple_of(2) {
                    ("AACG", "CGTT")
                } else {
                    ("ATTT", "AAAT")
                };
                match seqs.value(i) {
                    s if s == reverse => flipped += 1,
                    s => assert_eq!(s, forward),
                }
            }
        }
        assert!((120..280).contains(&flipped), "{flipped}");
    }

    #[test]
    fn a_missing_split_or_column_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with_examples(dir.path(), 5);
        let err = Loader::open(&store, LoaderConfig::new("d", "test", &["seq"]))
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("no rows of dataset 'd' in split 'test'"),
            "{err}"
        );
        let err = Loader::open(&store, LoaderConfig::new("d", "train", &["sequence"]))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("no column 'sequence'"), "{err}");
    }
}
