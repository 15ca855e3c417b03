//! A table written batch by batch from synchronous code (a training loop, an
//! embedding pass) and committed once, at [`TableWriter::finish`]: the rows
//! never gather in memory, and a writer dropped before it finishes (an error,
//! a panic) commits nothing, so the table stays at its previous version.
//!
//! The Lance write runs on a thread of its own, fed through a channel of one
//! batch, so the producer and the encoder overlap and memory holds at most
//! two batches beyond Lance's own buffers.

use std::collections::HashMap;
use std::thread::JoinHandle;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use datafusion::error::DataFusionError;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use lance::Dataset;
use tokio::sync::mpsc;

use crate::error::{Error, Result};
use crate::store::{ErrorSlot, Store};

type Sent = datafusion::error::Result<RecordBatch>;

/// The writer of one table; see the module's text.
pub struct TableWriter {
    name: String,
    schema: SchemaRef,
    sender: Option<mpsc::Sender<Sent>>,
    write: Option<JoinHandle<Result<Dataset>>>,
    rows: usize,
}

impl Store {
    /// A writer that appends to table `name` (creating it if it does not
    /// exist) with `properties` recorded in its one commit.
    pub fn table_writer(
        &self,
        name: &str,
        schema: SchemaRef,
        properties: HashMap<String, String>,
    ) -> Result<TableWriter> {
        let (sender, mut receiver) = mpsc::channel::<Sent>(1);
        let store = self.clone();
        let table = name.to_string();
        let stream_schema = schema.clone();
        let write = std::thread::Builder::new()
            .name(format!("write {name}"))
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                let batches = futures::stream::poll_fn(move |cx| receiver.poll_recv(cx));
                let stream = RecordBatchStreamAdapter::new(stream_schema, batches);
                rt.block_on(store.append_stream(
                    &table,
                    Box::pin(stream),
                    properties,
                    &ErrorSlot::default(),
                ))
            })
            .map_err(|e| {
                Error::Invalid(format!("cannot start the writer of table '{name}': {e}"))
            })?;
        Ok(TableWriter {
            name: name.to_string(),
            schema,
            sender: Some(sender),
            write: Some(write),
            rows: 0,
        })
    }
}

impl TableWriter {
    /// Hands `batch` to the write, after checking it against the schema.
    /// Blocks while the write is one batch behind.
    pub fn write(&mut self, batch: RecordBatch) -> Result<()> {
        dnabench_schemas::validate_batch(&self.name, &batch, &self.schema)
            .map_err(|e| Error::Invalid(e.to_string()))?;
        let rows = batch.num_rows();
        let sender = self.sender.as_ref().ok_or_else(|| self.finished())?;
        if sender.blocking_send(Ok(batch)).is_err() {
            // The write stopped early; its own error says why.
            self.sender = None;
            return Err(match self.join() {
                Err(e) => e,
                Ok(_) => self.finished(),
            });
        }
        self.rows += rows;
        Ok(())
    }

    /// Rows handed over so far.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Ends the stream and commits the table.
    pub fn finish(mut self) -> Result<Dataset> {
        self.sender = None;
        self.join()
    }

    fn join(&mut self) -> Result<Dataset> {
        let write = self.write.take().ok_or_else(|| self.finished())?;
        write.join().map_err(|_| {
            Error::Invalid(format!(
                "the writer of table '{}' panicked; nothing was committed",
                self.name
            ))
        })?
    }

    fn finished(&self) -> Error {
        Error::Invalid(format!("the writer of table '{}' has finished", self.name))
    }
}

impl Drop for TableWriter {
    /// Not finished: the stream ends in an error, so Lance commits nothing.
    fn drop(&mut self) {
        if let Some(sender) = self.sender.take() {
            let _ = sender.blocking_send(Err(DataFusionError::Execution(format!(
                "the writer of table '{}' stopped before it finished; nothing was committed",
                self.name
            ))));
        }
        if let Some(write) = self.write.take() {
            let _ = write.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Int64Array, RecordBatch};
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, false)]))
    }

    fn batch(values: &[i64]) -> RecordBatch {
        RecordBatch::try_new(schema(), vec![Arc::new(Int64Array::from(values.to_vec()))]).unwrap()
    }

    fn block<T>(f: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Runtime::new().unwrap().block_on(f)
    }

    fn count(store: &Store, name: &str) -> usize {
        block(async { store.dataset(name).await.unwrap().count_rows(None).await }).unwrap()
    }

    #[test]
    fn batches_commit_once_at_finish_and_append_to_an_existing_table() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(&dir.path().join("s")).unwrap();
        let mut w = store.table_writer("t", schema(), HashMap::new()).unwrap();
        for i in 0..5 {
            w.write(batch(&[i, i + 10])).unwrap();
        }
        assert!(!store.has_table("t"), "nothing is visible before finish");
        assert_eq!(w.rows(), 10);
        w.finish().unwrap();
        assert_eq!(count(&store, "t"), 10);

        let mut w = store.table_writer("t", schema(), HashMap::new()).unwrap();
        w.write(batch(&[99])).unwrap();
        w.finish().unwrap();
        assert_eq!(count(&store, "t"), 11);
    }

    #[test]
    fn two_writers_creating_one_table_at_once_both_land() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(&dir.path().join("s")).unwrap();
        let mut first = store.table_writer("t", schema(), HashMap::new()).unwrap();
        let mut second = store.table_writer("t", schema(), HashMap::new()).unwrap();
        // A second batch waits until the first is taken: both writes are
        // past their check for the table, so both stage a new one.
        for w in [&mut first, &mut second] {
            w.write(batch(&[1, 2])).unwrap();
            w.write(batch(&[3])).unwrap();
        }
        first.finish().unwrap();
        second.finish().unwrap();
        assert_eq!(count(&store, "t"), 6);
    }

    #[test]
    fn a_writer_dropped_before_finish_commits_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(&dir.path().join("s")).unwrap();
        let mut w = store.table_writer("t", schema(), HashMap::new()).unwrap();
        w.write(batch(&[1, 2])).unwrap();
        drop(w);
        assert!(!store.has_table("t"));
        let leftovers: Vec<_> = std::fs::read_dir(store.root())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with(".staging"))
            .collect();
        assert!(leftovers.is_empty(), "the staging folder is removed");

        block(store.append("t", schema(), vec![batch(&[7])])).unwrap();
        let mut w = store.table_writer("t", schema(), HashMap::new()).unwrap();
        w.write(batch(&[1, 2, 3])).unwrap();
        drop(w);
        assert_eq!(count(&store, "t"), 1, "an existing table keeps its version");
    }

    #[test]
    fn a_batch_of_another_schema_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(&dir.path().join("s")).unwrap();
        let mut w = store.table_writer("t", schema(), HashMap::new()).unwrap();
        let other = Arc::new(Schema::new(vec![Field::new("m", DataType::Int64, false)]));
        let wrong = RecordBatch::try_new(other, vec![Arc::new(Int64Array::from(vec![1]))]).unwrap();
        let e = w.write(wrong).unwrap_err().to_string();
        assert!(e.contains("column 0 is 'm', expected 'n'"), "{e}");
        drop(w);
        assert!(!store.has_table("t"));
    }
}
