//! Record batches handed to Python as an Arrow C stream.
//!
//! ```python
//! table = pyarrow.table(stream)                       # all of it
//! for batch in pyarrow.RecordBatchReader.from_stream(stream): ...
//! ```

use std::ffi::CStr;
use std::sync::Mutex;

use arrow::array::RecordBatchReader;
use arrow::datatypes::SchemaRef;
use arrow::error::ArrowError;
use arrow::ffi_stream::FFI_ArrowArrayStream;
use arrow::record_batch::RecordBatch;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyCapsule;

const STREAM_CAPSULE: &CStr = c"arrow_array_stream";

type Reader = Box<dyn RecordBatchReader + Send>;

/// A stream of record batches that Python reads once.
#[pyclass(module = "dnabench._native")]
pub struct ArrowStream {
    reader: Mutex<Option<Reader>>,
    schema: SchemaRef,
}

impl ArrowStream {
    pub fn new(reader: Reader) -> ArrowStream {
        let schema = reader.schema();
        ArrowStream {
            reader: Mutex::new(Some(reader)),
            schema,
        }
    }

    /// A stream over `batches` as they come, the iterator's errors passed on
    /// as the stream's.
    pub fn from_iter<I>(schema: SchemaRef, batches: I) -> ArrowStream
    where
        I: Iterator<Item = anyhow::Result<RecordBatch>> + Send + 'static,
    {
        let batches = batches.map(|b| b.map_err(|e| ArrowError::ExternalError(e.into())));
        ArrowStream::new(Box::new(arrow::record_batch::RecordBatchIterator::new(
            batches, schema,
        )))
    }

    /// A stream of the one batch `batch`.
    pub fn of_batch(batch: RecordBatch) -> ArrowStream {
        let schema = batch.schema();
        ArrowStream::from_iter(schema, std::iter::once(Ok(batch)))
    }
}

/// The C stream, moved into a capsule whose destructor releases it unless a
/// consumer took it.
#[repr(transparent)]
struct StreamBox(FFI_ArrowArrayStream);
// SAFETY: the stream's private data is a `Send` reader; the C struct is only
// raw pointers to it.
unsafe impl Send for StreamBox {}

#[pymethods]
impl ArrowStream {
    /// The Arrow PyCapsule protocol. A stream is read once: a second call
    /// is an error, not an empty stream.
    #[pyo3(signature = (requested_schema=None))]
    fn __arrow_c_stream__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        // Casting to a requested schema is optional in the protocol; we
        // offer the stream as it is.
        let _ = requested_schema;
        let reader = self
            .reader
            .lock()
            .map_err(|_| PyValueError::new_err("the stream's lock was poisoned"))?
            .take()
            .ok_or_else(|| PyValueError::new_err("this stream was read already"))?;
        let stream = StreamBox(FFI_ArrowArrayStream::new(reader));
        // The capsule points at the box's first field, the C struct.
        PyCapsule::new_with_value(py, stream, STREAM_CAPSULE)
    }

    /// Column names, for a look before reading.
    #[getter]
    fn column_names(&self) -> Vec<String> {
        self.schema
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect()
    }

    fn __repr__(&self) -> String {
        format!("ArrowStream({})", self.schema)
    }
}

/// An array from any object with `__arrow_c_array__` (a pyarrow array,
/// say), moved out of its capsules without copying its buffers.
pub fn import_array(obj: &Bound<'_, PyAny>) -> PyResult<arrow::array::ArrayRef> {
    use arrow::ffi::{from_ffi, FFI_ArrowArray, FFI_ArrowSchema};
    use pyo3::types::PyCapsuleMethods;
    let (schema, array): (Bound<'_, PyCapsule>, Bound<'_, PyCapsule>) = obj
        .call_method0("__arrow_c_array__")
        .map_err(|_| {
            PyValueError::new_err("expected an Arrow array (an object with __arrow_c_array__)")
        })?
        .extract()?;
    let schema = schema.pointer_checked(Some(c"arrow_schema"))?;
    let array = array.pointer_checked(Some(c"arrow_array"))?;
    // SAFETY: the capsules' names promise these C structs. The array is
    // moved out (its capsule is left released); the schema is only read.
    let data = unsafe {
        let array = FFI_ArrowArray::from_raw(array.as_ptr().cast());
        let schema = &*(schema.as_ptr() as *const FFI_ArrowSchema);
        from_ffi(array, schema)
    }
    .map_err(|e| PyValueError::new_err(format!("not a valid Arrow array: {e}")))?;
    Ok(arrow::array::make_array(data))
}
