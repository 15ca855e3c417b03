//! `ExampleLoader`: the training loader's batches as Arrow streams, one
//! stream an epoch. The `dnabench` package wraps it in a
//! `torch.utils.data.IterableDataset`.

use dnabench_training::arrays::ArrayLoader;
use pyo3::prelude::*;

use crate::arrow_stream::ArrowStream;

#[pyclass(module = "dnabench._native")]
pub struct ExampleLoader {
    loader: ArrayLoader,
}

impl ExampleLoader {
    pub fn new(loader: ArrayLoader) -> ExampleLoader {
        ExampleLoader { loader }
    }
}

#[pymethods]
impl ExampleLoader {
    /// The batches of `epoch` (each epoch its own shuffle, jitter and
    /// strands), read ahead on the loader's threads.
    fn epoch(&self, epoch: u64) -> ArrowStream {
        ArrowStream::from_iter(self.loader.schema(), self.loader.epoch(epoch))
    }

    /// Reads every batch of `epoch` in Rust and returns how many examples
    /// it held: the loader's own rate, without Python, for comparison.
    fn drain(&self, py: Python<'_>, epoch: u64) -> PyResult<usize> {
        py.detach(|| {
            let mut rows = 0;
            for batch in self.loader.epoch(epoch) {
                rows += batch?.num_rows();
            }
            Ok(rows)
        })
        .map_err(|e: anyhow::Error| crate::engine_error(e))
    }

    /// Examples in the split.
    fn __len__(&self) -> usize {
        self.loader.len()
    }

    #[getter]
    fn batches_per_epoch(&self) -> usize {
        self.loader.batches_per_epoch()
    }

    /// Window length in bp.
    #[getter]
    fn length(&self) -> usize {
        self.loader.shape().0
    }

    /// Values per example in `y`.
    #[getter]
    fn outputs(&self) -> usize {
        self.loader.shape().1
    }
}
