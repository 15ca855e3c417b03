//! Predictions and embeddings of models outside dnabench, written from
//! Python batch by batch: each run's import stays open in the `Store`
//! until it is committed (or discarded), so nothing reaches the tables
//! before `commit_*` and a batch that fails its checks is refused whole.

use std::collections::HashMap;
use std::sync::Mutex;

use dnabench_training::outside::{
    EmbeddingImport, EmbeddingSummary, PredictionImport, PredictionSummary, SplitCoverage,
};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::engine_error;

/// The imports under way in one `Store`.
#[derive(Default)]
pub struct Pending {
    predictions: Mutex<HashMap<String, PredictionImport>>,
    /// By (run, dataset).
    embeddings: Mutex<HashMap<(String, String), EmbeddingImport>>,
}

fn row_namer(call: &'static str, first: usize) -> impl Fn(usize) -> String {
    move |i| format!("{call}, row {}", first + i + 1)
}

impl Pending {
    pub fn write_predictions(
        &self,
        store: &dnabench_engine::Store,
        run_id: &str,
        dataset: &str,
        splits: &[String],
        ids: &arrow::array::ArrayRef,
        outputs: &arrow::array::ArrayRef,
    ) -> PyResult<usize> {
        let mut pending = self.predictions.lock().map_err(engine_error)?;
        if !pending.contains_key(run_id) {
            let import =
                PredictionImport::start(store, run_id, dataset, splits).map_err(engine_error)?;
            pending.insert(run_id.to_string(), import);
        }
        let import = pending.get_mut(run_id).expect("inserted above");
        let first: usize = import.coverage().iter().map(|c| c.given).sum();
        import
            .write(ids, outputs, &row_namer("write_predictions", first))
            .map_err(engine_error)
    }

    pub fn commit_predictions(
        &self,
        run_id: &str,
        model: &str,
        config: Option<&str>,
    ) -> PyResult<PredictionSummary> {
        let import = self
            .predictions
            .lock()
            .map_err(engine_error)?
            .remove(run_id)
            .ok_or_else(|| {
                engine_error(format!(
                    "no predictions of run '{run_id}' are being written; call write_predictions first"
                ))
            })?;
        import.commit(model, config).map_err(engine_error)
    }

    /// Drops run `run_id`'s import: nothing of it is committed.
    pub fn discard_predictions(&self, run_id: &str) -> PyResult<bool> {
        Ok(self
            .predictions
            .lock()
            .map_err(engine_error)?
            .remove(run_id)
            .is_some())
    }

    pub fn write_embeddings(
        &self,
        store: &dnabench_engine::Store,
        run_id: &str,
        dataset: &str,
        ids: &arrow::array::ArrayRef,
        vectors: &arrow::array::ArrayRef,
    ) -> PyResult<usize> {
        let key = (run_id.to_string(), dataset.to_string());
        let mut pending = self.embeddings.lock().map_err(engine_error)?;
        if !pending.contains_key(&key) {
            let import =
                EmbeddingImport::start(store, run_id, dataset, None).map_err(engine_error)?;
            pending.insert(key.clone(), import);
        }
        let import = pending.get_mut(&key).expect("inserted above");
        let first: usize = import.coverage().iter().map(|c| c.given).sum();
        import
            .write(ids, vectors, &row_namer("write_embeddings", first))
            .map_err(engine_error)
    }

    /// Commits run `run_id`'s embeddings of `dataset`; none when no
    /// import of them is open.
    pub fn commit_embeddings(
        &self,
        run_id: &str,
        dataset: &str,
    ) -> PyResult<Option<EmbeddingSummary>> {
        let import = self
            .embeddings
            .lock()
            .map_err(engine_error)?
            .remove(&(run_id.to_string(), dataset.to_string()));
        import.map(|i| i.commit().map_err(engine_error)).transpose()
    }
}

fn coverage_list<'py>(py: Python<'py>, coverage: &[SplitCoverage]) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for c in coverage {
        let d = PyDict::new(py);
        d.set_item("split", &c.split)?;
        d.set_item("given", c.given)?;
        d.set_item("examples", c.examples)?;
        list.append(d)?;
    }
    Ok(list)
}

pub fn prediction_summary<'py>(
    py: Python<'py>,
    s: &PredictionSummary,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("run_id", &s.run_id)?;
    d.set_item("dataset", &s.dataset)?;
    d.set_item("task", &s.task)?;
    d.set_item("rows", s.rows)?;
    d.set_item("coverage", coverage_list(py, &s.coverage)?)?;
    Ok(d)
}

pub fn embedding_summary<'py>(
    py: Python<'py>,
    s: &EmbeddingSummary,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("table", &s.table)?;
    d.set_item("rows", s.rows)?;
    d.set_item("dim", s.dim)?;
    d.set_item("coverage", coverage_list(py, &s.coverage)?)?;
    Ok(d)
}
