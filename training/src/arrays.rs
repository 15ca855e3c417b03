//! Batches of examples as the flat arrays a model reads, for frameworks
//! outside candle: the Python package hands them to PyTorch through the
//! Arrow C data interface, so no value passes through a Python object.
//!
//! Each batch of [`ArrayLoader::epoch`] has these columns:
//!
//! | column | type | what |
//! | --- | --- | --- |
//! | `example_id` | Utf8 | the example |
//! | `x` | FixedSizeList<Float32, 4 × length> | one-hot, channel-major (`(4, length)` per example, the CNNs' layout) |
//! | `x` | FixedSizeList<Int64, tokens> | or token ids without specials, padded with `Pad` (0) to the most tokens a window gives |
//! | `x_alt` | as `x` | the alternative sequence (causal_snp, mpra) |
//! | `y` | FixedSizeList<Float32, outputs> | the task head's targets ([`Head::targets`]) |
//! | `mask` | FixedSizeList<Float32, outputs> | 0 where a target is NULL |
//!
//! With `compact`, what a training loop can expand on its own device:
//!
//! | column | type | what |
//! | --- | --- | --- |
//! | `x`, `x_alt` | FixedSizeList<UInt8, length> | base codes A 0, C 1, G 2, T 3, anything else 4 (one-hot input only) |
//! | `y` | List<Int32> | a multi-label head's positive outputs; no `mask` (every label is known) |
//!
//! Other heads keep `y` and `mask` as above; token ids stay as they are.
//!
//! The batches are those of the training [`Loader`]: the same shuffle,
//! jitter and reverse complement for the same seed.
//!
//! [`RunModel`] goes the other way: a finished run's network over inputs in
//! the `x` layout, so another framework's model can be checked against
//! candle's on the same weights.

use std::sync::Arc;

use anyhow::{Context, Result};
use arrow::array::{
    Array, ArrayRef, FixedSizeListArray, Float32Array, Int64Array, RecordBatch, StringArray,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use dnabench_engine::genome::encode::base_codes_into;
use dnabench_engine::Store;

use crate::config::{TokenizerKind, TrainConfig};
use crate::heads::Head;
use crate::network::Encoder;
use crate::predict::load_predictor;
use crate::runs::read_run;
use crate::tokenizers::one_hot::one_hot_values;
use crate::train::Predictor;
use crate::train::{batch_sequences, bpe_for_run, DatasetInfo};
use crate::{Loader, LoaderConfig};

/// What an [`ArrayLoader`] reads and how.
#[derive(Debug, Clone)]
pub struct ArrayLoaderConfig {
    pub dataset: String,
    pub split: String,
    pub batch_size: usize,
    pub tokenizer: TokenizerKind,
    pub jitter: u32,
    pub reverse_complement: bool,
    pub shuffle: bool,
    pub seed: u64,
    /// Base codes for one-hot input and positive-output lists for a
    /// multi-label head, instead of float32 (see the module's tables).
    pub compact: bool,
    /// This process's part of the split in data-parallel training.
    pub shard: Option<crate::shard::Shard>,
}

/// A split of a dataset as batches of model input and targets.
pub struct ArrayLoader {
    loader: Loader,
    encoding: Encoding,
}

/// How a batch of examples becomes arrays; cloned into each epoch's reader.
#[derive(Clone)]
struct Encoding {
    encoder: Encoder,
    head: Head,
    pair: bool,
    length: usize,
    compact: bool,
    schema: SchemaRef,
}

impl ArrayLoader {
    pub fn open(store: &Store, config: ArrayLoaderConfig) -> Result<ArrayLoader> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let info = rt.block_on(DatasetInfo::read(store, &config.dataset))?;
        let head = Head::for_task(&info.task, info.tracks.clone(), info.samples, false)?;
        let pair = Head::is_pair(&info.task);
        let bpe = match config.tokenizer {
            TokenizerKind::Bpe => {
                Some(rt.block_on(bpe_for_run(store, None, TrainConfig::default().bpe_vocab))?)
            }
            _ => None,
        };
        let encoder = Encoder::new(config.tokenizer, bpe)?;
        let mut columns = vec!["example_id", "seq", head.label_column()];
        if pair {
            columns.push("alt_seq");
        }
        let mut loader_config = LoaderConfig::new(&config.dataset, &config.split, &columns);
        loader_config.batch_size = config.batch_size.max(1);
        loader_config.jitter = config.jitter;
        loader_config.reverse_complement = config.reverse_complement;
        loader_config.shuffle = config.shuffle;
        loader_config.seed = config.seed;
        loader_config.shard = config.shard;
        let loader = Loader::open(store, loader_config)
            .with_context(|| format!("opening split '{}' of '{}'", config.split, config.dataset))?;
        let schema = schema(&encoder, &head, info.length, pair, config.compact);
        Ok(ArrayLoader {
            loader,
            encoding: Encoding {
                encoder,
                head,
                pair,
                length: info.length,
                compact: config.compact,
                schema,
            },
        })
    }

    pub fn schema(&self) -> SchemaRef {
        self.encoding.schema.clone()
    }

    /// Examples in the split.
    pub fn len(&self) -> usize {
        self.loader.len()
    }

    pub fn is_empty(&self) -> bool {
        self.loader.is_empty()
    }

    pub fn batches_per_epoch(&self) -> usize {
        self.loader.batches_per_epoch()
    }

    /// The window length in bp, and the head's outputs.
    pub fn shape(&self) -> (usize, usize) {
        (self.encoding.length, self.encoding.head.outputs())
    }

    /// The batches of `epoch`, encoded as they arrive from the loader.
    pub fn epoch(&self, epoch: u64) -> impl Iterator<Item = Result<RecordBatch>> + Send + 'static {
        let encoding = self.encoding.clone();
        self.loader
            .epoch_map(epoch, move |batch| encoding.arrays(&batch))
    }
}

fn schema(encoder: &Encoder, head: &Head, length: usize, pair: bool, compact: bool) -> SchemaRef {
    let input = match encoder {
        Encoder::OneHot if compact => fixed_list(DataType::UInt8, length),
        Encoder::OneHot => fixed_list(DataType::Float32, 4 * length),
        Encoder::Tokens(..) => fixed_list(DataType::Int64, encoder.max_tokens(length)),
    };
    let mut fields = vec![
        Field::new("example_id", DataType::Utf8, false),
        Field::new("x", input.clone(), false),
    ];
    if pair {
        fields.push(Field::new("x_alt", input, false));
    }
    if compact && matches!(head, Head::MultiLabel { .. }) {
        let item = Arc::new(Field::new("item", DataType::Int32, false));
        fields.push(Field::new("y", DataType::List(item), false));
    } else {
        let dense = fixed_list(DataType::Float32, head.outputs());
        fields.push(Field::new("y", dense.clone(), false));
        fields.push(Field::new("mask", dense, false));
    }
    Arc::new(Schema::new(fields))
}

fn fixed_list(item: DataType, size: usize) -> DataType {
    DataType::FixedSizeList(Arc::new(Field::new("item", item, false)), size as i32)
}

impl Encoding {
    fn arrays(&self, batch: &RecordBatch) -> Result<RecordBatch> {
        let rows = batch.num_rows();
        let seqs = batch_sequences(batch, self.pair)?;
        let (reference, alternative) = seqs.split_at(rows);
        let ids = batch
            .column_by_name("example_id")
            .context("the loader's batch has no example_id")?;
        let ids: &StringArray = ids
            .as_any()
            .downcast_ref()
            .context("example_id is not a string column")?;
        let mut columns: Vec<ArrayRef> = vec![Arc::new(ids.clone()), self.input(reference)?];
        if self.pair {
            columns.push(self.input(alternative)?);
        }
        if self.compact && matches!(self.head, Head::MultiLabel { .. }) {
            columns.push(Arc::new(self.head.positive_outputs(batch)?));
            return Ok(RecordBatch::try_new(self.schema.clone(), columns)?);
        }
        let (y, mask) = self.head.target_values(batch)?;
        let outputs = self.head.outputs() as i32;
        for values in [y, mask] {
            columns.push(Arc::new(FixedSizeListArray::try_new(
                Arc::new(Field::new("item", DataType::Float32, false)),
                outputs,
                Arc::new(Float32Array::from(values)),
                None,
            )?));
        }
        Ok(RecordBatch::try_new(self.schema.clone(), columns)?)
    }

    fn input(&self, seqs: &[&[u8]]) -> Result<ArrayRef> {
        if let Some(s) = seqs.iter().find(|s| s.len() != self.length) {
            anyhow::bail!(
                "a window of {} bp in a dataset of {} bp windows",
                s.len(),
                self.length
            );
        }
        let width = self.encoder.max_tokens(self.length);
        let compact = self.compact && matches!(self.encoder, Encoder::OneHot);
        let (values, size): (ArrayRef, usize) = match self.encoder.token_rows(seqs, Some(width)) {
            None if compact => {
                let mut codes = vec![0u8; seqs.len() * self.length];
                if self.length > 0 {
                    for (s, row) in seqs.iter().zip(codes.chunks_exact_mut(self.length)) {
                        base_codes_into(s, row);
                    }
                }
                (Arc::new(arrow::array::UInt8Array::from(codes)), self.length)
            }
            None => {
                let (values, _) = one_hot_values(seqs)?;
                (Arc::new(Float32Array::from(values)), 4 * self.length)
            }
            Some((ids, width)) => {
                let ids: Vec<i64> = ids.into_iter().map(i64::from).collect();
                (Arc::new(Int64Array::from(ids)), width)
            }
        };
        let item = Field::new("item", values.data_type().clone(), false);
        Ok(Arc::new(FixedSizeListArray::try_new(
            Arc::new(item),
            size as i32,
            values,
            None,
        )?))
    }
}

/// A finished run's network, on the CPU, over inputs in the `x` layout.
pub struct RunModel {
    predictor: Predictor,
}

impl RunModel {
    pub fn open(store: &Store, run_id: &str) -> Result<RunModel> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let config = rt.block_on(read_run(store, run_id))?;
        let predictor = load_predictor(store, &config, &candle_core::Device::Cpu)
            .with_context(|| format!("loading run '{run_id}'"))?;
        Ok(RunModel { predictor })
    }

    /// The network's outputs (`f(x)`, not the `f(alt) − f(ref)` of a pair
    /// task) for `x`: one-hot rows of `4 × length` f32 (channel-major) or
    /// token id rows of i64, as [`ArrayLoader`] gives them.
    pub fn forward(&self, x: &FixedSizeListArray) -> Result<FixedSizeListArray> {
        let device = &self.predictor.device;
        let (rows, width) = (x.len(), x.value_length() as usize);
        let values = x.values().slice(x.offset() * width, rows * width);
        let input = match (&self.predictor.encoder, values.data_type()) {
            (Encoder::OneHot, DataType::Float32) => {
                if width % 4 != 0 {
                    anyhow::bail!("one-hot rows of {width} values are not 4 channels × length");
                }
                let values = values
                    .as_any()
                    .downcast_ref::<Float32Array>()
                    .context("float32 values")?;
                candle_core::Tensor::from_slice(values.values(), (rows, 4, width / 4), device)?
            }
            (Encoder::Tokens(..), DataType::Int64) => {
                let values = values
                    .as_any()
                    .downcast_ref::<Int64Array>()
                    .context("int64 values")?;
                let ids = values
                    .values()
                    .iter()
                    .map(|&id| u32::try_from(id).with_context(|| format!("token id {id}")))
                    .collect::<Result<Vec<u32>>>()?;
                candle_core::Tensor::from_vec(ids, (rows, width), device)?
            }
            (encoder, given) => anyhow::bail!(
                "the run reads {encoder:?} input: one-hot float32 or token ids int64, not {given}"
            ),
        };
        let out = self.predictor.network.forward(&input, false)?;
        let outputs = out.dim(1)?;
        let out: Vec<f32> = out.flatten_all()?.to_vec1()?;
        Ok(FixedSizeListArray::try_new(
            Arc::new(Field::new("item", DataType::Float32, false)),
            outputs as i32,
            Arc::new(Float32Array::from(out)),
            None,
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::AsArray;
    use arrow::datatypes::Float32Type;

    fn encoding(encoder: Encoder, pair: bool) -> Encoding {
        let head = Head::for_task("promoter", vec![], 0, false).unwrap();
        let schema = schema(&encoder, &head, 8, pair, false);
        Encoding {
            encoder,
            head,
            pair,
            length: 8,
            compact: false,
            schema,
        }
    }

    fn examples(alt: bool) -> RecordBatch {
        let mut fields = vec![
            Field::new("example_id", DataType::Utf8, false),
            Field::new("seq", DataType::Utf8, false),
            Field::new("label", DataType::Float32, true),
        ];
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec!["a", "b"])),
            Arc::new(StringArray::from(vec!["ACGTACGT", "NNNNacgt"])),
            Arc::new(Float32Array::from(vec![Some(1.0), None])),
        ];
        if alt {
            fields.push(Field::new("alt_seq", DataType::Utf8, false));
            columns.push(Arc::new(StringArray::from(vec!["TCGTACGT", "NNNNacga"])));
        }
        RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap()
    }

    #[test]
    fn one_hot_rows_are_channel_major_and_targets_masked() {
        let enc = encoding(Encoder::OneHot, false);
        let out = enc.arrays(&examples(false)).unwrap();
        assert_eq!(out.schema(), enc.schema);
        let x = out.column_by_name("x").unwrap().as_fixed_size_list();
        let first = x.value(0);
        let first = first.as_primitive::<Float32Type>().values();
        // Channel A (row 0) lights positions 0 and 4; C (row 1) 1 and 5.
        assert_eq!(&first[0..8], &[1., 0., 0., 0., 1., 0., 0., 0.]);
        assert_eq!(&first[8..16], &[0., 1., 0., 0., 0., 1., 0., 0.]);
        let second = x.value(1);
        let second = second.as_primitive::<Float32Type>().values();
        let lit: f32 = (0..4)
            .map(|c| second[c * 8..c * 8 + 4].iter().sum::<f32>())
            .sum();
        assert_eq!(lit, 0.0, "N lights no channel");
        let y = out.column_by_name("y").unwrap().as_fixed_size_list();
        let mask = out.column_by_name("mask").unwrap().as_fixed_size_list();
        assert_eq!(
            y.values().as_primitive::<Float32Type>().values(),
            &[1.0, 0.0]
        );
        assert_eq!(
            mask.values().as_primitive::<Float32Type>().values(),
            &[1.0, 0.0]
        );
    }

    #[test]
    fn tokens_are_padded_to_a_fixed_width_and_pairs_carry_x_alt() {
        let tokenizer = Encoder::new(TokenizerKind::Kpatch, None).unwrap();
        let enc = encoding(tokenizer.clone(), true);
        let out = enc.arrays(&examples(true)).unwrap();
        let x = out.column_by_name("x").unwrap().as_fixed_size_list();
        let alt = out.column_by_name("x_alt").unwrap().as_fixed_size_list();
        assert_eq!(x.value_length() as usize, tokenizer.max_tokens(8));
        let Encoder::Tokens(_, t) = &tokenizer else {
            unreachable!()
        };
        let ids: Vec<i64> = t.encode(b"ACGTACGT").into_iter().map(i64::from).collect();
        let row = x.value(0);
        assert_eq!(
            row.as_primitive::<arrow::datatypes::Int64Type>().values(),
            &ids[..]
        );
        assert_ne!(x.value(0).to_data(), alt.value(0).to_data());
        let short = examples(false);
        let err = enc.arrays(&short).unwrap_err();
        assert!(err.to_string().contains("alt_seq"), "{err}");
    }

    #[test]
    fn compact_batches_hold_base_codes_and_positive_outputs() {
        let head = Head::for_task("chromatin", vec![3, 5, 9], 0, false).unwrap();
        let enc = Encoding {
            schema: schema(&Encoder::OneHot, &head, 8, false, true),
            head,
            compact: true,
            ..encoding(Encoder::OneHot, false)
        };
        let mut positives = arrow::array::ListBuilder::new(arrow::array::Int32Builder::new());
        positives.values().append_slice(&[9, 3, 7]);
        positives.append(true);
        positives.append(false);
        let batch = examples(false);
        let batch = RecordBatch::try_new(
            Arc::new(Schema::new(vec![
                batch.schema().field(0).clone(),
                batch.schema().field(1).clone(),
                Field::new(
                    "positive_tracks",
                    DataType::List(Arc::new(Field::new("item", DataType::Int32, true))),
                    true,
                ),
            ])),
            vec![
                batch.column(0).clone(),
                batch.column(1).clone(),
                Arc::new(positives.finish()),
            ],
        )
        .unwrap();
        let out = enc.arrays(&batch).unwrap();
        assert_eq!(out.schema(), enc.schema);
        let x = out.column_by_name("x").unwrap().as_fixed_size_list();
        let codes = x
            .values()
            .as_primitive::<arrow::datatypes::UInt8Type>()
            .values();
        assert_eq!(
            &codes[..],
            &[0, 1, 2, 3, 0, 1, 2, 3, 4, 4, 4, 4, 0, 1, 2, 3]
        );
        let y = out.column_by_name("y").unwrap().as_list::<i32>();
        // Track 9 is output 2, track 3 output 0; track 7 is not the head's.
        assert_eq!(
            y.value(0)
                .as_primitive::<arrow::datatypes::Int32Type>()
                .values(),
            &[2, 0]
        );
        assert_eq!(y.value(1).len(), 0);
        assert!(out.column_by_name("mask").is_none());
    }

    #[test]
    fn a_window_of_another_length_is_an_error() {
        let enc = Encoding {
            length: 9,
            ..encoding(Encoder::OneHot, false)
        };
        let err = enc.arrays(&examples(false)).unwrap_err();
        assert!(err.to_string().contains("8 bp"), "{err}");
    }
}
