//! `overlap_len(s1, e1, s2, e2)`: bases shared by `[s1, e1)` and `[s2, e2)`.
//!
//! ```sql
//! -- DeepSEA's label rule: more than half of the 200 bp bin inside a peak
//! SELECT b.start, p.track_id
//! FROM bins b JOIN peaks p ON b.chrom = p.chrom AND b.start < p."end" AND p.start < b."end"
//! WHERE overlap_len(b.start, b."end", p.start, p."end") > 100;
//! ```
//!
//! 0 when the intervals do not overlap; NULL when any argument is NULL.

use std::sync::{Arc, OnceLock};

use arrow::array::{Array, AsArray, Int64Array};
use arrow::datatypes::{DataType, Int64Type};
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use crate::sql::functions::args::{coerce, finish, to_arrays, Kind};

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct OverlapLenFunction {
    signature: Signature,
}

impl OverlapLenFunction {
    pub fn new() -> Self {
        OverlapLenFunction {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl Default for OverlapLenFunction {
    fn default() -> Self {
        Self::new()
    }
}

/// Bases shared by two half-open intervals.
pub fn overlap_len(s1: i64, e1: i64, s2: i64, e2: i64) -> i64 {
    (e1.min(e2) - s1.max(s2)).max(0)
}

/// What `dnabench sql --functions` and `information_schema` say of it.
pub fn documentation() -> &'static Documentation {
    static DOC: OnceLock<Documentation> = OnceLock::new();
    DOC.get_or_init(|| {
        Documentation::builder(
                super::SCALAR,
                r#"The bases shared by [start1, end1) and [start2, end2): 0 when they do not overlap, NULL when any argument is NULL. With an overlap join it states label rules such as DeepSEA's (more than half of a bin inside a peak)."#,
                r#"overlap_len(start1, end1, start2, end2)"#,
            )
            .with_argument(r#"start1"#, r#"Start of the first interval."#)
            .with_argument(r#"end1"#, r#"End of the first interval."#)
            .with_argument(r#"start2"#, r#"Start of the second interval."#)
            .with_argument(r#"end2"#, r#"End of the second interval."#)
            .with_sql_example(r#"SELECT overlap_len(0, 200, 150, 400) AS shared, overlap_len(0, 100, 100, 200) AS touching"#)
            .build()
    })
}

impl ScalarUDFImpl for OverlapLenFunction {
    fn documentation(&self) -> Option<&Documentation> {
        Some(documentation())
    }

    fn name(&self) -> &str {
        "overlap_len"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        use Kind::Integer;
        coerce(
            "overlap_len",
            "overlap_len(s1, e1, s2, e2)",
            &[Integer, Integer, Integer, Integer],
            4,
            arg_types,
        )
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let (arrays, all_scalar) = to_arrays(&args.args, args.number_rows)?;
        let a: Vec<_> = arrays
            .iter()
            .map(|x| x.as_primitive::<Int64Type>())
            .collect();
        let out: Int64Array = (0..a[0].len())
            .map(|i| {
                if a.iter().any(|x| x.is_null(i)) {
                    None
                } else {
                    Some(overlap_len(
                        a[0].value(i),
                        a[1].value(i),
                        a[2].value(i),
                        a[3].value(i),
                    ))
                }
            })
            .collect();
        finish(Arc::new(out), all_scalar)
    }
}

#[cfg(test)]
mod tests {
    use super::overlap_len;

    #[test]
    fn shared_bases_of_half_open_intervals() {
        assert_eq!(overlap_len(0, 10, 5, 20), 5);
        assert_eq!(overlap_len(0, 10, 10, 20), 0);
        assert_eq!(overlap_len(0, 10, 20, 30), 0);
        assert_eq!(overlap_len(5, 6, 0, 100), 1);
    }
}
