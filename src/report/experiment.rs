//! An experiment's result table: each cell the mean ± sd over seeds of one
//! test metric, read from `metrics`, with the paper's value beside it.
//!
//! ```sql
//! -- the rows it reads
//! SELECT run_id, metric, "group", value FROM metrics WHERE split = 'test'
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use arrow::array::{Array, AsArray};
use arrow::datatypes::Float64Type;

use super::{figures, rows_of, text};
use dnabench_engine::error::{Error, Result};
use dnabench_engine::sql::session::open_session;
use dnabench_engine::sql::statements::run_sql;
use dnabench_engine::store::Store;

/// A table of an experiment: a row per dataset and metric, a column per
/// arm (a model setup), each cell the runs of its seeds.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultTable {
    pub title: String,
    pub columns: Vec<String>,
    pub rows: Vec<ResultRow>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ResultRow {
    pub dataset: String,
    /// The metric's name in `metrics` (its group `all` or `mean`).
    pub metric: String,
    /// A cell per column.
    pub cells: Vec<ResultCell>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResultCell {
    /// One run per seed.
    pub runs: Vec<String>,
    /// What the paper reports for this cell.
    pub paper: Option<f64>,
}

/// Mean, sample standard deviation and count of the seeds scored so far.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub mean: f64,
    pub sd: f64,
    pub n: usize,
}

impl Summary {
    pub fn of(values: &[f64]) -> Option<Summary> {
        if values.is_empty() {
            return None;
        }
        let n = values.len();
        let mean = values.iter().sum::<f64>() / n as f64;
        let sd = if n > 1 {
            (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
        } else {
            0.0
        };
        Some(Summary { mean, sd, n })
    }
}

/// Test metrics of every scored run: (run, metric) to value; a metric's
/// `all` group where it has one, else its `mean`; any other group as
/// `METRIC@GROUP` (`auroc_mean@TF`: the chromatin tracks' TF mean, the
/// columns the paper's table 6.2 reports).
pub async fn test_metrics(store: &Store) -> Result<BTreeMap<(String, String), f64>> {
    let mut values = BTreeMap::new();
    if !store.has_table("metrics") {
        return Ok(values);
    }
    let ctx = open_session(store).await?;
    let q = "SELECT run_id, metric, \"group\", value FROM metrics \
             WHERE split = 'test' AND value IS NOT NULL ORDER BY \"group\"";
    let result = run_sql(&ctx, "experiment", q, &BTreeMap::new()).await?;
    for (b, i) in rows_of(&result.batches) {
        let v = b.column(3).as_primitive::<Float64Type>();
        if v.is_null(i) {
            continue;
        }
        let group = text(b, 2, i);
        let metric = match group.as_str() {
            "all" | "mean" => text(b, 1, i),
            other => format!("{}@{other}", text(b, 1, i)),
        };
        // `all` sorts before `mean`: the first one seen stays.
        values.entry((text(b, 0, i), metric)).or_insert(v.value(i));
    }
    Ok(values)
}

impl ResultTable {
    /// Each cell's summary over the seeds scored in `metrics`.
    pub fn summaries(
        &self,
        metrics: &BTreeMap<(String, String), f64>,
    ) -> Vec<Vec<Option<Summary>>> {
        self.rows
            .iter()
            .map(|row| {
                row.cells
                    .iter()
                    .map(|cell| {
                        let values: Vec<f64> = cell
                            .runs
                            .iter()
                            .filter_map(|r| metrics.get(&(r.clone(), row.metric.clone())))
                            .copied()
                            .collect();
                        Summary::of(&values)
                    })
                    .collect()
            })
            .collect()
    }

    /// The table in Markdown: `0.912 ± 0.010` over the seeds scored (their
    /// count when not all are), the paper's value in brackets.
    pub fn markdown(&self, metrics: &BTreeMap<(String, String), f64>) -> String {
        let summaries = self.summaries(metrics);
        let mut out = format!("### {}\n\n| dataset | metric |", self.title);
        for c in &self.columns {
            let _ = write!(out, " {c} |");
        }
        out.push_str("\n| --- | --- |");
        out.push_str(&" --- |".repeat(self.columns.len()));
        out.push('\n');
        for (row, cells) in self.rows.iter().zip(&summaries) {
            let _ = write!(out, "| {} | {} |", row.dataset, row.metric);
            for (cell, summary) in row.cells.iter().zip(cells) {
                let ours = match summary {
                    Some(s) if s.n == cell.runs.len() => format!("{:.3} ± {:.3}", s.mean, s.sd),
                    Some(s) => format!(
                        "{:.3} ± {:.3} ({} of {} seeds)",
                        s.mean,
                        s.sd,
                        s.n,
                        cell.runs.len()
                    ),
                    None => "—".to_string(),
                };
                let paper = cell
                    .paper
                    .map(|p| format!(" [paper {p:.3}]"))
                    .unwrap_or_default();
                let _ = write!(out, " {ours}{paper} |");
            }
            out.push('\n');
        }
        out
    }

    /// A bar per cell (mean, ± sd whiskers), grouped by row, the paper's
    /// values as black ticks.
    pub fn figure(&self, metrics: &BTreeMap<(String, String), f64>, path: &Path) -> Result<()> {
        let summaries = self.summaries(metrics);
        let groups: Vec<figures::BarGroup> = self
            .rows
            .iter()
            .zip(&summaries)
            .map(|(row, cells)| figures::BarGroup {
                label: format!("{} {}", row.dataset, row.metric),
                bars: row
                    .cells
                    .iter()
                    .zip(cells)
                    .map(|(cell, s)| figures::Bar {
                        mean_sd: s.map(|s| (s.mean, s.sd)),
                        reference: cell.paper,
                    })
                    .collect(),
            })
            .collect();
        if groups.is_empty() {
            return Err(Error::Invalid(format!(
                "table '{}' has no rows",
                self.title
            )));
        }
        figures::grouped_bars(path, &self.title, &self.columns, &groups)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_summarize_their_seeds_beside_the_papers_value() {
        let table = ResultTable {
            title: "t".into(),
            columns: vec!["cnn".into(), "transformer".into()],
            rows: vec![ResultRow {
                dataset: "promoter".into(),
                metric: "auroc".into(),
                cells: vec![
                    ResultCell {
                        runs: vec!["a1".into(), "a2".into(), "a3".into()],
                        paper: Some(0.939),
                    },
                    ResultCell {
                        runs: vec!["b1".into(), "b2".into()],
                        paper: None,
                    },
                ],
            }],
        };
        let metrics = BTreeMap::from([
            (("a1".into(), "auroc".into()), 0.8),
            (("a2".into(), "auroc".into()), 0.9),
            (("a3".into(), "auroc".into()), 1.0),
            (("b1".into(), "auroc".into()), 0.5),
            (("b1".into(), "auprc".into()), 0.7),
        ]);
        let md = table.markdown(&metrics);
        assert!(
            md.contains(
                "| promoter | auroc | 0.900 ± 0.100 [paper 0.939] | 0.500 ± 0.000 (1 of 2 seeds) |"
            ),
            "{md}"
        );
        let dir = tempfile::tempdir().unwrap();
        let png = dir.path().join("t.png");
        table.figure(&metrics, &png).unwrap();
        assert!(std::fs::metadata(&png).unwrap().len() > 1000);
    }

    #[test]
    fn a_sample_sd_over_seeds() {
        let s = Summary::of(&[1.0, 2.0, 3.0, 4.0]).unwrap();
        assert_eq!((s.mean, s.n), (2.5, 4));
        assert!((s.sd - 1.2909944).abs() < 1e-6);
        assert_eq!(Summary::of(&[]), None);
    }
}
