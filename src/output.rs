//! Writing query results: an aligned table, CSV, JSON, NDJSON or Parquet.

use std::fmt;
use std::io::Write;
use std::str::FromStr;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, StringArray};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;

use dnabench_engine::error::{Error, Result};

/// How results are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// An aligned table for people; long strings are shortened.
    Table,
    Csv,
    /// One JSON array of objects.
    Json,
    /// One JSON object per line.
    Ndjson,
    Parquet,
}

impl FromStr for OutputFormat {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "table" => Ok(OutputFormat::Table),
            "csv" => Ok(OutputFormat::Csv),
            "json" => Ok(OutputFormat::Json),
            "ndjson" | "jsonl" => Ok(OutputFormat::Ndjson),
            "parquet" => Ok(OutputFormat::Parquet),
            other => Err(Error::Invalid(format!(
                "unknown output format '{other}', expected table, csv, json, ndjson or parquet"
            ))),
        }
    }
}

impl fmt::Display for OutputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OutputFormat::Table => "table",
            OutputFormat::Csv => "csv",
            OutputFormat::Json => "json",
            OutputFormat::Ndjson => "ndjson",
            OutputFormat::Parquet => "parquet",
        })
    }
}

/// Longest string shown in a table cell; CSV, JSON and Parquet keep everything.
pub const TABLE_CELL_CHARS: usize = 60;

/// Writes `batches` to `out` in `format`.
pub fn write_batches<W: Write + Send>(
    schema: &SchemaRef,
    batches: &[RecordBatch],
    format: OutputFormat,
    mut out: W,
) -> Result<()> {
    match format {
        OutputFormat::Table => {
            let shortened = batches
                .iter()
                .map(shorten_strings)
                .collect::<Result<Vec<_>>>()?;
            let text = if shortened.is_empty() {
                arrow::util::pretty::pretty_format_batches(&[RecordBatch::new_empty(
                    schema.clone(),
                )])?
            } else {
                arrow::util::pretty::pretty_format_batches(&shortened)?
            };
            let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
            writeln!(out, "{text}")?;
            writeln!(out, "{rows} row{}", if rows == 1 { "" } else { "s" })?;
        }
        OutputFormat::Json => {
            {
                let mut w = arrow::json::ArrayWriter::new(&mut out);
                for b in batches {
                    w.write(b)?;
                }
                w.finish()?;
            }
            if batches.iter().all(|b| b.num_rows() == 0) {
                write!(out, "[]")?;
            }
            writeln!(out)?;
        }
        OutputFormat::Csv | OutputFormat::Ndjson | OutputFormat::Parquet => {
            let mut w = BatchWriter::new(format, &mut out, schema)?;
            for b in batches {
                w.write(b)?;
            }
            w.finish()?;
        }
    }
    out.flush()?;
    Ok(())
}

/// Writes record batches one by one as they come, in a format that needs
/// no look at the whole (CSV, JSON lines, Parquet): memory holds one batch
/// (and Parquet's row group), however many rows pass.
pub enum BatchWriter<W: Write + Send> {
    Csv(Box<arrow::csv::Writer<W>>, SchemaRef, bool),
    Ndjson(arrow::json::LineDelimitedWriter<W>),
    Parquet(parquet::arrow::ArrowWriter<W>),
}

impl<W: Write + Send> BatchWriter<W> {
    pub fn new(format: OutputFormat, out: W, schema: &SchemaRef) -> Result<Self> {
        Ok(match format {
            OutputFormat::Csv => BatchWriter::Csv(
                Box::new(
                    arrow::csv::WriterBuilder::new()
                        .with_header(true)
                        .build(out),
                ),
                schema.clone(),
                false,
            ),
            OutputFormat::Ndjson => BatchWriter::Ndjson(arrow::json::LineDelimitedWriter::new(out)),
            OutputFormat::Parquet => BatchWriter::Parquet(parquet::arrow::ArrowWriter::try_new(
                out,
                schema.clone(),
                None,
            )?),
            other => {
                return Err(Error::Invalid(format!(
                "format {other} is written whole, not batch by batch; use csv, ndjson or parquet"
            )))
            }
        })
    }

    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        match self {
            BatchWriter::Csv(w, _, wrote) => {
                w.write(&lists_as_text(batch)?)?;
                *wrote = true;
            }
            BatchWriter::Ndjson(w) => w.write(batch)?,
            BatchWriter::Parquet(w) => w.write(batch)?,
        }
        Ok(())
    }

    pub fn finish(self) -> Result<()> {
        match self {
            BatchWriter::Csv(w, schema, wrote) => {
                let mut out = (*w).into_inner();
                // No batch, no header from the writer: give the column names.
                if !wrote {
                    let names: Vec<&str> =
                        schema.fields().iter().map(|f| f.name().as_str()).collect();
                    writeln!(out, "{}", names.join(","))?;
                }
                out.flush()?;
            }
            BatchWriter::Ndjson(mut w) => {
                w.finish()?;
                w.into_inner().flush()?;
            }
            BatchWriter::Parquet(w) => {
                w.close()?;
            }
        }
        Ok(())
    }
}

/// Writes to `path` through a temporary file, so a failure leaves no partial output.
pub fn write_batches_to_file(
    schema: &SchemaRef,
    batches: &[RecordBatch],
    format: OutputFormat,
    path: &std::path::Path,
) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let write_error = |source| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    let tmp = tempfile::NamedTempFile::new_in(dir).map_err(write_error)?;
    write_batches(
        schema,
        batches,
        format,
        std::io::BufWriter::new(tmp.as_file()),
    )?;
    tmp.persist(path).map_err(|e| write_error(e.error))?;
    Ok(())
}

/// CSV has no lists: list columns (`targets`, `positive_tracks`) are
/// written as their text, `[1, 2, 5]`.
fn lists_as_text(batch: &RecordBatch) -> Result<RecordBatch> {
    if !batch.columns().iter().any(|c| c.data_type().is_nested()) {
        return Ok(batch.clone());
    }
    let fields: Vec<arrow::datatypes::Field> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| {
            let t = if f.data_type().is_nested() {
                DataType::Utf8
            } else {
                f.data_type().clone()
            };
            arrow::datatypes::Field::new(f.name(), t, f.is_nullable())
        })
        .collect();
    let columns = batch
        .columns()
        .iter()
        .map(|c| -> Result<ArrayRef> {
            if !c.data_type().is_nested() {
                return Ok(c.clone());
            }
            let options = arrow::util::display::FormatOptions::default();
            let formatter = arrow::util::display::ArrayFormatter::try_new(c.as_ref(), &options)?;
            Ok(Arc::new(
                (0..c.len())
                    .map(|i| (!c.is_null(i)).then(|| formatter.value(i).to_string()))
                    .collect::<StringArray>(),
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(RecordBatch::try_new(
        Arc::new(arrow::datatypes::Schema::new(fields)),
        columns,
    )?)
}

fn shorten_strings(batch: &RecordBatch) -> Result<RecordBatch> {
    let columns = batch
        .columns()
        .iter()
        .map(|c| -> Result<ArrayRef> {
            if c.data_type() != &DataType::Utf8 {
                return Ok(c.clone());
            }
            let s = c.as_string::<i32>();
            // Multi-line text (an EXPLAIN plan) is meant to be read whole.
            let keep = |v: &str| v.len() <= TABLE_CELL_CHARS || v.contains('\n');
            if s.iter().flatten().all(keep) {
                return Ok(c.clone());
            }
            Ok(Arc::new(
                s.iter()
                    .map(|v| {
                        v.map(|v| match v.char_indices().nth(TABLE_CELL_CHARS) {
                            Some((cut, _)) if !keep(v) => {
                                format!("{}… ({} chars)", &v[..cut], v.chars().count())
                            }
                            _ => v.to_string(),
                        })
                    })
                    .collect::<StringArray>(),
            ) as ArrayRef)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(RecordBatch::try_new(batch.schema(), columns)?)
}

#[cfg(test)]
mod tests {
    use arrow::array::Int64Array;
    use arrow::datatypes::{Field, Schema};

    use super::*;

    fn batch() -> (SchemaRef, RecordBatch) {
        let schema = Arc::new(Schema::new(vec![
            Field::new("chrom", DataType::Utf8, false),
            Field::new("length", DataType::Int64, false),
        ]));
        let long = "A".repeat(100);
        let b = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(vec!["chr1", long.as_str()])),
                Arc::new(Int64Array::from(vec![5, 7])),
            ],
        )
        .unwrap();
        (schema, b)
    }

    fn render(format: OutputFormat) -> String {
        let (schema, b) = batch();
        let mut out = Vec::new();
        write_batches(&schema, &[b], format, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn each_format_writes_every_row() {
        let csv = render(OutputFormat::Csv);
        assert!(csv.starts_with("chrom,length\nchr1,5\n"), "{csv}");
        assert!(csv.contains(&"A".repeat(100)));
        let json = render(OutputFormat::Json);
        assert!(
            json.starts_with(r#"[{"chrom":"chr1","length":5},"#),
            "{json}"
        );
        let nd = render(OutputFormat::Ndjson);
        assert_eq!(nd.lines().count(), 2);
        let table = render(OutputFormat::Table);
        assert!(table.contains("… (100 chars)"), "{table}");
        assert!(table.trim_end().ends_with("2 rows"), "{table}");
    }

    #[test]
    fn formats_parse_by_name() {
        assert_eq!("CSV".parse::<OutputFormat>().unwrap(), OutputFormat::Csv);
        assert!("xlsx"
            .parse::<OutputFormat>()
            .unwrap_err()
            .to_string()
            .contains("xlsx"));
    }

    #[test]
    fn csv_writes_list_columns_as_text() {
        use arrow::array::ListArray;
        use arrow::datatypes::Int32Type;
        let lists = ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
            Some(vec![Some(1), Some(5)]),
            None,
        ]);
        let batch =
            RecordBatch::try_from_iter(vec![("tracks", Arc::new(lists) as ArrayRef)]).unwrap();
        let mut out = Vec::new();
        write_batches(&batch.schema(), &[batch], OutputFormat::Csv, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "tracks\n\"[1, 5]\"\n\"\"\n"
        );
    }
}
