//! `dnabench embed`: a trained backbone's features for every example of a
//! dataset, as the paper extracts them for its downstream tasks. A sequence
//! is cut into segments of at most 200 bp (the last one padded with N, which
//! one-hot encodes as zeros), each segment goes through the backbone on its
//! own, and the segment embeddings are concatenated in order. Variant tasks
//! give the reference's segments, then the alternative's.
//!
//! The table written, `embeddings_DATASET` by default, has one row per
//! example: run_id, dataset, example_id, split and `vector`, a fixed-size
//! list of float32 with an IVF vector index for `dnabench similar`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use arrow::array::{ArrayRef, AsArray, FixedSizeListArray, Float32Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use candle_core::Device;
use dnabench_engine::table_writer::TableWriter;
use dnabench_engine::Store;
use lance::index::vector::VectorIndexParams;
use lance::index::DatasetIndexExt;
use lance_index::vector::ivf::IvfBuildParams;
use lance_index::IndexType;
use lance_linalg::distance::MetricType;

use crate::loader::{Loader, LoaderConfig};
use crate::predict::load_predictor;
use crate::runs;
use crate::train::{batch_sequences, progress_bar, Predictor, Progress};

/// The paper's segment length.
pub const SEGMENT_BP: usize = 200;

/// What `dnabench embed` was asked for.
#[derive(Debug, Clone)]
pub struct EmbedRequest {
    /// The backbone: a run trained on any task (the paper uses chromatin).
    pub run_id: String,
    /// The dataset whose examples are embedded.
    pub dataset: String,
    /// The table to write (default `embeddings_DATASET`).
    pub table: Option<String>,
    pub device: Device,
    /// Segments per forward pass.
    pub batch_size: usize,
    pub progress: Progress,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EmbedSummary {
    pub table: String,
    pub rows: usize,
    pub dim: usize,
    pub segments: usize,
    pub segments_per_s: f64,
}

/// The default table of a dataset's embeddings.
pub fn embeddings_table(dataset: &str) -> String {
    format!("embeddings_{dataset}")
}

/// The schema of an embeddings table of `dim` floats a row.
pub fn embeddings_schema(dim: usize) -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("run_id", DataType::Utf8, false),
        Field::new("dataset", DataType::Utf8, false),
        Field::new("example_id", DataType::Utf8, false),
        Field::new("split", DataType::Utf8, false),
        Field::new(
            "vector",
            DataType::FixedSizeList(
                Arc::new(Field::new("item", DataType::Float32, true)),
                dim as i32,
            ),
            false,
        ),
    ]))
}

/// Rows of an embeddings table: `values` holds `dim` floats per id.
pub(crate) fn embedding_batch<I, S>(
    run_id: &str,
    dataset: &str,
    ids: I,
    splits: S,
    dim: usize,
    values: Vec<f32>,
) -> Result<RecordBatch>
where
    I: IntoIterator,
    I::Item: AsRef<str>,
    S: IntoIterator,
    S::Item: AsRef<str>,
{
    let n = values.len() / dim.max(1);
    let vector = FixedSizeListArray::try_new(
        Arc::new(Field::new("item", DataType::Float32, true)),
        dim as i32,
        Arc::new(Float32Array::from(values)),
        None,
    )?;
    let repeat = |s: &str| Arc::new(StringArray::from(vec![s; n])) as ArrayRef;
    Ok(RecordBatch::try_new(
        embeddings_schema(dim),
        vec![
            repeat(run_id),
            repeat(dataset),
            Arc::new(StringArray::from_iter_values(ids)),
            Arc::new(StringArray::from_iter_values(splits)),
            Arc::new(vector),
        ],
    )?)
}

/// `seq` cut into `width` bp segments, the last padded with N.
pub fn segments(seq: &[u8], width: usize) -> Vec<Vec<u8>> {
    seq.chunks(width)
        .map(|c| {
            let mut s = c.to_vec();
            s.resize(width, b'N');
            s
        })
        .collect()
}

/// Each sequence's embedding: its segments' backbone features, concatenated
/// in order. Segments of all sequences share forward passes of `batch`.
pub fn embed_sequences(
    predictor: &Predictor,
    seqs: &[&[u8]],
    width: usize,
    batch: usize,
) -> Result<Vec<Vec<f32>>> {
    let cut: Vec<Vec<Vec<u8>>> = seqs.iter().map(|s| segments(s, width)).collect();
    let all: Vec<&[u8]> = cut.iter().flatten().map(Vec::as_slice).collect();
    let mut features: Vec<Vec<f32>> = Vec::with_capacity(all.len());
    for chunk in all.chunks(batch.max(1)) {
        let x = predictor.encoder.encode(chunk, &predictor.device)?;
        let h = predictor.network.embed(&x)?.flatten_from(1)?;
        features.extend(h.to_vec2::<f32>()?);
    }
    let mut out = Vec::with_capacity(seqs.len());
    let mut next = features.into_iter();
    for pieces in &cut {
        let mut v = Vec::new();
        for _ in pieces {
            v.extend(
                next.next()
                    .context("fewer segment features than segments")?,
            );
        }
        out.push(v);
    }
    Ok(out)
}

pub fn embed(store: &Store, req: &EmbedRequest) -> Result<EmbedSummary> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let config = rt.block_on(runs::read_run(store, &req.run_id))?;
    let table = req
        .table
        .clone()
        .unwrap_or_else(|| embeddings_table(&req.dataset));
    if store.has_table(&table) {
        bail!(
            "table '{table}' exists already; give another --table, or remove {}",
            store.table_path(&table).display()
        );
    }
    let predictor = load_predictor(store, &config, &req.device)?;
    let pair = rt.block_on(dataset_is_pair(store, &req.dataset))?;
    let clock = Instant::now();
    let mut rows = EmbeddingRows::new(&config.run_id, &req.dataset);
    let mut segment_count = 0;
    let mut columns = vec!["example_id", "seq"];
    if pair {
        columns.push("alt_seq");
    }
    for split in ["train", "valid", "test"] {
        let loader = match Loader::open(
            store,
            LoaderConfig {
                batch_size: 16,
                shuffle: false,
                ..LoaderConfig::new(&req.dataset, split, &columns)
            },
        ) {
            Ok(l) => l,
            // A dataset may leave a split empty (few-shot variants).
            Err(e) if e.to_string().contains("has no rows") => continue,
            Err(e) => return Err(e.into()),
        };
        let bar = progress_bar(req.progress, loader.batches_per_epoch() as u64);
        bar.set_prefix(format!("embed {} {split}", req.dataset));
        for batch in loader.epoch(0) {
            let batch = batch?;
            let n = batch.num_rows();
            let seqs = batch_sequences(&batch, pair)?;
            segment_count += seqs
                .iter()
                .map(|s| s.len().div_ceil(SEGMENT_BP))
                .sum::<usize>();
            let vectors = embed_sequences(&predictor, &seqs, SEGMENT_BP, req.batch_size)?;
            let ids = batch
                .column_by_name("example_id")
                .context("batch has no example_id")?
                .as_string::<i32>();
            for i in 0..n {
                let mut v = vectors[i].clone();
                if pair {
                    v.extend_from_slice(&vectors[n + i]);
                }
                rows.push(ids.value(i), split, v)?;
            }
            if rows.values.len() >= FLUSH_VALUES {
                rows.flush(store, &table)?;
            }
            bar.inc(1);
        }
        bar.finish_and_clear();
    }
    let secs = clock.elapsed().as_secs_f64();
    let Some(dim) = rows.dim else {
        bail!(
            "examples has no rows of dataset '{}'; materialize it first",
            req.dataset
        );
    };
    rows.flush(store, &table)?;
    let writer = rows
        .writer
        .context("a vector was embedded, so its batch was written")?;
    let count = writer.rows();
    let mut ds = writer
        .finish()
        .with_context(|| format!("writing {table}"))?;
    rt.block_on(index_vectors(&mut ds, count, dim))
        .with_context(|| format!("indexing {table}"))?;
    Ok(EmbedSummary {
        table,
        rows: count,
        dim,
        segments: segment_count,
        segments_per_s: segment_count as f64 / secs.max(1e-9),
    })
}

/// Floats gathered before a batch goes to the table: 64 MiB, so a dataset of
/// long windows (200 segments a gene) is never held whole.
const FLUSH_VALUES: usize = 16 << 20;

/// Embedded examples not yet handed to the table's writer, and the writer.
struct EmbeddingRows {
    run_id: String,
    dataset: String,
    /// The width of every vector, fixed by the first.
    dim: Option<usize>,
    ids: Vec<String>,
    splits: Vec<&'static str>,
    values: Vec<f32>,
    /// Started at the first batch, once the first vector fixed the width.
    writer: Option<TableWriter>,
}

impl EmbeddingRows {
    fn new(run_id: &str, dataset: &str) -> Self {
        EmbeddingRows {
            run_id: run_id.to_string(),
            dataset: dataset.to_string(),
            dim: None,
            ids: Vec::new(),
            splits: Vec::new(),
            values: Vec::new(),
            writer: None,
        }
    }

    /// Every example must give a vector of the same length (sequences of one
    /// length), or the column cannot be a fixed-size list.
    fn push(&mut self, id: &str, split: &'static str, vector: Vec<f32>) -> Result<()> {
        let dim = *self.dim.get_or_insert(vector.len());
        if vector.len() != dim {
            bail!(
                "example '{id}' of dataset '{}' gives {} features where the first gives {dim}: \
                 its sequence has another length, and embeddings need one length per dataset",
                self.dataset,
                vector.len()
            );
        }
        self.ids.push(id.to_string());
        self.splits.push(split);
        self.values.extend(vector);
        Ok(())
    }

    /// Hands the rows gathered so far to table `table`'s writer.
    fn flush(&mut self, store: &Store, table: &str) -> Result<()> {
        if self.ids.is_empty() {
            return Ok(());
        }
        let batch = self.take_batch()?;
        if self.writer.is_none() {
            let schema = batch.schema();
            self.writer = Some(store.table_writer(table, schema, HashMap::new())?);
        }
        let writer = self.writer.as_mut().expect("started above");
        Ok(writer.write(batch)?)
    }

    /// The rows gathered so far as one batch, leaving none.
    fn take_batch(&mut self) -> Result<RecordBatch> {
        let dim = self.dim.context("no vector yet")?;
        let batch = embedding_batch(
            &self.run_id,
            &self.dataset,
            self.ids.drain(..),
            self.splits.drain(..),
            dim,
            std::mem::take(&mut self.values),
        )?;
        Ok(batch)
    }
}

/// Bytes of vectors the index's k-means may hold at once. Lance trains on
/// up to 256 vectors a partition, which for 12,800-float gene embeddings is
/// every vector of the table, twice over in its working copies.
const IVF_SAMPLE_BYTES: usize = 256 << 20;

/// An IVF index of flat (exact) vectors under L2: about √rows partitions,
/// their centroids trained on a sample of at most [`IVF_SAMPLE_BYTES`].
pub(crate) async fn index_vectors(ds: &mut lance::Dataset, rows: usize, dim: usize) -> Result<()> {
    let partitions = ((rows as f64).sqrt() as usize).clamp(1, 256);
    let mut ivf = IvfBuildParams::new(partitions);
    let per_partition = IVF_SAMPLE_BYTES / (partitions * dim.max(1) * 4);
    ivf.sample_rate = ivf.sample_rate.min(per_partition.max(16));
    let params = VectorIndexParams::with_ivf_flat_params(MetricType::L2, ivf);
    ds.create_index(&["vector"], IndexType::Vector, None, &params, true)
        .await?;
    Ok(())
}

/// Whether a dataset's examples carry a variant (the variant tasks), so an
/// `alt_seq` is cut beside `seq`.
async fn dataset_is_pair(store: &Store, dataset: &str) -> Result<bool> {
    let ds = store.dataset("examples").await?;
    let filter = format!(
        "dataset = '{}' AND alt IS NOT NULL",
        dataset.replace('\'', "''")
    );
    Ok(ds.count_rows(Some(filter)).await? > 0)
}

#[cfg(test)]
mod tests {
    use candle_core::DType;
    use candle_nn::{VarBuilder, VarMap};
    use rand::{Rng, SeedableRng};

    use super::*;
    use crate::models::{CnnConfig, CnnFc};
    use crate::network::{Encoder, Network};

    fn predictor() -> Predictor {
        let map = VarMap::new();
        let cfg = CnnConfig {
            global_pool: true,
            ..CnnConfig::plain(SEGMENT_BP, vec![8], vec![9], 2)
        };
        let vb = VarBuilder::from_varmap(&map, DType::F32, &Device::Cpu);
        Predictor {
            network: Network::Cnn(CnnFc::new(vb, &cfg).unwrap()),
            encoder: Encoder::OneHot,
            pair: false,
            device: Device::Cpu,
        }
    }

    #[test]
    fn a_long_window_embeds_as_its_segments_concatenated() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let window: Vec<u8> = (0..40_000)
            .map(|_| b"ACGT"[rng.random_range(0..4)])
            .collect();
        let p = predictor();
        // The 40 kb window among others, in one call with small batches.
        let other = &window[..1000];
        let both = embed_sequences(&p, &[other, &window], SEGMENT_BP, 37).unwrap();
        assert_eq!(both[1].len(), 200 * 8, "200 segments of 8 features");
        let mut concatenated = Vec::new();
        for segment in window.chunks(SEGMENT_BP) {
            let one = embed_sequences(&p, &[segment], SEGMENT_BP, 1).unwrap();
            assert_eq!(one[0].len(), 8);
            concatenated.extend_from_slice(&one[0]);
        }
        // Equal up to float rounding: a batch's sequences share a gemm, in
        // an order that depends on the batch.
        let close = |a: &[f32], b: &[f32]| {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-5)
        };
        assert!(close(&both[1], &concatenated));
        assert!(close(&both[0], &concatenated[..5 * 8]));
    }

    #[test]
    fn segments_cover_the_sequence_in_order_and_pad_the_last_with_n() {
        let s = segments(b"ACGTACGTAC", 4);
        assert_eq!(
            s,
            vec![b"ACGT".to_vec(), b"ACGT".to_vec(), b"ACNN".to_vec()]
        );
        assert_eq!(segments(b"ACGT", 4).len(), 1);
    }
}
