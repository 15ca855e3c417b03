//! `read_examples(path)`: a file of examples made outside dnabench, as rows
//! a task query can select from, so a fixed set (the benchmark paper's own
//! promoter validation and test windows) becomes a dataset of `examples`
//! beside dnabench's. Reads the paper's JSON lines
//! ([`crate::formats::example_json`]), plain or compressed.
//!
//! ```sql
//! SELECT example_id, 'test' AS split, chrom, start, "end", strand, label
//! FROM read_examples('recipes/paper/promoter_test.jsonl');
//! ```
//!
//! Columns `example_id` (the file's stem and line, `promoter_test:12`),
//! `chrom`, `start`, `end`, `strand`, `tss` (offset in the window, NULL
//! where none), `label` (the label when the example has exactly one, else
//! NULL) and `labels` (all of them).

use std::path::Path;
use std::sync::{Arc, OnceLock};

use arrow::array::{
    ArrayRef, Float32Array, Float32Builder, Int64Array, ListBuilder, RecordBatch, StringArray,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::{plan_err, DataFusionError, Result, ScalarValue};
use datafusion::datasource::MemTable;
use datafusion::logical_expr::{Documentation, Expr};

use crate::formats::example_json::{ExampleJsonReader, ExampleRecord};

const USAGE: &str = "read_examples('path')";
const ROWS_PER_BATCH: usize = 8192;

#[derive(Debug)]
pub struct ReadExamplesFunction;

pub fn read_examples_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("example_id", DataType::Utf8, false),
        Field::new("chrom", DataType::Utf8, false),
        Field::new("start", DataType::Int64, false),
        Field::new("end", DataType::Int64, false),
        Field::new("strand", DataType::Utf8, true),
        Field::new("tss", DataType::Int64, true),
        Field::new("label", DataType::Float32, true),
        Field::new(
            "labels",
            DataType::List(Arc::new(Field::new("item", DataType::Float32, true))),
            false,
        ),
    ]))
}

/// What `dnabench sql --functions` and `information_schema` say of it.
pub fn documentation() -> &'static Documentation {
    static DOC: OnceLock<Documentation> = OnceLock::new();
    DOC.get_or_init(|| {
        Documentation::builder(
                super::TABLE,
                r#"The examples of a file made outside dnabench: JSON lines as the benchmark paper's code ships its fixed sets, {"index": [chrom, start, end, strand], "tss": offset or -1, "label": [values]} (plain, gzip or zstd). Columns example_id (the file's stem and line number), chrom, start, end (0-based, half-open), strand, tss (NULL where -1), label (the label of a one-label example) and labels (all of them). A line that does not parse fails the query, naming the file and line."#,
                r#"read_examples('path')"#,
            )
            .with_argument(r#"path"#, r#"The file, relative to the working folder."#)
            .with_sql_example(r#"SELECT label, count(*) FROM read_examples('recipes/paper/promoter_test.jsonl') GROUP BY label"#)
            .build()
    })
}

impl TableFunctionImpl for ReadExamplesFunction {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let path = match args.exprs() {
            [Expr::Literal(ScalarValue::Utf8(Some(path)), _)] => path.clone(),
            other => {
                return plan_err!(
                    "read_examples() takes one string literal, the file's path ({USAGE}), got {} arguments",
                    other.len()
                )
            }
        };
        let batches = read_batches(Path::new(&path))
            .map_err(|e| DataFusionError::Plan(format!("read_examples(): {e}")))?;
        Ok(Arc::new(MemTable::try_new(
            read_examples_schema(),
            vec![batches],
        )?))
    }
}

/// The file's examples as batches of [`read_examples_schema`]. The sets it
/// is for hold thousands of rows, so they are read whole when planned.
pub fn read_batches(path: &Path) -> crate::Result<Vec<RecordBatch>> {
    let stem = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let stem = stem.split('.').next().unwrap_or_default().to_string();
    let mut batches = Vec::new();
    let mut rows: Vec<(u64, ExampleRecord)> = Vec::with_capacity(ROWS_PER_BATCH);
    for record in ExampleJsonReader::open(path)? {
        rows.push(record?);
        if rows.len() == ROWS_PER_BATCH {
            batches.push(batch(&stem, &rows)?);
            rows.clear();
        }
    }
    if !rows.is_empty() || batches.is_empty() {
        batches.push(batch(&stem, &rows)?);
    }
    Ok(batches)
}

fn batch(stem: &str, rows: &[(u64, ExampleRecord)]) -> crate::Result<RecordBatch> {
    let mut labels = ListBuilder::new(Float32Builder::new());
    for (_, r) in rows {
        labels.values().append_slice(&r.label);
        labels.append(true);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|(line, _)| format!("{stem}:{line}")),
        )),
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|(_, r)| r.chrom.as_str()),
        )),
        Arc::new(Int64Array::from_iter_values(
            rows.iter().map(|(_, r)| r.start),
        )),
        Arc::new(Int64Array::from_iter_values(
            rows.iter().map(|(_, r)| r.end),
        )),
        Arc::new(StringArray::from_iter(rows.iter().map(|(_, r)| r.strand))),
        Arc::new(Int64Array::from_iter(rows.iter().map(|(_, r)| r.tss))),
        Arc::new(Float32Array::from_iter(rows.iter().map(
            |(_, r)| match r.label.as_slice() {
                [one] => Some(*one),
                _ => None,
            },
        ))),
        Arc::new(labels.finish()),
    ];
    Ok(RecordBatch::try_new(read_examples_schema(), columns)?)
}
