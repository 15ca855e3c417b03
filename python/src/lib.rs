//! `dnabench._native`: the Rust engine under the `dnabench` Python package.
//!
//! Results leave as Arrow C streams (the `__arrow_c_stream__` protocol), so
//! pyarrow and torch read the engine's buffers where they lie: no value is
//! copied through a Python object.

mod arrow_stream;
mod loader;
mod outside;
mod store;

use pyo3::prelude::*;

pyo3::create_exception!(
    _native,
    DnabenchError,
    pyo3::exceptions::PyException,
    "An error of the dnabench engine: bad input, a missing table or run, bad SQL."
);

/// Any engine error as a [`DnabenchError`] carrying its whole message
/// (with an anyhow error's chain of contexts).
pub(crate) fn engine_error(e: impl std::fmt::Display) -> PyErr {
    DnabenchError::new_err(format!("{e:#}"))
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<store::Store>()?;
    m.add_class::<loader::ExampleLoader>()?;
    m.add_class::<arrow_stream::ArrowStream>()?;
    m.add("DnabenchError", m.py().get_type::<DnabenchError>())?;
    Ok(())
}
