//! `tiles(width[, step])`: windows of `width` bp starting every `step` bp
//! (default: `width`, no overlap) along every chromosome of the genome.
//!
//! ```sql
//! -- DeepSEA's 200 bp bins with 400 bp of context on each side
//! SELECT chrom, start, "end", seq(chrom, start - 400, "end" + 400) AS seq FROM tiles(200);
//! -- overlapping 1 kb windows every 500 bp
//! SELECT count(*) FROM tiles(1000, 500);
//! ```
//!
//! Columns `chrom`, `start`, `end` (0-based, half-open); only whole tiles,
//! so the last `length mod step` bases of a chromosome may be left uncovered.

use std::sync::{Arc, OnceLock};

use arrow::array::{Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::{plan_err, DataFusionError, Result};
use datafusion::datasource::MemTable;
use datafusion::logical_expr::Documentation;

use super::int_arg;
use crate::genome::{Genome, SessionGenome};

const USAGE: &str = "tiles(width[, step])";
const ROWS_PER_BATCH: usize = 65_536;

#[derive(Debug)]
pub struct TilesFunction {
    genome: SessionGenome,
}

impl TilesFunction {
    pub fn new(genome: impl Into<SessionGenome>) -> Self {
        TilesFunction {
            genome: genome.into(),
        }
    }
}

pub fn tiles_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("chrom", DataType::Utf8, false),
        Field::new("start", DataType::Int64, false),
        Field::new("end", DataType::Int64, false),
    ]))
}

/// The (chrom index, start) of every whole tile.
pub fn tile_starts(
    genome: &Genome,
    width: i64,
    step: i64,
) -> impl Iterator<Item = (usize, i64)> + '_ {
    genome.chroms().iter().enumerate().flat_map(move |(i, c)| {
        let len = c.seq.len() as i64;
        let count = if len >= width {
            (len - width) / step + 1
        } else {
            0
        };
        (0..count).map(move |k| (i, k * step))
    })
}

/// What `dnabench sql --functions` and `information_schema` say of it.
pub fn documentation() -> &'static Documentation {
    static DOC: OnceLock<Documentation> = OnceLock::new();
    DOC.get_or_init(|| {
        Documentation::builder(
                super::TABLE,
                r#"Windows of width bp starting every step bp (default width: no overlap) along every chromosome of the genome, as columns chrom, start and end (0-based, half-open). Only whole tiles: the last (length mod step) bases of a chromosome may be left uncovered."#,
                r#"tiles(width[, step])"#,
            )
            .with_argument(r#"width"#, r#"Bases a tile."#)
            .with_argument(r#"step"#, r#"Bases from one tile's start to the next (default width)."#)
            .with_sql_example(r#"SELECT chrom, start, "end" FROM tiles(200, 100) ORDER BY chrom, start LIMIT 3"#)
            .build()
    })
}

impl TableFunctionImpl for TilesFunction {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let exprs = args.exprs();
        if exprs.is_empty() || exprs.len() > 2 {
            return plan_err!(
                "tiles() takes 1 or 2 arguments: {USAGE}, got {}",
                exprs.len()
            );
        }
        let width = int_arg("tiles", USAGE, exprs, 0, "width")?;
        let step = if exprs.len() == 2 {
            int_arg("tiles", USAGE, exprs, 1, "step")?
        } else {
            width
        };
        if width <= 0 || step <= 0 {
            return plan_err!(
                "tiles(): width and step must be positive, got width {width}, step {step}"
            );
        }
        let genome = self.genome.get().map_err(DataFusionError::Plan)?;
        let Some(genome) = genome.as_deref() else {
            return plan_err!(
                "tiles(): this store has no genome; load one with 'dnabench ingest genome FILE'"
            );
        };
        let schema = tiles_schema();
        let mut batches = Vec::new();
        let mut chrom = Vec::with_capacity(ROWS_PER_BATCH);
        let mut start = Vec::with_capacity(ROWS_PER_BATCH);
        let mut flush = |chrom: &mut Vec<&str>, start: &mut Vec<i64>| -> Result<()> {
            if chrom.is_empty() {
                return Ok(());
            }
            let end: Vec<i64> = start.iter().map(|s| s + width).collect();
            batches.push(RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(StringArray::from(std::mem::take(chrom))),
                    Arc::new(Int64Array::from(std::mem::take(start))),
                    Arc::new(Int64Array::from(end)),
                ],
            )?);
            Ok(())
        };
        for (i, s) in tile_starts(genome, width, step) {
            chrom.push(genome.chrom(i).name.as_str());
            start.push(s);
            if chrom.len() == ROWS_PER_BATCH {
                flush(&mut chrom, &mut start)?;
            }
        }
        flush(&mut chrom, &mut start)?;
        Ok(Arc::new(MemTable::try_new(schema, vec![batches])?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::execution::context::SessionContext;

    async fn rows(sql: &str) -> Result<Vec<String>> {
        let ctx = SessionContext::new();
        let genome = Genome::from_sequences([
            ("chr1".to_string(), vec![b'A'; 1050]),
            ("chr2".to_string(), vec![b'C'; 150]),
        ]);
        crate::sql::functions::register_all(&ctx, Some(Arc::new(genome)));
        let text = crate::sql::functions::pretty_sql(&ctx, sql).await?;
        Ok(text
            .lines()
            .filter(|l| l.starts_with('|'))
            .skip(1)
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect())
    }

    #[tokio::test]
    async fn whole_tiles_along_every_chromosome() {
        assert_eq!(
            rows("SELECT chrom, count(*), min(start), max(\"end\") FROM tiles(200) GROUP BY chrom ORDER BY chrom").await.unwrap(),
            vec!["| chr1 | 5 | 0 | 1000 |"]
        );
        assert_eq!(
            rows("SELECT count(*) FROM tiles(100, 50) WHERE chrom = 'chr2'")
                .await
                .unwrap(),
            vec!["| 2 |"]
        );
        let err = rows("SELECT * FROM tiles(0)")
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("width and step must be positive"), "{err}");
        let err = rows("SELECT * FROM tiles('x')")
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("width must be an integer"), "{err}");
    }
}
