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
    #[pyo3(signature = (dataset, split, batch_size, tokenizer, jitter, reverse_complement, shuffle, seed, compact = false))]
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
    ) -> PyResult<ExampleLoader> {
        let tokenizer = tokenizer.parse().map_err(engine_error)?;
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
        let batch =
            RecordBatch::try_new(schema.clone(), vec![Arc::new(out)]).map_err(engine_error)?;
        Ok(ArrowStream::from_iter(schema, std::iter::once(Ok(batch))))
    }

    fn __repr__(&self) -> String {
        format!("Store({:?})", self.store.root())
    }
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
