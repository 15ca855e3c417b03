//! `mutate(seq, offset, alt[, ref_len])`: a sequence with `ref_len` bases at
//! `offset` (0-based, default 1) replaced by `alt`.
//!
//! ```sql
//! -- ref and alt windows of 1000 bp centred on each variant
//! SELECT variant_id,
//!        seq(chrom, pos - 500, pos + 500) AS ref_seq,
//!        mutate(seq(chrom, pos - 500, pos + 500), 500, alt, length(ref)) AS alt_seq
//! FROM variants;
//! ```
//!
//! An SNV keeps the length; an indel changes it by `len(alt) - ref_len`.
//! `offset` past the end, or a negative one, is an error naming the row's
//! values; any NULL argument gives NULL.

use std::sync::{Arc, OnceLock};

use arrow::array::{Array, AsArray, StringBuilder};
use arrow::datatypes::{DataType, Int64Type};
use datafusion::common::{exec_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use crate::sql::functions::args::{coerce, finish, to_arrays, Kind};

const USAGE: &str = "mutate(seq, offset, alt[, ref_len])";

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct MutateFunction {
    signature: Signature,
}

impl MutateFunction {
    pub fn new() -> Self {
        MutateFunction {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl Default for MutateFunction {
    fn default() -> Self {
        Self::new()
    }
}

/// `seq` with `seq[offset..offset + ref_len]` replaced by `alt`.
pub fn mutate(seq: &str, offset: i64, alt: &str, ref_len: i64) -> Result<String, String> {
    let len = seq.len() as i64;
    if offset < 0 || ref_len < 0 || offset + ref_len > len || (ref_len == 0 && offset > len) {
        return Err(format!(
            "offset {offset} with {ref_len} reference bases is outside the {len} bp sequence"
        ));
    }
    let (o, r) = (offset as usize, ref_len as usize);
    if !seq.is_char_boundary(o) || !seq.is_char_boundary(o + r) {
        return Err("the sequence is not ASCII".to_string());
    }
    Ok(format!("{}{alt}{}", &seq[..o], &seq[o + r..]))
}

/// What `dnabench sql --functions` and `information_schema` say of it.
pub fn documentation() -> &'static Documentation {
    static DOC: OnceLock<Documentation> = OnceLock::new();
    DOC.get_or_init(|| {
        Documentation::builder(
                super::SCALAR,
                r#"A sequence with ref_len bases at offset (0-based) replaced by alt: an SNV keeps the length, an indel changes it by length(alt) - ref_len. An offset before the start or past the end is an error naming the row; any NULL argument gives NULL."#,
                r#"mutate(sequence, offset, alt[, ref_len])"#,
            )
            .with_argument(r#"sequence"#, r#"The reference bases."#)
            .with_argument(r#"offset"#, r#"Where the reference allele starts, 0-based from the sequence's start."#)
            .with_argument(r#"alt"#, r#"The alternative allele."#)
            .with_argument(r#"ref_len"#, r#"Bases of the reference allele (default 1)."#)
            .with_sql_example(r#"SELECT mutate('ACGTACGT', 2, 'T') AS snv, mutate('ACGTACGT', 2, 'GTT') AS insertion, mutate('ACGTACGT', 2, 'G', 3) AS deletion"#)
            .build()
    })
}

impl ScalarUDFImpl for MutateFunction {
    fn documentation(&self) -> Option<&Documentation> {
        Some(documentation())
    }

    fn name(&self) -> &str {
        "mutate"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        use Kind::*;
        coerce(
            "mutate",
            USAGE,
            &[String, Integer, String, Integer],
            3,
            arg_types,
        )
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let (arrays, all_scalar) = to_arrays(&args.args, args.number_rows)?;
        let seq = arrays[0].as_string::<i32>();
        let offset = arrays[1].as_primitive::<Int64Type>();
        let alt = arrays[2].as_string::<i32>();
        let ref_len = arrays.get(3).map(|a| a.as_primitive::<Int64Type>());
        let mut out = StringBuilder::with_capacity(seq.len(), seq.value_data().len());
        for i in 0..seq.len() {
            let r = match ref_len {
                Some(a) if a.is_null(i) => None,
                Some(a) => Some(a.value(i)),
                None => Some(1),
            };
            match (seq.is_null(i) || offset.is_null(i) || alt.is_null(i), r) {
                (false, Some(r)) => match mutate(seq.value(i), offset.value(i), alt.value(i), r) {
                    Ok(s) => out.append_value(s),
                    Err(e) => return exec_err!("mutate(): {e}"),
                },
                _ => out.append_null(),
            }
        }
        finish(Arc::new(out.finish()), all_scalar)
    }
}

#[cfg(test)]
mod tests {
    use super::mutate;

    #[test]
    fn substitutions_and_indels() {
        assert_eq!(mutate("ACGTA", 2, "T", 1).unwrap(), "ACTTA");
        assert_eq!(mutate("ACGTA", 1, "C", 3).unwrap(), "ACA");
        assert_eq!(mutate("ACGTA", 1, "CGGG", 1).unwrap(), "ACGGGGTA");
        assert_eq!(mutate("ACGTA", 5, "G", 0).unwrap(), "ACGTAG");
        assert!(mutate("ACGTA", 5, "G", 1)
            .unwrap_err()
            .contains("outside the 5 bp sequence"));
        assert!(mutate("ACGTA", -1, "G", 1).is_err());
    }
}
