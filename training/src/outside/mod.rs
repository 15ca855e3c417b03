//! Models outside dnabench on the benchmark: predictions and embeddings
//! computed anywhere (PyTorch, JAX, a file) come in as dnabench's own runs
//! write them, so the same task SQL scores them and the same downstream
//! fits read them.
//!
//! Every row is checked before it is taken, against the dataset's examples
//! ([`ExampleCatalog`]): its example id must be one of the dataset's (of
//! the splits taken), given once; its vector must have the width the task
//! asks for; every value must be finite. A batch with a bad row is refused
//! whole, with a message naming the row, its example and the rule, and
//! nothing is committed until the import's `commit`: a failed or abandoned
//! import leaves the tables as they were.

mod catalog;
pub mod embeddings;
pub mod file;
pub mod predictions;

pub use catalog::{ExampleCatalog, SplitCoverage};
pub use embeddings::{outside_embeddings_table, EmbeddingImport, EmbeddingSummary};
pub use predictions::{PredictionImport, PredictionSummary};

use anyhow::{bail, Result};
use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Float32Type};

/// A run id names a folder and a table of the store: letters, digits,
/// `.`, `_` and `-`, not starting with `.`.
pub fn check_run_id(run_id: &str) -> Result<()> {
    let ok = !run_id.is_empty()
        && run_id.len() <= 200
        && !run_id.starts_with('.')
        && run_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if !ok {
        bail!(
            "run id '{run_id}' is not a name dnabench can use: give 1-200 letters, digits, '.', '_' or '-', not starting with '.'"
        );
    }
    Ok(())
}

/// Rows of vectors, flat and row-major: `values[i * width..(i + 1) * width]`
/// is row i.
#[derive(Debug, Clone, PartialEq)]
pub struct Vectors {
    pub width: usize,
    pub values: Vec<f32>,
}

/// The vectors of a column: a number per row (width 1), or a list or
/// fixed-size list of numbers per row. Every row must have the first row's
/// width, and no value may be NULL; `row_of(i)` says which row of the
/// input row i is, for messages.
pub fn vectors_of(column: &ArrayRef, row_of: &dyn Fn(usize) -> String) -> Result<Vectors> {
    let n = column.len();
    let floats = |a: &ArrayRef| -> Result<ArrayRef> {
        match a.data_type() {
            t if t.is_numeric() => Ok(arrow::compute::cast(a, &DataType::Float32)?),
            other => bail!("values are {other}; expected numbers"),
        }
    };
    let (width, flat, offsets): (usize, ArrayRef, Option<Vec<usize>>) = match column.data_type() {
        DataType::FixedSizeList(_, w) => {
            let list = column.as_fixed_size_list();
            if let Some(i) = (0..n).find(|&i| list.is_null(i)) {
                bail!("{}: the vector is NULL", row_of(i));
            }
            let values = list.values().slice(list.value_offset(0) as usize, n * *w as usize);
            (*w as usize, floats(&values)?, None)
        }
        DataType::List(_) | DataType::LargeList(_) => {
            let list = arrow::compute::cast(
                column,
                &DataType::List(std::sync::Arc::new(arrow::datatypes::Field::new(
                    "item",
                    DataType::Float32,
                    true,
                ))),
            )?;
            let list = list.as_list::<i32>();
            if let Some(i) = (0..n).find(|&i| list.is_null(i)) {
                bail!("{}: the vector is NULL", row_of(i));
            }
            let offsets: Vec<usize> = list.value_offsets().iter().map(|&o| o as usize).collect();
            let width = if n == 0 { 0 } else { offsets[1] - offsets[0] };
            if let Some(i) = (0..n).find(|&i| offsets[i + 1] - offsets[i] != width) {
                bail!(
                    "{}: the vector has {} values where the first row has {width}",
                    row_of(i),
                    offsets[i + 1] - offsets[i]
                );
            }
            (width, list.values().clone(), Some(offsets))
        }
        t if t.is_numeric() => (1, floats(column)?, None),
        other => bail!("the values are {other}; expected a number, a list or a fixed-size list of numbers per row"),
    };
    let flat = flat.as_primitive::<Float32Type>();
    let start = offsets.as_ref().map_or(0, |o| o[0]);
    let mut values = Vec::with_capacity(n * width);
    for i in 0..n * width {
        let j = start + i;
        if flat.is_null(j) {
            bail!(
                "{}: value {} of the vector is NULL",
                row_of(i / width.max(1)),
                i % width.max(1)
            );
        }
        values.push(flat.value(j));
    }
    Ok(Vectors { width, values })
}

/// Several numeric columns side by side as one vector per row (a CSV's
/// `output_0`, `output_1`, …).
pub fn vectors_of_columns(
    columns: &[&ArrayRef],
    row_of: &dyn Fn(usize) -> String,
) -> Result<Vectors> {
    let parts: Vec<Vectors> = columns
        .iter()
        .map(|c| vectors_of(c, row_of))
        .collect::<Result<_>>()?;
    let n = columns.first().map_or(0, |c| c.len());
    let width: usize = parts.iter().map(|p| p.width).sum();
    let mut values = Vec::with_capacity(n * width);
    for i in 0..n {
        for p in &parts {
            values.extend_from_slice(&p.values[i * p.width..(i + 1) * p.width]);
        }
    }
    Ok(Vectors { width, values })
}

/// The example ids of a column, as text.
pub fn ids_of(column: &ArrayRef, row_of: &dyn Fn(usize) -> String) -> Result<Vec<String>> {
    let text = match column.data_type() {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            arrow::compute::cast(column, &DataType::Utf8)?
        }
        other => bail!("example ids are {other}; expected text"),
    };
    let text = text.as_string::<i32>();
    (0..text.len())
        .map(|i| {
            if text.is_null(i) {
                bail!("{}: the example id is NULL", row_of(i))
            }
            Ok(text.value(i).to_string())
        })
        .collect()
}

/// A batch's example ids and vectors (see [`ids_of`], [`vectors_of`]),
/// one of each a row; `what` names the vectors in messages.
pub fn rows_of(
    ids: &ArrayRef,
    values: &ArrayRef,
    what: &str,
    row_of: &dyn Fn(usize) -> String,
) -> Result<(Vec<String>, Vectors)> {
    if ids.len() != values.len() {
        bail!("{} example ids but {} {what} rows", ids.len(), values.len());
    }
    Ok((ids_of(ids, row_of)?, vectors_of(values, row_of)?))
}

/// The first row of `vectors` with a value that is NaN or infinite.
pub(crate) fn first_not_finite(vectors: &Vectors) -> Option<(usize, usize, f32)> {
    let w = vectors.width.max(1);
    vectors
        .values
        .iter()
        .position(|v| !v.is_finite())
        .map(|i| (i / w, i % w, vectors.values[i]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Float64Array, ListArray, StringArray};
    use arrow::datatypes::Float64Type;
    use std::sync::Arc;

    fn row(i: usize) -> String {
        format!("row {}", i + 1)
    }

    #[test]
    fn vectors_come_from_numbers_lists_and_columns() {
        let numbers: ArrayRef = Arc::new(Float64Array::from(vec![0.5, -1.0]));
        assert_eq!(
            vectors_of(&numbers, &row).unwrap(),
            Vectors {
                width: 1,
                values: vec![0.5, -1.0]
            }
        );
        let lists: ArrayRef = Arc::new(ListArray::from_iter_primitive::<Float64Type, _, _>(vec![
            Some(vec![Some(1.0), Some(2.0)]),
            Some(vec![Some(3.0), Some(4.0)]),
        ]));
        let v = vectors_of(&lists.slice(1, 1), &row).unwrap();
        assert_eq!(v.values, vec![3.0, 4.0]);
        let both = vectors_of_columns(&[&numbers, &lists], &row).unwrap();
        assert_eq!(both.width, 3);
        assert_eq!(both.values, vec![0.5, 1.0, 2.0, -1.0, 3.0, 4.0]);
    }

    #[test]
    fn ragged_null_or_text_values_are_refused_naming_the_row() {
        let ragged: ArrayRef = Arc::new(ListArray::from_iter_primitive::<Float64Type, _, _>(vec![
            Some(vec![Some(1.0), Some(2.0)]),
            Some(vec![Some(3.0)]),
        ]));
        let e = vectors_of(&ragged, &row).unwrap_err().to_string();
        assert!(
            e.contains("row 2") && e.contains("1 values where the first row has 2"),
            "{e}"
        );
        let null: ArrayRef = Arc::new(Float64Array::from(vec![Some(1.0), None]));
        let e = vectors_of(&null, &row).unwrap_err().to_string();
        assert!(e.contains("row 2") && e.contains("NULL"), "{e}");
        let text: ArrayRef = Arc::new(StringArray::from(vec!["a"]));
        assert!(vectors_of(&text, &row).is_err());
        let v = Vectors {
            width: 2,
            values: vec![0.0, 1.0, f32::NAN, 2.0],
        };
        assert_eq!(first_not_finite(&v).map(|(r, c, _)| (r, c)), Some((1, 0)));
    }

    #[test]
    fn run_ids_are_names() {
        assert!(check_run_id("my-cnn_2.1").is_ok());
        for bad in ["", "../x", "a/b", ".hidden", "a b"] {
            assert!(check_run_id(bad).is_err(), "{bad}");
        }
    }
}
