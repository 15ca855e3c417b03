//! The SQL logic tests of `tests/sql/*.slt`, in DataFusion's habit: every
//! file runs in a fresh session with dnabench's planner rule and functions
//! over a small genome (below), and each result is compared as text.
//!
//! ```text
//! cargo test -p dnabench-engine --test sqllogictest              # every file
//! cargo test -p dnabench-engine --test sqllogictest -- metrics   # files whose name has 'metrics'
//! DNABENCH_SLT_COMPLETE=1 cargo test -p dnabench-engine --test sqllogictest   # rewrite results
//! ```
//!
//! Rewriting takes the engine's answers as the expected ones: read the diff
//! before committing it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Float32Type, Float64Type};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use async_trait::async_trait;
use datafusion::error::DataFusionError;
use datafusion::execution::context::SessionContext;
use dnabench_engine::sql::functions::register_all;
use dnabench_engine::sql::new_context;
use dnabench_engine::Genome;
use sqllogictest::{default_normalizer, default_validator, AsyncDB, ColumnType, DBOutput, Runner};

/// The genome every file sees: `chr1` is 8 bases repeated, `chr2` holds a
/// run of N between two stretches of bases, `chrN` is all N.
fn genome() -> Genome {
    let chr1 = b"ACGTTGCA".repeat(125);
    let mut chr2 = b"GGGCCCAT".repeat(25);
    chr2.extend(std::iter::repeat_n(b'N', 100));
    chr2.extend(b"ATATCGCG".repeat(25));
    Genome::from_sequences([
        ("chr1".to_string(), chr1),
        ("chr2".to_string(), chr2),
        ("chrN".to_string(), vec![b'N'; 300]),
    ])
}

struct Session {
    ctx: SessionContext,
}

impl Session {
    fn new() -> Session {
        let ctx = new_context();
        register_all(&ctx, Some(Arc::new(genome())));
        Session { ctx }
    }
}

/// A value as the expected results write it: NULL, floats to 6 decimals
/// without trailing zeros, the empty string as `(empty)`, everything else as
/// Arrow displays it.
fn cell(column: &ArrayRef, row: usize) -> Result<String, DataFusionError> {
    if column.is_null(row) {
        return Ok("NULL".to_string());
    }
    let float = match column.data_type() {
        DataType::Float64 => Some(column.as_primitive::<Float64Type>().value(row)),
        DataType::Float32 => Some(f64::from(column.as_primitive::<Float32Type>().value(row))),
        _ => None,
    };
    if let Some(v) = float {
        if !v.is_finite() {
            return Ok(v.to_string());
        }
        let text = format!("{v:.6}");
        let text = text.trim_end_matches('0').trim_end_matches('.');
        return Ok(if text == "-0" { "0" } else { text }.to_string());
    }
    let options = FormatOptions::default().with_null("NULL");
    let formatter = ArrayFormatter::try_new(column.as_ref(), &options)?;
    let text = formatter.value(row).to_string();
    // An empty string would vanish between the columns: DataFusion's own
    // logic tests write it as `(empty)`.
    Ok(if text.is_empty() {
        "(empty)".to_string()
    } else {
        text
    })
}

/// A result column's type as a `query` line writes it, as DataFusion's own
/// logic tests do: `B`oolean, `I`nteger, `R`eal, `T`ext, anything else `?`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Column {
    Boolean,
    Integer,
    Real,
    Text,
    Other,
}

impl ColumnType for Column {
    fn from_char(value: char) -> Option<Self> {
        Some(match value {
            'B' => Column::Boolean,
            'I' => Column::Integer,
            'R' => Column::Real,
            'T' => Column::Text,
            _ => Column::Other,
        })
    }

    fn to_char(&self) -> char {
        match self {
            Column::Boolean => 'B',
            Column::Integer => 'I',
            Column::Real => 'R',
            Column::Text => 'T',
            Column::Other => '?',
        }
    }
}

fn column_type(data_type: &DataType) -> Column {
    if data_type.is_integer() {
        Column::Integer
    } else if data_type.is_floating() {
        Column::Real
    } else if *data_type == DataType::Boolean {
        Column::Boolean
    } else if matches!(
        data_type,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    ) {
        Column::Text
    } else {
        Column::Other
    }
}

/// The types a `query` line declares must be the result's.
// The runner's validator type takes `&Vec`.
#[allow(clippy::ptr_arg)]
fn same_types(actual: &Vec<Column>, expected: &Vec<Column>) -> bool {
    actual == expected
}

#[async_trait]
impl AsyncDB for Session {
    type Error = DataFusionError;
    type ColumnType = Column;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<Column>, DataFusionError> {
        let df = self.ctx.sql(sql).await?;
        let schema = df.schema().inner().clone();
        let batches = df.collect().await?;
        if schema.fields().is_empty() {
            return Ok(DBOutput::StatementComplete(0));
        }
        let mut rows = Vec::new();
        for batch in &batches {
            for row in 0..batch.num_rows() {
                rows.push(
                    batch
                        .columns()
                        .iter()
                        .map(|c| cell(c, row))
                        .collect::<Result<Vec<_>, _>>()?,
                );
            }
        }
        Ok(DBOutput::Rows {
            types: schema
                .fields()
                .iter()
                .map(|f| column_type(f.data_type()))
                .collect(),
            rows,
        })
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        "dnabench"
    }
}

fn slt_files(filter: Option<&str>) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/sql");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "slt"))
        .filter(|p| filter.is_none_or(|f| p.to_string_lossy().contains(f)))
        .collect();
    files.sort();
    files
}

#[tokio::main]
async fn main() {
    // cargo test passes libtest's flags; the one free argument filters files.
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let complete = std::env::var_os("DNABENCH_SLT_COMPLETE").is_some();
    let files = slt_files(filter.as_deref());
    assert!(!files.is_empty(), "no .slt file under tests/sql");
    let (mut passed, mut failed) = (0, 0);
    for path in &files {
        let mut runner = Runner::new(|| async { Ok(Session::new()) });
        runner.with_column_validator(same_types);
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let outcome = if complete {
            runner
                .update_test_file(path, " ", default_validator, default_normalizer, same_types)
                .await
                .map_err(|e| e.to_string())
        } else {
            runner
                .run_file_async(path)
                .await
                .map_err(|e| e.display(false).to_string())
        };
        match outcome {
            Ok(()) => {
                passed += 1;
                println!("sql: {name} ok");
            }
            Err(e) => {
                failed += 1;
                println!("sql: {name} FAILED\n{e}");
            }
        }
    }
    println!("sql logic tests: {passed} passed, {failed} failed");
    if failed > 0 {
        std::process::exit(1);
    }
}
