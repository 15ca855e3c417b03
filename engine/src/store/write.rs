//! Writing the store's tables: creating them all or none, appending in one
//! commit, and the staging folder a new table is written in before it is
//! moved into place.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::record_batch::RecordBatchReader;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use lance::dataset::{InsertBuilder, WriteMode, WriteParams};
use lance::Dataset;

use super::{uri, Store};
use crate::error::{Error, Result};

impl Store {
    /// Creates tables that do not exist yet, all or none: each is written in
    /// full to a staging folder first, then moved into place. A failure while
    /// writing any of them leaves the store as it was.
    pub async fn create_tables(&self, tables: Vec<NewTable>) -> Result<Vec<Dataset>> {
        for t in &tables {
            if self.has_table(&t.name) {
                return Err(Error::store(
                    &self.root,
                    format!("table '{}' exists already", t.name),
                ));
            }
        }
        if let Some(object) = &self.object {
            // No folder moves on an object store: each table is written in
            // place, and a failure removes every table of the call again.
            let mut written: Vec<String> = Vec::new();
            let mut datasets = Vec::new();
            for t in tables {
                let params = WriteParams {
                    mode: WriteMode::Create,
                    transaction_properties: Some(Arc::new(t.properties)),
                    ..Default::default()
                };
                written.push(t.name.clone());
                let uri = object.table_uri(&t.name);
                match (t.write_failed)(Dataset::write(t.reader, uri.as_str(), Some(params)).await) {
                    Ok(dataset) => datasets.push(dataset),
                    Err(e) => {
                        for name in &written {
                            let _ = object.remove(&format!("{name}.lance"));
                        }
                        return Err(e);
                    }
                }
            }
            return Ok(datasets);
        }
        let staging = Staging::new(&self.root)?;
        let mut staged = Vec::new();
        for t in tables {
            let path = staging.path.join(format!("{}.lance", t.name));
            let params = WriteParams {
                mode: WriteMode::Create,
                transaction_properties: Some(Arc::new(t.properties)),
                ..Default::default()
            };
            (t.write_failed)(Dataset::write(t.reader, uri(&path)?.as_str(), Some(params)).await)?;
            staged.push((t.name, path));
        }
        let mut datasets = Vec::new();
        for (name, path) in staged {
            datasets.push(self.move_into_place(&name, &path).await?);
        }
        Ok(datasets)
    }

    /// Moves table `name`, written whole at `staged`, into the store.
    async fn move_into_place(&self, name: &str, staged: &Path) -> Result<Dataset> {
        let dest = self.table_path(name);
        std::fs::rename(staged, &dest).map_err(|e| {
            Error::store(
                &self.root,
                format!("cannot move table '{name}' into place: {e}"),
            )
        })?;
        Ok(Dataset::open(&uri(&dest)?).await?)
    }
}

impl Store {
    /// Appends `batches` to table `name` in one commit, creating the table
    /// (all or nothing) if it does not exist. Each batch is checked against
    /// `schema` first, so a wrong batch never reaches the table.
    pub async fn append(
        &self,
        name: &str,
        schema: arrow::datatypes::SchemaRef,
        batches: Vec<arrow::record_batch::RecordBatch>,
    ) -> Result<Dataset> {
        self.append_with(name, schema, batches, HashMap::new())
            .await
    }

    /// [`Store::append`], recording `properties` in the Lance commit itself
    /// (so they are exactly as durable as the rows).
    pub async fn append_with(
        &self,
        name: &str,
        schema: arrow::datatypes::SchemaRef,
        batches: Vec<arrow::record_batch::RecordBatch>,
        properties: HashMap<String, String>,
    ) -> Result<Dataset> {
        for b in &batches {
            dnabench_schemas::validate_batch(name, b, &schema)
                .map_err(|e| Error::Invalid(e.to_string()))?;
        }
        let stream = RecordBatchStreamAdapter::new(
            schema,
            futures::stream::iter(batches.into_iter().map(Ok)),
        );
        self.append_stream(name, Box::pin(stream), properties, &ErrorSlot::default())
            .await
    }
}

impl Store {
    /// Writes `stream` into table `name` as it comes and commits it once, at
    /// its end: a failure or a kill before then leaves the table at its
    /// previous version (a new table is written in staging, then moved into
    /// place). An error the stream met is returned as itself through `slot`.
    pub async fn append_stream(
        &self,
        name: &str,
        stream: SendableRecordBatchStream,
        properties: HashMap<String, String>,
        slot: &ErrorSlot,
    ) -> Result<Dataset> {
        let exists = self.has_table(name);
        let params = WriteParams {
            mode: if exists {
                WriteMode::Append
            } else {
                WriteMode::Create
            },
            transaction_properties: Some(Arc::new(properties)),
            ..Default::default()
        };
        if exists {
            let dataset = Arc::new(self.dataset(name).await?);
            return InsertBuilder::new(dataset)
                .with_params(&params)
                .execute_stream(stream)
                .await
                .map_err(|e| slot.or(e));
        }
        if let Some(object) = &self.object {
            let written = InsertBuilder::new(object.table_uri(name).as_str())
                .with_params(&params)
                .execute_stream(stream)
                .await;
            if written.is_err() && !self.has_table(name) {
                // Only this write's own files: a table another writer
                // committed meanwhile stays.
                let _ = object.remove(&format!("{name}.lance"));
            }
            return written.map_err(|e| match e {
                lance::Error::DatasetAlreadyExists { .. } => Error::store(
                    &self.root,
                    format!(
                        "table '{name}' was created by another writer during this write; \
                         nothing of this write was committed"
                    ),
                ),
                e => slot.or(e),
            });
        }
        let staging = Staging::new(&self.root)?;
        let path = staging.path.join(format!("{name}.lance"));
        InsertBuilder::new(uri(&path)?.as_str())
            .with_params(&params)
            .execute_stream(stream)
            .await
            .map_err(|e| slot.or(e))?;
        match self.move_into_place(name, &path).await {
            Err(_) if self.has_table(name) => {
                // Another writer created the table while this one was
                // staging: these rows join it as an append, so both land.
                let staged: SendableRecordBatchStream = Dataset::open(&uri(&path)?)
                    .await?
                    .scan()
                    .try_into_stream()
                    .await?
                    .into();
                let dataset = Arc::new(self.dataset(name).await?);
                let params = WriteParams {
                    mode: WriteMode::Append,
                    ..params
                };
                Ok(InsertBuilder::new(dataset)
                    .with_params(&params)
                    .execute_stream(staged)
                    .await?)
            }
            moved => moved,
        }
    }
}

/// A table to create: its name, its rows, and how to turn a failed write into
/// the error that caused it (a reader that fails keeps its own error aside,
/// since Lance sees only an Arrow error).
pub struct NewTable {
    pub name: String,
    pub reader: Box<dyn RecordBatchReader + Send>,
    pub write_failed: Box<dyn FnOnce(lance::Result<Dataset>) -> Result<Dataset> + Send>,
    /// Recorded in the table's first commit.
    pub properties: HashMap<String, String>,
}

impl NewTable {
    pub fn new(name: &str, reader: Box<dyn RecordBatchReader + Send>) -> Self {
        NewTable {
            name: name.to_string(),
            reader,
            write_failed: Box::new(|r| r.map_err(Error::from)),
            properties: HashMap::new(),
        }
    }
}

/// A hidden folder in the store for tables being written; removed when dropped.
struct Staging {
    path: PathBuf,
}

impl Staging {
    fn new(root: &Path) -> Result<Staging> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let path = root.join(format!(".staging-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path)
            .map_err(|e| Error::store(root, format!("cannot create a staging folder: {e}")))?;
        Ok(Staging { path })
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Keeps the error a failing [`RecordBatchReader`] met, so that it can be
/// reported as itself once Lance gives up on the write.
#[derive(Clone, Default)]
pub struct ErrorSlot(Arc<std::sync::Mutex<Option<Error>>>);

impl ErrorSlot {
    pub fn set(&self, e: Error) -> arrow::error::ArrowError {
        let text = e.to_string();
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
        arrow::error::ArrowError::ExternalError(text.into())
    }

    /// [`ErrorSlot::set`], for a DataFusion stream.
    pub fn set_datafusion(&self, e: Error) -> datafusion::error::DataFusionError {
        datafusion::error::DataFusionError::ArrowError(Box::new(self.set(e)), None)
    }

    pub fn take(&self) -> Option<Error> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    /// The kept error if there is one, else `fallback`.
    pub fn or(&self, fallback: impl Into<Error>) -> Error {
        self.take().unwrap_or_else(|| fallback.into())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Int64Array, RecordBatch};
    use arrow::datatypes::{DataType, Field, Schema};
    use arrow::error::ArrowError;
    use arrow::record_batch::RecordBatchIterator;

    use super::*;

    fn reader(fail_after: Option<usize>) -> Box<dyn RecordBatchReader + Send> {
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(Int64Array::from(vec![1, 2, 3]))],
        )
        .unwrap();
        let mut items: Vec<std::result::Result<RecordBatch, ArrowError>> =
            vec![Ok(batch.clone()), Ok(batch)];
        if let Some(n) = fail_after {
            items.truncate(n);
            items.push(Err(ArrowError::ComputeError("bad row".into())));
        }
        Box::new(RecordBatchIterator::new(items, schema))
    }

    #[tokio::test]
    async fn tables_are_created_all_or_none() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(&dir.path().join("s")).unwrap();

        let err = store
            .create_tables(vec![
                NewTable::new("a", reader(None)),
                NewTable::new("b", reader(Some(1))),
            ])
            .await
            .unwrap_err();
        assert!(err.to_string().contains("bad row"), "{err}");
        assert!(store.table_names().unwrap().is_empty());
        assert_eq!(
            std::fs::read_dir(store.root()).unwrap().count(),
            0,
            "staging left behind"
        );

        store
            .create_tables(vec![
                NewTable::new("a", reader(None)),
                NewTable::new("b", reader(None)),
            ])
            .await
            .unwrap();
        let tables = store.tables().await.unwrap();
        assert_eq!(
            tables
                .iter()
                .map(|t| (t.name.as_str(), t.rows, t.version))
                .collect::<Vec<_>>(),
            vec![("a", 6, 1), ("b", 6, 1)]
        );
        let err = store
            .create_tables(vec![NewTable::new("a", reader(None))])
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("table 'a' exists already"),
            "{err}"
        );
    }
}
