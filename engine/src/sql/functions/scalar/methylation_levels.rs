//! `methylation_levels(methylated, coverage, min_coverage)`: each sample's
//! methylated fraction, or NULL where it has fewer reads than `min_coverage`.
//!
//! ```sql
//! SELECT chrom, cpg, methylation_levels(methylated, coverage, 10) AS targets
//! FROM cpg_matrix('methylation') WHERE array_max(coverage) >= 10;
//! ```
//!
//! The lists pair up by position (as `cpg_matrix()` writes them); a NULL
//! list gives a NULL list, a NULL count a NULL level.

use std::sync::{Arc, OnceLock};

use arrow::array::{Array, ArrayRef, AsArray, Float32Array, ListArray};
use arrow::buffer::NullBuffer;
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Int32Type, Int64Type};
use datafusion::common::{exec_err, plan_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use crate::sql::cpg_matrix::count_list;
use crate::sql::functions::args::{finish, to_arrays};

const USAGE: &str = "methylation_levels(methylated, coverage, min_coverage)";

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct MethylationLevelsFunction {
    signature: Signature,
}

impl MethylationLevelsFunction {
    pub fn new() -> Self {
        MethylationLevelsFunction {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl Default for MethylationLevelsFunction {
    fn default() -> Self {
        Self::new()
    }
}

/// What `dnabench sql --functions` and `information_schema` say of it.
pub fn documentation() -> &'static Documentation {
    static DOC: OnceLock<Documentation> = OnceLock::new();
    DOC.get_or_init(|| {
        Documentation::builder(
                super::SCALAR,
                r#"Each sample's methylated fraction (methylated / coverage, as FLOAT), or NULL where the sample has fewer than min_coverage reads or no call. The two lists pair up by position, as cpg_matrix() writes them; lists of different lengths are an error naming the row."#,
                r#"methylation_levels(methylated, coverage, min_coverage)"#,
            )
            .with_argument(r#"methylated"#, r#"Methylated reads per sample (a list of integers)."#)
            .with_argument(r#"coverage"#, r#"Reads per sample (a list of integers)."#)
            .with_argument(r#"min_coverage"#, r#"Reads a sample needs for a level."#)
            .with_sql_example(r#"SELECT methylation_levels([3, 0, NULL, 9], [4, 2, NULL, 30], 3) AS levels"#)
            .build()
    })
}

impl ScalarUDFImpl for MethylationLevelsFunction {
    fn documentation(&self) -> Option<&Documentation> {
        Some(documentation())
    }

    fn name(&self) -> &str {
        "methylation_levels"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if arg_types.len() != 3 {
            return plan_err!(
                "methylation_levels() takes 3 arguments: {USAGE}, got {}",
                arg_types.len()
            );
        }
        for (i, t) in arg_types.iter().take(2).enumerate() {
            let ok = match t {
                DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
                    f.data_type().is_integer() || *f.data_type() == DataType::Null
                }
                DataType::Null => true,
                _ => false,
            };
            if !ok {
                return plan_err!(
                    "methylation_levels(): argument {} must be a list of integers, got {t} ({USAGE})",
                    i + 1
                );
            }
        }
        if !(arg_types[2].is_integer() || arg_types[2] == DataType::Null) {
            return plan_err!(
                "methylation_levels(): min_coverage must be an integer, got {} ({USAGE})",
                arg_types[2]
            );
        }
        Ok(vec![count_list(), count_list(), DataType::Int64])
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::List(Arc::new(Field::new(
            "item",
            DataType::Float32,
            true,
        ))))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let (arrays, all_scalar) = to_arrays(&args.args, args.number_rows)?;
        let as_list = |a: &ArrayRef| -> Result<ListArray> {
            Ok(cast(a, &count_list())?.as_list::<i32>().clone())
        };
        let (methylated, coverage) = (as_list(&arrays[0])?, as_list(&arrays[1])?);
        let min_coverage = arrays[2].as_primitive::<Int64Type>();
        finish(
            Arc::new(levels(&methylated, &coverage, min_coverage)?),
            all_scalar,
        )
    }
}

fn levels(
    methylated: &ListArray,
    coverage: &ListArray,
    min_coverage: &arrow::array::Int64Array,
) -> Result<ListArray> {
    let rows = methylated.len();
    let nulls = NullBuffer::union(methylated.nulls(), coverage.nulls());
    let nulls = NullBuffer::union(nulls.as_ref(), min_coverage.nulls());
    for row in 0..rows {
        if nulls.as_ref().is_none_or(|n| n.is_valid(row))
            && methylated.value_length(row) != coverage.value_length(row)
        {
            return exec_err!(
                "methylation_levels(): row {row} has {} methylated counts but {} coverages; \
                 the lists pair up by sample",
                methylated.value_length(row),
                coverage.value_length(row)
            );
        }
    }
    let m_values = methylated.values().as_primitive::<Int32Type>();
    let c_values = coverage.values().as_primitive::<Int32Type>();
    let m_offsets = methylated.value_offsets();
    let c_offsets = coverage.value_offsets();
    let mut out: Vec<Option<f32>> = Vec::with_capacity(c_values.len());
    let mut lengths = Vec::with_capacity(rows);
    for row in 0..rows {
        if nulls.as_ref().is_some_and(|n| n.is_null(row)) {
            lengths.push(0);
            continue;
        }
        let min = min_coverage.value(row);
        let (m0, c0) = (m_offsets[row] as usize, c_offsets[row] as usize);
        let n = coverage.value_length(row) as usize;
        for k in 0..n {
            let (m, c) = (m0 + k, c0 + k);
            let level = (m_values.is_valid(m) && c_values.is_valid(c))
                .then(|| (m_values.value(m), c_values.value(c)))
                .filter(|&(_, reads)| reads > 0 && i64::from(reads) >= min)
                .map(|(meth, reads)| (f64::from(meth) / f64::from(reads)) as f32);
            out.push(level);
        }
        lengths.push(n);
    }
    Ok(ListArray::new(
        Arc::new(Field::new("item", DataType::Float32, true)),
        arrow::buffer::OffsetBuffer::from_lengths(lengths),
        Arc::new(Float32Array::from(out)),
        nulls,
    ))
}

#[cfg(test)]
mod tests {
    use datafusion::execution::context::SessionContext;

    use crate::sql::functions::pretty_sql;

    #[tokio::test]
    async fn levels_where_coverage_suffices_and_errors_that_name_the_row() {
        let ctx = SessionContext::new();
        crate::sql::functions::register_all(&ctx, None);
        let text = pretty_sql(
            &ctx,
            "SELECT methylation_levels([3, 0, NULL, 9], [4, 2, NULL, 30], 3) AS l",
        )
        .await
        .unwrap();
        assert!(text.contains("[0.75, , , 0.3]"), "{text}");
        let err = pretty_sql(&ctx, "SELECT methylation_levels([1, 2], [3], 1)")
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("row 0 has 2 methylated counts but 1"), "{err}");
        let err = pretty_sql(&ctx, "SELECT methylation_levels(1, [3], 1)")
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("argument 1 must be a list of integers"),
            "{err}"
        );
    }
}
