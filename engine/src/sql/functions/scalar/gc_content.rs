//! `gc_content(s)`: the fraction of G and C among the A, C, G, T of a sequence.
//!
//! ```sql
//! SELECT gc_content('GGCA');                    -- 0.75
//! SELECT chrom, start, gc_content(seq) AS gc FROM genome ORDER BY gc DESC LIMIT 5;
//! ```
//!
//! `N` and other codes are left out of both counts, case is ignored; a
//! sequence with no A, C, G or T (or NULL) gives NULL.

use std::sync::{Arc, OnceLock};

use arrow::array::{Array, AsArray, Float64Builder};
use arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use crate::sql::functions::args::{coerce, finish, to_arrays, Kind};

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct GcContentFunction {
    signature: Signature,
}

impl GcContentFunction {
    pub fn new() -> Self {
        GcContentFunction {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl Default for GcContentFunction {
    fn default() -> Self {
        Self::new()
    }
}

/// (G + C, A + C + G + T) of `s`, case ignored.
pub fn gc_counts(s: &[u8]) -> (u64, u64) {
    let mut gc = 0;
    let mut acgt = 0;
    for &b in s {
        match b | 0x20 {
            b'g' | b'c' => {
                gc += 1;
                acgt += 1;
            }
            b'a' | b't' => acgt += 1,
            _ => {}
        }
    }
    (gc, acgt)
}

/// What `dnabench sql --functions` and `information_schema` say of it.
pub fn documentation() -> &'static Documentation {
    static DOC: OnceLock<Documentation> = OnceLock::new();
    DOC.get_or_init(|| {
        Documentation::builder(
                super::SCALAR,
                r#"The fraction of G and C among the A, C, G and T of a sequence; N and other codes count in neither, case is ignored. A sequence with no A, C, G or T, or NULL, gives NULL."#,
                r#"gc_content(sequence)"#,
            )
            .with_argument(r#"sequence"#, r#"Bases."#)
            .with_sql_example(r#"SELECT gc_content('GGCA') AS gc, gc_content('NNNN') AS none"#)
            .build()
    })
}

impl ScalarUDFImpl for GcContentFunction {
    fn documentation(&self) -> Option<&Documentation> {
        Some(documentation())
    }

    fn name(&self) -> &str {
        "gc_content"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce("gc_content", "gc_content(s)", &[Kind::String], 1, arg_types)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let (arrays, all_scalar) = to_arrays(&args.args, args.number_rows)?;
        let input = arrays[0].as_string::<i32>();
        let mut out = Float64Builder::with_capacity(input.len());
        for i in 0..input.len() {
            if input.is_null(i) {
                out.append_null();
                continue;
            }
            match gc_counts(input.value(i).as_bytes()) {
                (_, 0) => out.append_null(),
                (gc, acgt) => out.append_value(gc as f64 / acgt as f64),
            }
        }
        finish(Arc::new(out.finish()), all_scalar)
    }
}

#[cfg(test)]
mod tests {
    use super::gc_counts;
    use datafusion::execution::context::SessionContext;

    #[test]
    fn counts_ignore_n_and_case() {
        assert_eq!(gc_counts(b"GGCA"), (3, 4));
        assert_eq!(gc_counts(b"ggNNat"), (2, 4));
        assert_eq!(gc_counts(b"NNNN"), (0, 0));
    }

    #[tokio::test]
    async fn sql_gives_a_fraction_or_null() {
        let ctx = SessionContext::new();
        crate::sql::functions::register_all(&ctx, None);
        let text = crate::sql::functions::pretty_sql(
            &ctx,
            "SELECT gc_content('GGCA') AS a, gc_content('NNN') AS b, gc_content(NULL) AS c",
        )
        .await
        .unwrap();
        assert!(text.contains("| 0.75 |   |   |"), "{text}");
    }
}
