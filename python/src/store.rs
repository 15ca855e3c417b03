//! `Store`: a dnabench store opened from Python.
//!
//! ```python
//! store = dnabench.Store("quickstart-store")
//! store.tables()                       # ['chroms', 'genome', ..., 'examples']
//! pyarrow.table(store._native.sql("SELECT split, count(*) AS n FROM examples "
//!                                 "WHERE dataset = $dataset GROUP BY split",
//!                                 {"dataset": "promoter"}))
//! ```

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use arrow::array::Array;
use arrow::datatypes::{Field, Schema};
use arrow::record_batch::RecordBatch;
use datafusion::execution::SendableRecordBatchStream;
use dnabench_engine::open_session;
use dnabench_engine::sql::run_sql_stream;
use dnabench_training::arrays::{ArrayLoader, ArrayLoaderConfig, RunModel};
use futures::StreamExt;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::arrow_stream::ArrowStream;
use crate::engine_error;
use crate::loader::ExampleLoader;

#[pyclass(module = "dnabench._native")]
pub struct Store {
    store: dnabench_engine::Store,
    runtime: Arc<tokio::runtime::Runtime>,
    /// Outside models' predictions and embeddings not yet committed.
    pending: crate::outside::Pending,
}

#[pymethods]
impl Store {
    /// Opens the store at `path`; it must exist.
    #[new]
    fn new(path: PathBuf) -> PyResult<Store> {
        let store = dnabench_engine::Store::open(&path).map_err(engine_error)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("dnabench-python")
            .enable_all()
            .build()
            .map_err(engine_error)?;
        Ok(Store {
            store,
            runtime: Arc::new(runtime),
            pending: Default::default(),
        })
    }

    /// The store's folder.
    #[getter]
    fn path(&self) -> PathBuf {
        self.store.root().to_path_buf()
    }

    /// The tables, in the order `dnabench tables` lists them.
    fn tables(&self) -> PyResult<Vec<String>> {
        self.store.table_names().map_err(engine_error)
    }

    /// Runs `query` (statements in order; the last one's rows are
    /// returned) with `$name` parameters filled from `params`. The rows
    /// are computed as the stream is read.
    #[pyo3(signature = (query, params=None))]
    fn sql(
        &self,
        py: Python<'_>,
        query: String,
        params: Option<HashMap<String, String>>,
    ) -> PyResult<ArrowStream> {
        let params: BTreeMap<String, String> = params.unwrap_or_default().into_iter().collect();
        let stream = py
            .detach(|| {
                self.runtime.block_on(async {
                    let ctx = open_session(&self.store).await?;
                    run_sql_stream(&ctx, "query", &query, &params).await
                })
            })
            .map_err(engine_error)?;
        let schema = stream.schema();
        let batches = Blocking {
            runtime: self.runtime.clone(),
            stream,
        };
        Ok(ArrowStream::from_iter(schema, batches))
    }

    /// One split of a materialized dataset as batches of model input and
    /// targets (`dnabench_training::arrays` gives the columns).
    #[pyo3(signature = (dataset, split, batch_size, tokenizer, jitter, reverse_complement, shuffle, seed, compact = false, rank = 0, world_size = 1))]
    #[allow(clippy::too_many_arguments)]
    fn loader(
        &self,
        py: Python<'_>,
        dataset: String,
        split: String,
        batch_size: usize,
        tokenizer: &str,
        jitter: u32,
        reverse_complement: bool,
        shuffle: bool,
        seed: u64,
        compact: bool,
        rank: usize,
        world_size: usize,
    ) -> PyResult<ExampleLoader> {
        let tokenizer = tokenizer.parse().map_err(engine_error)?;
        let shard = dnabench_training::Shard::new(rank, world_size).map_err(engine_error)?;
        let config = ArrayLoaderConfig {
            dataset,
            split,
            batch_size,
            tokenizer,
            jitter,
            reverse_complement,
            shuffle,
            seed,
            compact,
            shard: Some(shard),
        };
        let loader = py
            .detach(|| ArrayLoader::open(&self.store, config))
            .map_err(engine_error)?;
        Ok(ExampleLoader::new(loader))
    }

    /// Run `run_id`'s network (its best checkpoint, on the CPU) over `x`, a
    /// fixed-size-list Arrow array in the loader's `x` layout; returns one
    /// batch with the column `output` (`outputs` float32 per row).
    fn forward(&self, py: Python<'_>, run_id: &str, x: &Bound<'_, PyAny>) -> PyResult<ArrowStream> {
        let x = crate::arrow_stream::import_array(x)?;
        let x = x
            .as_any()
            .downcast_ref::<arrow::array::FixedSizeListArray>()
            .ok_or_else(|| {
                PyValueError::new_err(format!(
                    "x must be a fixed-size list array (rows of one-hot or ids), not {}",
                    x.data_type()
                ))
            })?
            .clone();
        let out = py
            .detach(|| RunModel::open(&self.store, run_id)?.forward(&x))
            .map_err(engine_error)?;
        let schema = Arc::new(Schema::new(vec![Field::new(
            "output",
            out.data_type().clone(),
            false,
        )]));
        let batch = RecordBatch::try_new(schema, vec![Arc::new(out)]).map_err(engine_error)?;
        Ok(ArrowStream::of_batch(batch))
    }

    /// Takes a batch of an outside model's predictions of `dataset` for
    /// run `run_id` (its import starts at the first batch): example ids
    /// (text) and outputs (numbers, or a fixed-size list a row), checked
    /// whole before any row is taken. `splits` (valid and test by
    /// default) are the splits the run predicts.
    #[pyo3(signature = (run_id, dataset, ids, outputs, splits=None))]
    fn write_predictions(
        &self,
        py: Python<'_>,
        run_id: &str,
        dataset: &str,
        ids: &Bound<'_, PyAny>,
        outputs: &Bound<'_, PyAny>,
        splits: Option<Vec<String>>,
    ) -> PyResult<usize> {
        let ids = crate::arrow_stream::import_array(ids)?;
        let outputs = crate::arrow_stream::import_array(outputs)?;
        let splits = splits.unwrap_or_default();
        py.detach(|| {
            self.pending
                .write_predictions(&self.store, run_id, dataset, &splits, &ids, &outputs)
        })
    }

    /// Commits run `run_id`'s predictions and its `runs` row; returns what
    /// was written and how much of each split it covers.
    #[pyo3(signature = (run_id, model, config=None))]
    fn commit_predictions<'py>(
        &self,
        py: Python<'py>,
        run_id: &str,
        model: &str,
        config: Option<String>,
    ) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
        let summary = py.detach(|| {
            self.pending
                .commit_predictions(run_id, model, config.as_deref())
        })?;
        crate::outside::prediction_summary(py, &summary)
    }

    /// Drops run `run_id`'s uncommitted predictions.
    fn discard_predictions(&self, py: Python<'_>, run_id: &str) -> PyResult<bool> {
        py.detach(|| self.pending.discard_predictions(run_id))
    }

    /// Scores run `run_id`'s predictions of `split` with its task's metric
    /// query and writes them to `metrics`; returns (metric, group, value).
    fn eval(
        &self,
        py: Python<'_>,
        run_id: &str,
        split: &str,
        allow_partial: bool,
    ) -> PyResult<ArrowStream> {
        let evaluation = py
            .detach(|| {
                self.runtime.block_on(async {
                    let e =
                        dnabench_engine::eval::evaluate(&self.store, run_id, split, allow_partial)
                            .await?;
                    dnabench_engine::eval::write_metrics(&self.store, &e).await?;
                    Ok::<_, dnabench_engine::Error>(e)
                })
            })
            .map_err(engine_error)?;
        let schema = Arc::new(Schema::new(vec![
            Field::new("metric", arrow::datatypes::DataType::Utf8, false),
            Field::new("group", arrow::datatypes::DataType::Utf8, false),
            Field::new("value", arrow::datatypes::DataType::Float64, true),
        ]));
        let scores = &evaluation.scores;
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(arrow::array::StringArray::from_iter_values(
                    scores.iter().map(|s| s.metric.as_str()),
                )),
                Arc::new(arrow::array::StringArray::from_iter_values(
                    scores.iter().map(|s| s.group.as_str()),
                )),
                Arc::new(arrow::array::Float64Array::from_iter(
                    scores.iter().map(|s| s.value),
                )),
            ],
        )
        .map_err(engine_error)?;
        Ok(ArrowStream::of_batch(batch))
    }

    /// Takes a batch of an outside model's embeddings of `dataset` for run
    /// `run_id`: example ids and vectors (a fixed-size list a row).
    fn write_embeddings(
        &self,
        py: Python<'_>,
        run_id: &str,
        dataset: &str,
        ids: &Bound<'_, PyAny>,
        vectors: &Bound<'_, PyAny>,
    ) -> PyResult<usize> {
        let ids = crate::arrow_stream::import_array(ids)?;
        let vectors = crate::arrow_stream::import_array(vectors)?;
        py.detach(|| {
            self.pending
                .write_embeddings(&self.store, run_id, dataset, &ids, &vectors)
        })
    }

    /// Commits run `run_id`'s embeddings of `dataset` into their table;
    /// None when none are being written.
    fn commit_embeddings<'py>(
        &self,
        py: Python<'py>,
        run_id: &str,
        dataset: &str,
    ) -> PyResult<Option<Bound<'py, pyo3::types::PyDict>>> {
        let summary = py.detach(|| self.pending.commit_embeddings(run_id, dataset))?;
        summary
            .map(|s| crate::outside::embedding_summary(py, &s))
            .transpose()
    }

    /// Fits the paper's downstream model of `dataset`'s task (or `model`:
    /// forest, boosted, upper) on run `run_id`'s embeddings of it, writing
    /// its predictions and `runs` row; returns the new run's id.
    /// `config` is JSON with `forest`, `boosted` and `upper` sections (as
    /// `dnabench fit --config`'s TOML has them); defaults where absent.
    #[pyo3(signature = (run_id, dataset, model=None, fit_run_id=None, config=None))]
    fn fit(
        &self,
        py: Python<'_>,
        run_id: &str,
        dataset: &str,
        model: Option<String>,
        fit_run_id: Option<String>,
        config: Option<String>,
    ) -> PyResult<String> {
        py.detach(|| {
            self.pending.commit_embeddings(run_id, dataset)?;
            let config = match config {
                Some(json) => dnabench_training::downstream::FitConfig::parse_json(&json)
                    .map_err(|e| engine_error(format!("the fit's config: {e:#}")))?,
                None => Default::default(),
            };
            fit_embeddings(
                &self.store,
                run_id,
                dataset,
                model.as_deref(),
                fit_run_id,
                config,
            )
            .map_err(engine_error)
        })
    }

    /// Every task's scored runs by its headline metric, seeds as mean ±
    /// sd, the paper's values beside (`dnabench leaderboard`).
    fn leaderboard(&self, py: Python<'_>) -> PyResult<ArrowStream> {
        let batch = py
            .detach(|| {
                self.runtime.block_on(async {
                    let rows = dnabench_engine::leaderboard::leaderboard(&self.store).await?;
                    dnabench_engine::leaderboard::leaderboard_batch(&rows)
                })
            })
            .map_err(engine_error)?;
        Ok(ArrowStream::of_batch(batch))
    }

    fn __repr__(&self) -> String {
        format!("Store({:?})", self.store.root())
    }
}

/// The downstream fit of `dataset` on the embeddings `run_id` imported.
fn fit_embeddings(
    store: &dnabench_engine::Store,
    run_id: &str,
    dataset: &str,
    model: Option<&str>,
    fit_run_id: Option<String>,
    config: dnabench_training::downstream::FitConfig,
) -> anyhow::Result<String> {
    use dnabench_training::downstream::{DownstreamModel, FitRequest};
    let model = match model {
        Some(m) => m.parse().map_err(anyhow::Error::msg)?,
        None => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let task = rt
                .block_on(dnabench_training::train::DatasetInfo::read(store, dataset))?
                .task;
            DownstreamModel::for_task(&task).ok_or_else(|| {
                anyhow::anyhow!(
                    "the paper fits no downstream model for task '{task}'; give model='forest', 'boosted' or 'upper'"
                )
            })?
        }
    };
    let row = dnabench_training::downstream::fit(
        store,
        &FitRequest {
            task: dataset.to_string(),
            table: dnabench_training::outside::outside_embeddings_table(dataset, run_id),
            model,
            forest: config.forest,
            boosted: config.boosted,
            upper: config.upper,
            run_id: fit_run_id,
        },
    )?;
    Ok(row.run_id)
}

/// A DataFusion stream read batch by batch from a thread outside the
/// runtime (Python's).
struct Blocking {
    runtime: Arc<tokio::runtime::Runtime>,
    stream: SendableRecordBatchStream,
}

impl Iterator for Blocking {
    type Item = anyhow::Result<arrow::record_batch::RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        let next = self.runtime.block_on(self.stream.next())?;
        Some(next.map_err(anyhow::Error::from))
    }
}
