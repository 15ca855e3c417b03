//! `seq(chrom, start, end[, strand])`: the bases of a genomic window.
//!
//! ```sql
//! SELECT chrom, seq(chrom, 0, 20) AS plus, seq(chrom, 0, 20, '-') AS minus FROM chroms;
//! -- 1 kb windows centred on each gene's TSS, on the gene's strand
//! SELECT gene_id, seq(chrom, tss - 500, tss + 500, strand) AS window FROM genes;
//! ```
//!
//! Coordinates are 0-based, half-open. A window past either end of the
//! chromosome is padded with `N` (never shortened); strand `-` gives the
//! reverse complement, `+`, `.` or NULL the forward strand. An unknown
//! chromosome or `end < start` is an error; a NULL chrom, start or end gives NULL.

use std::sync::{Arc, OnceLock};

use arrow::array::{Array, AsArray, StringArray};
use arrow::buffer::{NullBuffer, OffsetBuffer};
use arrow::datatypes::{DataType, Int64Type};
use datafusion::common::{exec_err, DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use crate::genome::{Genome, SessionGenome};
use crate::sql::functions::args::{coerce, finish, to_arrays, Kind};

const USAGE: &str = "seq(chrom, start, end[, strand])";

/// Widest window one call may ask for, so a typo cannot allocate gigabytes.
pub const MAX_WINDOW: i64 = 1 << 28;

#[derive(Debug)]
pub struct SeqFunction {
    genome: SessionGenome,
    signature: Signature,
}

impl SeqFunction {
    pub fn new(genome: impl Into<SessionGenome>) -> Self {
        SeqFunction {
            genome: genome.into(),
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl PartialEq for SeqFunction {
    fn eq(&self, other: &Self) -> bool {
        self.genome.same_as(&other.genome)
    }
}

impl Eq for SeqFunction {}

impl std::hash::Hash for SeqFunction {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.genome.id().hash(state);
    }
}

/// What `dnabench sql --functions` and `information_schema` say of it.
pub fn documentation() -> &'static Documentation {
    static DOC: OnceLock<Documentation> = OnceLock::new();
    DOC.get_or_init(|| {
        Documentation::builder(
                super::SCALAR,
                r#"The bases of a genomic window, 0-based and half-open, read from the store's genome. A window past either end of the chromosome is padded with N (never shortened); strand '-' gives the reverse complement. An unknown chromosome or end < start is an error; a NULL chrom, start or end gives NULL."#,
                r#"seq(chrom, start, end[, strand])"#,
            )
            .with_argument(r#"chrom"#, r#"The chromosome, as the genome names it."#)
            .with_argument(r#"start"#, r#"First base, 0-based."#)
            .with_argument(r#"end"#, r#"One past the last base."#)
            .with_argument(r#"strand"#, r#"'+', '.' or NULL for the forward strand, '-' for the reverse complement."#)
            .with_sql_example(r#"SELECT seq('chr1', 0, 10) AS plus, seq('chr1', 0, 10, '-') AS minus, seq('chr1', -3, 2) AS padded"#)
            .build()
    })
}

impl ScalarUDFImpl for SeqFunction {
    fn documentation(&self) -> Option<&Documentation> {
        Some(documentation())
    }

    fn name(&self) -> &str {
        "seq"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        use Kind::*;
        coerce(
            "seq",
            USAGE,
            &[String, Integer, Integer, String],
            3,
            arg_types,
        )
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let genome = self.genome.get().map_err(DataFusionError::Execution)?;
        let Some(genome) = genome.as_deref() else {
            return exec_err!(
                "seq(): this store has no genome; load one with 'dnabench ingest genome FILE'"
            );
        };
        let (arrays, all_scalar) = to_arrays(&args.args, args.number_rows)?;
        let chrom = arrays[0].as_string::<i32>();
        let start = arrays[1].as_primitive::<Int64Type>();
        let end = arrays[2].as_primitive::<Int64Type>();
        let strand = arrays.get(3).map(|a| a.as_string::<i32>());
        let rows = chrom.len();

        let mut values = Vec::new();
        let mut offsets = Vec::with_capacity(rows + 1);
        offsets.push(0i32);
        let mut valid = Vec::with_capacity(rows);
        let mut last: Option<(&str, usize)> = None;
        for i in 0..rows {
            if chrom.is_null(i) || start.is_null(i) || end.is_null(i) {
                valid.push(false);
                offsets.push(values.len() as i32);
                continue;
            }
            let name = chrom.value(i);
            let index = match last {
                Some((n, idx)) if n == name => idx,
                _ => match genome.index(name) {
                    Some(idx) => {
                        last = Some((name, idx));
                        idx
                    }
                    None => return unknown_chrom(genome, name),
                },
            };
            let (s, e) = (start.value(i), end.value(i));
            if e < s {
                return exec_err!("seq(): end {e} is before start {s} for {name}:{s}-{e}");
            }
            if e - s > MAX_WINDOW {
                return exec_err!(
                    "seq(): window {name}:{s}-{e} is {} bp, more than the {MAX_WINDOW} bp one call may ask for",
                    e - s
                );
            }
            let reverse = match strand.filter(|a| !a.is_null(i)).map(|a| a.value(i)) {
                None | Some("+") | Some(".") | Some("") => false,
                Some("-") => true,
                Some(other) => {
                    return exec_err!("seq(): strand must be '+', '-' or '.', got '{other}'")
                }
            };
            genome.window_into(index, s, e, reverse, &mut values);
            if values.len() > i32::MAX as usize {
                return exec_err!(
                    "seq(): the windows of one batch exceed 2 GiB; use smaller batches"
                );
            }
            offsets.push(values.len() as i32);
            valid.push(true);
        }
        let nulls = NullBuffer::from(valid);
        let nulls = (nulls.null_count() > 0).then_some(nulls);
        let array = StringArray::try_new(OffsetBuffer::new(offsets.into()), values.into(), nulls)?;
        finish(Arc::new(array), all_scalar)
    }
}

fn unknown_chrom(genome: &Genome, name: &str) -> Result<ColumnarValue> {
    if let Some(s) = genome.suggest(name) {
        return exec_err!("seq(): unknown chromosome '{name}'; the genome calls it '{s}'");
    }
    let names: Vec<&str> = genome
        .chroms()
        .iter()
        .take(8)
        .map(|c| c.name.as_str())
        .collect();
    let more = if genome.chroms().len() > 8 {
        ", …"
    } else {
        ""
    };
    exec_err!(
        "seq(): unknown chromosome '{name}'; the genome has {}{more}",
        names.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::execution::context::SessionContext;

    async fn query(sql: &str) -> Result<Vec<String>> {
        let ctx = SessionContext::new();
        let genome = Genome::from_sequences([
            ("chr1".to_string(), b"ACGTTGCA".to_vec()),
            ("chr2".to_string(), b"GGGCCC".to_vec()),
        ]);
        crate::sql::functions::register_all(&ctx, Some(Arc::new(genome)));
        let text = crate::sql::functions::pretty_sql(&ctx, sql).await?;
        Ok(text
            .lines()
            .filter(|l| l.starts_with('|'))
            .skip(1)
            .map(|l| l.to_string())
            .collect())
    }

    #[tokio::test]
    async fn windows_from_columns_and_literals() {
        let rows = query(
            "SELECT seq(c, s, e, st) AS w FROM (VALUES ('chr1', 0, 4, '+'), ('chr2', 4, 8, '-'), \
             ('chr1', -2, 2, NULL), (NULL, 0, 1, '+'), ('chr1', 6, 6, '.')) AS t(c, s, e, st)",
        )
        .await
        .unwrap();
        assert_eq!(
            rows,
            vec!["| ACGT |", "| NNGG |", "| NNAC |", "|      |", "|      |"]
        );
        let rows = query("SELECT seq('chr2', arrow_cast(1, 'Int32'), 3) AS w")
            .await
            .unwrap();
        assert_eq!(rows, vec!["| GG |"]);
    }

    #[tokio::test]
    async fn bad_calls_are_clear_errors() {
        let err = query("SELECT seq('chr9', 0, 1)")
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("unknown chromosome 'chr9'; the genome has chr1, chr2"),
            "{err}"
        );
        let err = query("SELECT seq('chr1', 5, 1)")
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("end 1 is before start 5 for chr1:5-1"),
            "{err}"
        );
        let err = query("SELECT seq('chr1', 0, 1, 'x')")
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("strand must be '+', '-' or '.', got 'x'"),
            "{err}"
        );
        let err = query("SELECT seq('chr1', 0.5, 1)")
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("argument 2 must be an integer"), "{err}");
        let err = query("SELECT seq('chr1', 0)")
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("takes 3 or 4 arguments"), "{err}");
        let ctx = SessionContext::new();
        crate::sql::functions::register_all(&ctx, None);
        let err = ctx
            .sql("SELECT seq('chr1', 0, 1)")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("this store has no genome"),
            "{err}"
        );
    }
}
