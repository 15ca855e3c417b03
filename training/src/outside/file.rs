//! Predictions or embeddings from a file (Parquet, Arrow IPC, CSV), read
//! as a stream: a column `example_id` and the vectors, as a list column
//! (`output` for predictions, `vector` for embeddings) or as the file's
//! other numeric columns in order (a CSV's `output_0`, `output_1`, …).

use std::path::Path;

use anyhow::{bail, Context, Result};
use arrow::array::ArrayRef;
use arrow::datatypes::{DataType, Schema};
use dnabench_engine::row_file::open_row_file;
use dnabench_engine::Store;
use futures::StreamExt;

use super::{ids_of, vectors_of_columns, EmbeddingImport, EmbeddingSummary, PredictionImport};
use super::{PredictionSummary, Vectors};

/// The columns that hold a file's ids and its vectors.
#[derive(Debug, Clone, PartialEq)]
struct FileColumns {
    id: usize,
    values: Vec<usize>,
}

impl FileColumns {
    fn find(schema: &Schema, path: &Path, list_name: &str) -> Result<FileColumns> {
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        let Some(id) = names.iter().position(|n| *n == "example_id") else {
            bail!(
                "{}: no column 'example_id' (the columns are {})",
                path.display(),
                names.join(", ")
            );
        };
        if let Some(list) = names.iter().position(|n| *n == list_name) {
            return Ok(FileColumns {
                id,
                values: vec![list],
            });
        }
        let values: Vec<usize> = schema
            .fields()
            .iter()
            .enumerate()
            .filter(|(i, f)| {
                *i != id
                    && (f.data_type().is_numeric()
                        || matches!(
                            f.data_type(),
                            DataType::List(_) | DataType::FixedSizeList(..)
                        ))
            })
            .map(|(i, _)| i)
            .collect();
        if values.is_empty() {
            bail!(
                "{}: no column '{list_name}' and no numeric column beside example_id (the columns are {})",
                path.display(),
                names.join(", ")
            );
        }
        Ok(FileColumns { id, values })
    }
}

/// Reads `path` batch by batch, handing each batch's ids and vectors to
/// `take` with a namer of its rows.
fn read_file(
    path: &Path,
    list_name: &str,
    mut take: impl FnMut(Vec<String>, Vectors, &dyn Fn(usize) -> String) -> Result<usize>,
) -> Result<usize> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut stream = rt.block_on(open_row_file(path))?;
    let columns = FileColumns::find(&stream.schema(), path, list_name)?;
    let mut done = 0usize;
    while let Some(batch) = rt.block_on(stream.next()) {
        let batch = batch.with_context(|| format!("reading {}", path.display()))?;
        let first = done;
        let row_of = |i: usize| format!("{}, row {}", path.display(), first + i + 1);
        let values: Vec<&ArrayRef> = columns.values.iter().map(|&c| batch.column(c)).collect();
        let vectors = vectors_of_columns(&values, &row_of)?;
        let ids = ids_of(batch.column(columns.id), &row_of)?;
        done += take(ids, vectors, &row_of)?;
    }
    Ok(done)
}

/// Run `run_id`'s predictions of `dataset` from `path`, committed as one
/// run (see [`PredictionImport`]).
pub fn import_predictions(
    store: &Store,
    path: &Path,
    run_id: &str,
    dataset: &str,
    splits: &[String],
    model: &str,
    config: Option<&str>,
) -> Result<PredictionSummary> {
    let mut import = PredictionImport::start(store, run_id, dataset, splits)?;
    read_file(path, "output", |ids, outputs, row_of| {
        import.write_rows(ids, outputs, row_of)
    })?;
    import.commit(model, config)
}

/// Run `run_id`'s embeddings of `dataset` from `path` into their table
/// (see [`EmbeddingImport`]).
pub fn import_embeddings(
    store: &Store,
    path: &Path,
    run_id: &str,
    dataset: &str,
    table: Option<&str>,
) -> Result<EmbeddingSummary> {
    let mut import = EmbeddingImport::start(store, run_id, dataset, table)?;
    read_file(path, "vector", |ids, vectors, row_of| {
        import.write_rows(ids, vectors, row_of)
    })?;
    import.commit()
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::Field;
    use std::sync::Arc;

    #[test]
    fn the_vectors_are_a_list_column_or_the_numeric_ones() {
        let path = Path::new("p.csv");
        let csv = Schema::new(vec![
            Field::new("example_id", DataType::Utf8, false),
            Field::new("split", DataType::Utf8, false),
            Field::new("output_0", DataType::Float64, false),
            Field::new("output_1", DataType::Int64, false),
        ]);
        assert_eq!(
            FileColumns::find(&csv, path, "output").unwrap(),
            FileColumns {
                id: 0,
                values: vec![2, 3]
            }
        );
        let list = DataType::List(Arc::new(Field::new("item", DataType::Float32, true)));
        let parquet = Schema::new(vec![
            Field::new("run_id", DataType::Utf8, false),
            Field::new("example_id", DataType::Utf8, false),
            Field::new("output", list, false),
        ]);
        assert_eq!(
            FileColumns::find(&parquet, path, "output").unwrap(),
            FileColumns {
                id: 1,
                values: vec![2]
            }
        );
        let no_id = Schema::new(vec![Field::new("id", DataType::Utf8, false)]);
        let e = FileColumns::find(&no_id, path, "output")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("p.csv") && e.contains("'example_id'") && e.contains("id"),
            "{e}"
        );
    }
}
