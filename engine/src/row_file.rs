//! A file of rows made outside dnabench (a model's predictions or
//! embeddings written by PyTorch, JAX, R, a spreadsheet): Parquet, Arrow
//! IPC (Feather v2) or CSV with a header, read as a stream of record
//! batches through DataFusion's readers, so a file larger than memory is
//! never held whole.

use std::path::Path;

use datafusion::datasource::file_format::options::ArrowReadOptions;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::prelude::{CsvReadOptions, ParquetReadOptions, SessionContext};

use crate::error::{Error, Result};

/// The formats [`open_row_file`] reads, by the file's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowFileFormat {
    Parquet,
    ArrowIpc,
    Csv,
}

impl RowFileFormat {
    /// `.parquet`; `.arrow`, `.ipc`, `.feather`; `.csv`.
    pub fn of(path: &Path) -> Result<RowFileFormat> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("parquet") => Ok(RowFileFormat::Parquet),
            Some("arrow" | "ipc" | "feather") => Ok(RowFileFormat::ArrowIpc),
            Some("csv") => Ok(RowFileFormat::Csv),
            _ => Err(Error::Invalid(format!(
                "{}: unknown file type; expected .parquet, .arrow / .ipc / .feather (Arrow IPC) or .csv",
                path.display()
            ))),
        }
    }
}

/// The rows of `path`, batch by batch.
pub async fn open_row_file(path: &Path) -> Result<SendableRecordBatchStream> {
    let format = RowFileFormat::of(path)?;
    if !path.is_file() {
        return Err(Error::Invalid(format!("{}: no such file", path.display())));
    }
    let ctx = SessionContext::new();
    let name = path
        .to_str()
        .ok_or_else(|| Error::Invalid(format!("{}: the path is not UTF-8", path.display())))?;
    let frame = match format {
        RowFileFormat::Parquet => {
            ctx.read_parquet(name, ParquetReadOptions::default().file_extension(""))
                .await
        }
        RowFileFormat::ArrowIpc => {
            let options = ArrowReadOptions {
                file_extension: "",
                ..Default::default()
            };
            ctx.read_arrow(name, options).await
        }
        RowFileFormat::Csv => {
            ctx.read_csv(
                name,
                CsvReadOptions::new().has_header(true).file_extension(""),
            )
            .await
        }
    }
    .map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))?;
    frame
        .execute_stream()
        .await
        .map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::TryStreamExt;

    #[test]
    fn the_format_is_the_extension() {
        assert_eq!(
            RowFileFormat::of(Path::new("p.PARQUET")).unwrap(),
            RowFileFormat::Parquet
        );
        assert_eq!(
            RowFileFormat::of(Path::new("p.feather")).unwrap(),
            RowFileFormat::ArrowIpc
        );
        let e = RowFileFormat::of(Path::new("p.tsv"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("p.tsv") && e.contains(".csv"), "{e}");
    }

    #[tokio::test]
    async fn a_csv_file_streams_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.csv");
        std::fs::write(&path, "example_id,output_0,output_1\na,0.5,1\nb,-2,3.25\n").unwrap();
        let batches: Vec<_> = open_row_file(&path)
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        assert_eq!(rows, 2);
        assert_eq!(batches[0].schema().field(1).name(), "output_0");
        let Err(missing) = open_row_file(&dir.path().join("none.csv")).await else {
            panic!("a missing file opened");
        };
        let missing = missing.to_string();
        assert!(missing.contains("none.csv") && missing.contains("no such file"));
    }
}
