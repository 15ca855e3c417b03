//! `revcomp(s)`: the reverse complement of a sequence.
//!
//! ```sql
//! SELECT revcomp('ACGTN');                      -- 'NACGT'
//! SELECT revcomp(seq(chrom, 0, 20)) = seq(chrom, 0, 20, '-') FROM chroms;  -- true
//! ```
//!
//! IUPAC codes are complemented (`R`↔`Y`, `K`↔`M`, `B`↔`V`, `D`↔`H`), case is
//! kept, and any other character is an error naming it. NULL gives NULL.

use std::sync::{Arc, OnceLock};

use arrow::array::{Array, AsArray, StringBuilder};
use arrow::datatypes::DataType;
use datafusion::common::{exec_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use crate::genome::COMPLEMENT;
use crate::sql::functions::args::{coerce, finish, to_arrays, Kind};

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RevcompFunction {
    signature: Signature,
}

impl RevcompFunction {
    pub fn new() -> Self {
        RevcompFunction {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl Default for RevcompFunction {
    fn default() -> Self {
        Self::new()
    }
}

/// Letters `revcomp` accepts: the IUPAC nucleotide codes, either case.
fn is_nucleotide(b: u8) -> bool {
    b"ACGTUNRYSWKMBDHV".contains(&b.to_ascii_uppercase())
}

/// What `dnabench sql --functions` and `information_schema` say of it.
pub fn documentation() -> &'static Documentation {
    static DOC: OnceLock<Documentation> = OnceLock::new();
    DOC.get_or_init(|| {
        Documentation::builder(
                super::SCALAR,
                r#"The reverse complement of a sequence. IUPAC codes are complemented (R/Y, K/M, B/V, D/H), case is kept, and any other character is an error naming it. NULL gives NULL."#,
                r#"revcomp(sequence)"#,
            )
            .with_argument(r#"sequence"#, r#"Bases (ACGTN and IUPAC codes, either case)."#)
            .with_sql_example(r#"SELECT revcomp('ACGTN') AS rc, revcomp('acgRY') AS iupac"#)
            .build()
    })
}

impl ScalarUDFImpl for RevcompFunction {
    fn documentation(&self) -> Option<&Documentation> {
        Some(documentation())
    }

    fn name(&self) -> &str {
        "revcomp"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce("revcomp", "revcomp(s)", &[Kind::String], 1, arg_types)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let (arrays, all_scalar) = to_arrays(&args.args, args.number_rows)?;
        let input = arrays[0].as_string::<i32>();
        let mut out = StringBuilder::with_capacity(input.len(), input.value_data().len());
        let mut buf = Vec::new();
        for i in 0..input.len() {
            if input.is_null(i) {
                out.append_null();
                continue;
            }
            let s = input.value(i).as_bytes();
            if let Some(pos) = s.iter().position(|&b| !is_nucleotide(b)) {
                let c = String::from_utf8_lossy(&s[pos..])
                    .chars()
                    .next()
                    .unwrap_or('?');
                return exec_err!(
                    "revcomp(): '{c}' at offset {pos} is not a nucleotide (IUPAC code) letter"
                );
            }
            buf.clear();
            buf.extend(s.iter().rev().map(|&b| COMPLEMENT[b as usize]));
            // Only ASCII letters reach here.
            out.append_value(String::from_utf8_lossy(&buf));
        }
        finish(Arc::new(out.finish()), all_scalar)
    }
}

#[cfg(test)]
mod tests {
    use datafusion::execution::context::SessionContext;

    async fn one(sql: &str) -> datafusion::common::Result<String> {
        let ctx = SessionContext::new();
        crate::sql::functions::register_all(&ctx, None);
        let batches = ctx.sql(sql).await?.collect().await?;
        Ok(arrow::util::display::array_value_to_string(
            batches[0].column(0),
            0,
        )?)
    }

    #[tokio::test]
    async fn reverse_complements_and_rejects_non_nucleotides() {
        assert_eq!(
            one("SELECT revcomp('ACGTNacgtRY')").await.unwrap(),
            "RYacgtNACGT"
        );
        assert_eq!(one("SELECT revcomp('')").await.unwrap(), "");
        let err = one("SELECT revcomp('AC-GT')")
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("'-' at offset 2 is not a nucleotide"), "{err}");
    }
}
