//! `random_windows(n, width, seed)`: `n` windows of `width` bp drawn
//! uniformly from the genome, the same ones on every machine for a seed.
//!
//! ```sql
//! -- promoter negatives: as many random 500 bp windows as there are genes
//! SELECT chrom, start, "end", seq(chrom, start, "end") AS seq
//! FROM random_windows(20000, 500, 7);
//! ```
//!
//! Columns `window_id` (0..n), `chrom`, `start`, `end`. Attempt k draws its
//! genomic offset from `hash_uniform(k, seed)`, weighting chromosomes by
//! the number of whole windows they hold; a window with more than 1% `N`
//! is rejected and the next attempt drawn. Asking for more windows than
//! 100 × n attempts can find is an error, never a silently short table.

use std::sync::Arc;

use arrow::array::{Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::{plan_err, Result};
use datafusion::datasource::MemTable;

use super::int_arg;
use crate::genome::Genome;
use crate::udf::hash_uniform::hash_uniform;

const USAGE: &str = "random_windows(n, width, seed)";

/// Most `N` a window may hold: 1% of its width.
pub fn max_n(width: i64) -> usize {
    (width / 100) as usize
}

#[derive(Debug)]
pub struct RandomWindowsFunction {
    genome: Option<Arc<Genome>>,
}

impl RandomWindowsFunction {
    pub fn new(genome: Option<Arc<Genome>>) -> Self {
        RandomWindowsFunction { genome }
    }
}

pub fn random_windows_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("window_id", DataType::Int64, false),
        Field::new("chrom", DataType::Utf8, false),
        Field::new("start", DataType::Int64, false),
        Field::new("end", DataType::Int64, false),
    ]))
}

/// The (chrom index, start) of `n` accepted windows, or the number found
/// when the attempts ran out.
pub fn draw_windows(
    genome: &Genome,
    n: usize,
    width: i64,
    seed: i64,
) -> Result<Vec<(usize, i64)>, usize> {
    // Whole windows per chromosome, as cumulative offsets.
    let mut cumulative = Vec::new();
    let mut total: u64 = 0;
    for c in genome.chroms() {
        let starts = (c.seq.len() as i64 - width + 1).max(0) as u64;
        total += starts;
        cumulative.push(total);
    }
    let mut out = Vec::with_capacity(n);
    if total == 0 {
        return if n == 0 { Ok(out) } else { Err(0) };
    }
    let limit = n as u64 * 100;
    let mut attempt: u64 = 0;
    while out.len() < n {
        if attempt >= limit {
            return Err(out.len());
        }
        let offset =
            ((hash_uniform(&attempt.to_le_bytes(), seed) * total as f64) as u64).min(total - 1);
        attempt += 1;
        let chrom = cumulative.partition_point(|&c| c <= offset);
        let before = if chrom == 0 { 0 } else { cumulative[chrom - 1] };
        let start = (offset - before) as i64;
        let seq = &genome.chrom(chrom).seq[start as usize..(start + width) as usize];
        if seq.iter().filter(|&&b| b == b'N').count() <= max_n(width) {
            out.push((chrom, start));
        }
    }
    Ok(out)
}

impl TableFunctionImpl for RandomWindowsFunction {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let exprs = args.exprs();
        if exprs.len() != 3 {
            return plan_err!(
                "random_windows() takes 3 arguments: {USAGE}, got {}",
                exprs.len()
            );
        }
        let n = int_arg("random_windows", USAGE, exprs, 0, "n")?;
        let width = int_arg("random_windows", USAGE, exprs, 1, "width")?;
        let seed = int_arg("random_windows", USAGE, exprs, 2, "seed")?;
        if n < 0 || width <= 0 {
            return plan_err!("random_windows(): n must be 0 or more and width positive, got n {n}, width {width}");
        }
        let Some(genome) = self.genome.as_deref() else {
            return plan_err!("random_windows(): this store has no genome; load one with 'dnabench ingest genome FILE'");
        };
        let windows = match draw_windows(genome, n as usize, width, seed) {
            Ok(w) => w,
            Err(found) => {
                return plan_err!(
                    "random_windows(): found only {found} of {n} windows of {width} bp with at most {} N in {} attempts; ask for fewer or narrower windows",
                    max_n(width),
                    n * 100
                )
            }
        };
        let schema = random_windows_schema();
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from_iter_values(0..windows.len() as i64)),
                Arc::new(StringArray::from_iter_values(
                    windows.iter().map(|(c, _)| genome.chrom(*c).name.as_str()),
                )),
                Arc::new(Int64Array::from_iter_values(
                    windows.iter().map(|(_, s)| *s),
                )),
                Arc::new(Int64Array::from_iter_values(
                    windows.iter().map(|(_, s)| s + width),
                )),
            ],
        )?;
        Ok(Arc::new(MemTable::try_new(schema, vec![vec![batch]])?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn genome() -> Genome {
        let mut chr1 = vec![b'A'; 10_000];
        chr1[2000..6000].fill(b'N');
        Genome::from_sequences([
            ("chr1".to_string(), chr1),
            ("chr2".to_string(), vec![b'C'; 5_000]),
        ])
    }

    #[test]
    fn windows_are_deterministic_inside_chromosomes_and_avoid_n() {
        let g = genome();
        let a = draw_windows(&g, 500, 100, 7).unwrap();
        assert_eq!(a, draw_windows(&g, 500, 100, 7).unwrap());
        assert_ne!(a, draw_windows(&g, 500, 100, 8).unwrap());
        for &(c, s) in &a {
            let seq = &g.chrom(c).seq[s as usize..s as usize + 100];
            assert!(seq.iter().filter(|&&b| b == b'N').count() <= 1);
        }
        // Both chromosomes are drawn from, in proportion to their whole windows.
        let on_chr2 = a.iter().filter(|(c, _)| *c == 1).count();
        assert!((150..300).contains(&on_chr2), "{on_chr2}");
        assert_eq!(draw_windows(&g, 3, 20_000, 1), Err(0));
    }

    #[tokio::test]
    async fn sql_gives_n_rows() {
        let ctx = datafusion::execution::context::SessionContext::new();
        crate::udf::register_all(&ctx, Some(Arc::new(genome())));
        let batches = ctx
            .sql("SELECT count(*), count(DISTINCT window_id), min(\"end\" - start) FROM random_windows(50, 200, 3)")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let text = arrow::util::pretty::pretty_format_batches(&batches)
            .unwrap()
            .to_string();
        assert!(text.contains("| 50       | 50"), "{text}");
        let err = ctx
            .sql("SELECT * FROM random_windows(5, 50000, 3)")
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("found only 0 of 5 windows"),
            "{err}"
        );
    }
}
