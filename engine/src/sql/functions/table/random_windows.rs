//! `random_windows(n, width, seed[, exclude])`: `n` windows of `width` bp
//! drawn uniformly from the genome, the same ones on every machine for a
//! seed, optionally avoiding every interval of an exclusion table.
//!
//! ```sql
//! -- promoter negatives: as many random 500 bp windows as there are genes
//! SELECT chrom, start, "end", seq(chrom, start, "end") AS seq
//! FROM random_windows(20000, 500, 7);
//! -- the same, never touching a blacklisted region or a gene body
//! CREATE VIEW avoid AS SELECT chrom, start, "end" FROM peaks WHERE track_id = 3
//!     UNION ALL SELECT chrom, start, "end" FROM genes;
//! SELECT * FROM random_windows(20000, 500, 7, 'avoid');
//! ```
//!
//! Columns `window_id` (0..n), `chrom`, `start`, `end`. Attempt k draws its
//! genomic offset from `hash_uniform(k, seed)`, weighting chromosomes by
//! the number of whole windows they hold; a window with more than 1% `N`,
//! or overlapping a row (`chrom`, `start`, `end`) of the exclusion table or
//! view, is rejected and the next attempt drawn. Asking for more windows
//! than 100 × n attempts can find is an error, never a silently short table.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use arrow::array::{Array, AsArray, Int64Array, RecordBatch, StringArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Int64Type, Schema, SchemaRef};
use async_trait::async_trait;
use datafusion::catalog::{Session, TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::{plan_err, DataFusionError, Result, ScalarValue};
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::datasource::TableType;
use datafusion::execution::context::{SessionContext, SessionState};
use datafusion::logical_expr::Documentation;
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;

use super::int_arg;
use crate::genome::{Genome, SessionGenome};
use crate::hash::hash_uniform;
use crate::sql::interval_index::IntervalIndex;

const USAGE: &str = "random_windows(n, width, seed[, 'exclude_table'])";

/// Most `N` a window may hold: 1% of its width.
pub fn max_n(width: i64) -> usize {
    (width / 100) as usize
}

#[derive(Debug)]
pub struct RandomWindowsFunction {
    genome: SessionGenome,
}

impl RandomWindowsFunction {
    pub fn new(genome: impl Into<SessionGenome>) -> Self {
        RandomWindowsFunction {
            genome: genome.into(),
        }
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
/// when the attempts ran out. `excluded`, when given, holds one index per
/// chromosome of `genome`.
pub fn draw_windows(
    genome: &Genome,
    n: usize,
    width: i64,
    seed: i64,
    excluded: Option<&[IntervalIndex]>,
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
        let ns = genome
            .chrom(chrom)
            .seq
            .n_count(start as u64, (start + width) as u64);
        if ns as usize > max_n(width) {
            continue;
        }
        if excluded.is_some_and(|ex| ex[chrom].overlaps(start, start + width)) {
            continue;
        }
        out.push((chrom, start));
    }
    Ok(out)
}

/// The exclusion argument: a table or view name, quoted or not.
fn exclude_arg(args: &[Expr]) -> Result<Option<String>> {
    match args.get(3) {
        None => Ok(None),
        Some(Expr::Literal(ScalarValue::Utf8(Some(name)), _)) => Ok(Some(name.clone())),
        Some(Expr::Column(c)) => Ok(Some(c.name.clone())),
        Some(other) => plan_err!(
            "random_windows(): exclude must name a table with chrom, start and end columns, got {other} ({USAGE})"
        ),
    }
}

/// What `dnabench sql --functions` and `information_schema` say of it.
pub fn documentation() -> &'static Documentation {
    static DOC: OnceLock<Documentation> = OnceLock::new();
    DOC.get_or_init(|| {
        Documentation::builder(
                super::TABLE,
                r#"n windows of width bp drawn uniformly from the genome, the same on every machine for a seed, optionally avoiding every interval of an exclusion table or view (columns chrom, start, end). Columns window_id (0..n), chrom, start, end. A window with more than 1% N, or overlapping an excluded interval, is rejected and the next attempt drawn; more windows than 100 * n attempts can find is an error, never a short table."#,
                r#"random_windows(n, width, seed[, exclude_table])"#,
            )
            .with_argument(r#"n"#, r#"Windows to draw."#)
            .with_argument(r#"width"#, r#"Bases a window."#)
            .with_argument(r#"seed"#, r#"The seed of the draws."#)
            .with_argument(r#"exclude_table"#, r#"A table or view whose intervals no window may touch."#)
            .with_sql_example(r#"SELECT window_id, chrom, start, "end" FROM random_windows(3, 100, 7) ORDER BY window_id"#)
            .build()
    })
}

impl TableFunctionImpl for RandomWindowsFunction {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let exprs = args.exprs();
        if !(3..=4).contains(&exprs.len()) {
            return plan_err!(
                "random_windows() takes 3 or 4 arguments: {USAGE}, got {}",
                exprs.len()
            );
        }
        let n = int_arg("random_windows", USAGE, exprs, 0, "n")?;
        let width = int_arg("random_windows", USAGE, exprs, 1, "width")?;
        let seed = int_arg("random_windows", USAGE, exprs, 2, "seed")?;
        let exclude = exclude_arg(exprs)?;
        if n < 0 || width <= 0 {
            return plan_err!("random_windows(): n must be 0 or more and width positive, got n {n}, width {width}");
        }
        let Some(genome) = self.genome.get().map_err(DataFusionError::Plan)? else {
            return plan_err!("random_windows(): this store has no genome; load one with 'dnabench ingest genome FILE'");
        };
        if let Some(name) = &exclude {
            let known = args
                .session()
                .as_any()
                .downcast_ref::<SessionState>()
                .and_then(|s| s.schema_for_ref(name.as_str()).ok())
                .is_some_and(|schema| schema.table_exist(name));
            if !known {
                return plan_err!("random_windows(): exclusion table '{name}' does not exist");
            }
        }
        Ok(Arc::new(RandomWindowsTable {
            genome,
            n,
            width,
            seed,
            exclude,
        }))
    }
}

/// The windows are drawn when the table is scanned, because reading the
/// exclusion table is asynchronous.
#[derive(Debug)]
struct RandomWindowsTable {
    genome: Arc<Genome>,
    n: i64,
    width: i64,
    seed: i64,
    exclude: Option<String>,
}

#[async_trait]
impl TableProvider for RandomWindowsTable {
    fn schema(&self) -> SchemaRef {
        random_windows_schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Temporary
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let genome = self.genome.as_ref();
        let excluded = match &self.exclude {
            Some(name) => Some(load_exclusion(state, name, genome).await?),
            None => None,
        };
        let (n, width) = (self.n, self.width);
        let windows = match draw_windows(genome, n as usize, width, self.seed, excluded.as_deref())
        {
            Ok(w) => w,
            Err(found) => {
                let avoiding = match &self.exclude {
                    Some(name) => format!(" outside '{name}'"),
                    None => String::new(),
                };
                return plan_err!(
                    "random_windows(): found only {found} of {n} windows of {width} bp with at most {} N{avoiding} in {} attempts; ask for fewer or narrower windows",
                    max_n(width),
                    n * 100
                );
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
        let exec: Arc<dyn ExecutionPlan> =
            MemorySourceConfig::try_new_exec(&[vec![batch]], schema, projection.cloned())?;
        Ok(exec)
    }
}

/// One interval index per genome chromosome from the table `name`.
async fn load_exclusion(
    state: &dyn Session,
    name: &str,
    genome: &Genome,
) -> Result<Vec<IntervalIndex>> {
    let Some(state) = state.as_any().downcast_ref::<SessionState>() else {
        return plan_err!("random_windows(): cannot read '{name}' from this session");
    };
    let ctx = SessionContext::new_with_state(state.clone());
    let frame = ctx.table(name).await?;
    let fields = frame.schema().clone();
    for column in ["chrom", "start", "end"] {
        if fields.field_with_unqualified_name(column).is_err() {
            return plan_err!(
                "random_windows(): exclusion table '{name}' has no column '{column}' (it needs chrom, start, end)"
            );
        }
    }
    let batches = frame
        .select_columns(&["chrom", "start", "end"])?
        .collect()
        .await?;
    let mut per_chrom: HashMap<&str, Vec<(i64, i64, u32)>> = HashMap::new();
    let (mut rows, mut unknown) = (0usize, None);
    for batch in &batches {
        let chrom = cast(batch.column(0), &DataType::Utf8)?;
        let chrom = chrom.as_string::<i32>();
        let start = cast(batch.column(1), &DataType::Int64)?;
        let end = cast(batch.column(2), &DataType::Int64)?;
        let (start, end) = (
            start.as_primitive::<Int64Type>(),
            end.as_primitive::<Int64Type>(),
        );
        for i in 0..batch.num_rows() {
            if chrom.is_null(i) || start.is_null(i) || end.is_null(i) {
                continue;
            }
            rows += 1;
            match genome.index(chrom.value(i)) {
                Some(c) => per_chrom
                    .entry(genome.chrom(c).name.as_str())
                    .or_default()
                    .push((start.value(i), end.value(i), 0)),
                None => unknown = Some(chrom.value(i).to_string()),
            }
        }
    }
    if rows > 0 && per_chrom.is_empty() {
        return plan_err!(
            "random_windows(): no chromosome of exclusion table '{name}' is in the genome (it has '{}')",
            unknown.unwrap_or_default()
        );
    }
    Ok(genome
        .chroms()
        .iter()
        .map(|c| IntervalIndex::new(per_chrom.remove(c.name.as_str()).unwrap_or_default()))
        .collect())
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
        let a = draw_windows(&g, 500, 100, 7, None).unwrap();
        assert_eq!(a, draw_windows(&g, 500, 100, 7, None).unwrap());
        assert_ne!(a, draw_windows(&g, 500, 100, 8, None).unwrap());
        for &(c, s) in &a {
            assert!(g.chrom(c).seq.n_count(s as u64, s as u64 + 100) <= 1);
        }
        // Both chromosomes are drawn from, in proportion to their whole windows.
        let on_chr2 = a.iter().filter(|(c, _)| *c == 1).count();
        assert!((150..300).contains(&on_chr2), "{on_chr2}");
        assert_eq!(draw_windows(&g, 3, 20_000, 1, None), Err(0));
    }

    #[tokio::test]
    async fn sql_gives_n_rows() {
        let ctx = datafusion::execution::context::SessionContext::new();
        crate::sql::functions::register_all(&ctx, Some(Arc::new(genome())));
        let text = crate::sql::functions::pretty_sql(
            &ctx,
            "SELECT count(*), count(DISTINCT window_id), min(\"end\" - start) FROM random_windows(50, 200, 3)",
        )
        .await
        .unwrap();
        assert!(text.contains("| 50       | 50"), "{text}");
        let err = ctx
            .sql("SELECT * FROM random_windows(5, 50000, 3)")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("found only 0 of 5 windows"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn exclusion_table_is_avoided() {
        let ctx = datafusion::execution::context::SessionContext::new();
        crate::sql::functions::register_all(&ctx, Some(Arc::new(genome())));
        let run = |sql: &'static str| crate::sql::functions::pretty_sql(&ctx, sql);
        run("CREATE VIEW avoid AS SELECT * FROM (VALUES ('chr2', 0, 4000), ('chr1', 100, 1500)) AS t(chrom, start, \"end\")")
            .await
            .unwrap();
        // No window touches an excluded interval, and chr2 keeps only [4000, 5000).
        let text = run(
            "SELECT count(*) AS hits FROM random_windows(200, 100, 3, 'avoid') w JOIN avoid a \
                        ON w.chrom = a.chrom AND w.start < a.\"end\" AND a.start < w.\"end\"",
        )
        .await
        .unwrap();
        assert!(text.contains("| 0    |"), "{text}");
        let text = run("SELECT count(*) AS n FROM random_windows(200, 100, 3, avoid) WHERE chrom = 'chr2' AND start < 4000")
            .await
            .unwrap();
        assert!(text.contains("| 0 |"), "{text}");
        let err = run("SELECT * FROM random_windows(5, 100, 3, 'nope')")
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("exclusion table 'nope' does not exist"),
            "{err}"
        );
        run("CREATE VIEW bad AS SELECT 'chr1' AS chrom, 1 AS start")
            .await
            .unwrap();
        let err = run("SELECT * FROM random_windows(5, 100, 3, 'bad')")
            .await
            .unwrap_err();
        assert!(err.to_string().contains("has no column 'end'"), "{err}");
    }
}
