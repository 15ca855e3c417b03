//! Checking a record batch against the schema of its table before it is written.

use std::fmt;

use arrow::record_batch::RecordBatch;
use arrow_schema::Schema;

/// How a batch differs from the schema of the table it is meant for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaMismatch {
    pub table: String,
    pub problems: Vec<String>,
}

impl fmt::Display for SchemaMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "batch does not match the schema of table '{}': {}",
            self.table,
            self.problems.join("; ")
        )
    }
}

impl std::error::Error for SchemaMismatch {}

/// Checks that `batch` has exactly the fields of `expected` (name, type,
/// order) and no nulls in a non-nullable field.
pub fn validate_batch(
    table: &str,
    batch: &RecordBatch,
    expected: &Schema,
) -> Result<(), SchemaMismatch> {
    let mut problems = Vec::new();
    let actual = batch.schema();
    if actual.fields().len() != expected.fields().len() {
        problems.push(format!(
            "{} columns, expected {}",
            actual.fields().len(),
            expected.fields().len()
        ));
    }
    for (i, want) in expected.fields().iter().enumerate() {
        let Some(got) = actual.fields().get(i) else {
            problems.push(format!("missing column '{}'", want.name()));
            continue;
        };
        if got.name() != want.name() {
            problems.push(format!(
                "column {i} is '{}', expected '{}'",
                got.name(),
                want.name()
            ));
        }
        if got.data_type() != want.data_type() {
            problems.push(format!(
                "column '{}' is {}, expected {}",
                want.name(),
                got.data_type(),
                want.data_type()
            ));
        }
        if !want.is_nullable() && batch.column(i).null_count() > 0 {
            problems.push(format!(
                "column '{}' has {} nulls but may not be null",
                want.name(),
                batch.column(i).null_count()
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(SchemaMismatch {
            table: table.to_string(),
            problems,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Int64Array, StringArray};

    use super::*;
    use crate::chroms_schema;

    #[test]
    fn a_batch_of_the_right_shape_passes_and_a_wrong_one_names_its_problems() {
        let schema = crate::genome_schema();
        let good = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(vec!["chr1"])),
                Arc::new(Int64Array::from(vec![0])),
                Arc::new(Int64Array::from(vec![4])),
                Arc::new(StringArray::from(vec!["ACGT"])),
            ],
        )
        .unwrap();
        assert_eq!(validate_batch("genome", &good, &schema), Ok(()));

        let err = validate_batch("chroms", &good, &chroms_schema()).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("table 'chroms'"), "{text}");
        assert!(text.contains("4 columns, expected 7"), "{text}");
        assert!(
            text.contains("column 1 is 'start', expected 'length'"),
            "{text}"
        );
    }
}
