//! `dnabench report`: a Markdown leaderboard of the scored runs (tasks ×
//! models, each task's headline metrics in both conventions) and PNG
//! figures: ROC and precision–recall curves of the binary tasks and the
//! loss curves of every run. [`experiment`] renders an experiment grid.

pub mod experiment;
mod figures;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{Float32Type, Float64Type};

use dnabench_engine::error::{Error, Result};
use dnabench_engine::sql::session::open_session;
use dnabench_engine::sql::statements::run_sql;
use dnabench_engine::store::Store;
use dnabench_queries::{Task, TASKS};

/// A scored run as the report shows it.
#[derive(Debug, Clone)]
struct RunRow {
    run_id: String,
    task: String,
    model: String,
    train_loss: Vec<f32>,
    valid_loss: Vec<f32>,
    metrics: BTreeMap<(String, String), Option<f64>>,
}

#[derive(Debug, Clone)]
pub struct Report {
    pub markdown: PathBuf,
    pub figures: Vec<PathBuf>,
    /// Every headline metric of every task, as `report.md` has it.
    pub leaderboard: String,
    /// One row per task, its first headline metric: for a terminal.
    pub summary: String,
}

fn rows_of(batches: &[RecordBatch]) -> impl Iterator<Item = (&RecordBatch, usize)> {
    batches
        .iter()
        .flat_map(|b| (0..b.num_rows()).map(move |i| (b, i)))
}

fn text(b: &RecordBatch, col: usize, i: usize) -> String {
    let c = b.column(col).as_string::<i32>();
    if c.is_null(i) {
        String::new()
    } else {
        c.value(i).to_string()
    }
}

fn losses(b: &RecordBatch, col: usize, i: usize) -> Vec<f32> {
    let lists = b.column(col).as_list::<i32>();
    lists
        .value(i)
        .as_primitive::<Float32Type>()
        .values()
        .to_vec()
}

/// Writes `report.md` and the figures into `out`, for `runs` (all scored
/// runs when empty).
pub async fn report(store: &Store, runs: &[String], out: &Path) -> Result<Report> {
    if !store.has_table("metrics") {
        return Err(Error::Invalid(
            "no metrics yet: score runs with 'dnabench eval --run RUN' first".into(),
        ));
    }
    let ctx = open_session(store).await?;
    let none = BTreeMap::new();
    // Downstream models (forest, boosted trees, upper Transformer) each serve
    // one task: they share one column per backbone. A run on a dataset variant
    // (the backbone's chromatin bins) gets a column of its own.
    let q = format!(
        "SELECT r.run_id, r.task, {} AS model, r.train_loss, r.valid_loss, m.metric, m.\"group\", m.value \
         FROM runs r JOIN metrics m ON m.run_id = r.run_id AND m.split = 'test' ORDER BY r.run_id",
        dnabench_engine::leaderboard::RUN_LABEL_SQL
    );
    let result = run_sql(&ctx, "report", &q, &none).await?;
    let mut by_run: BTreeMap<String, RunRow> = BTreeMap::new();
    for (b, i) in rows_of(&result.batches) {
        let run_id = text(b, 0, i);
        if !runs.is_empty() && !runs.contains(&run_id) {
            continue;
        }
        let row = by_run.entry(run_id.clone()).or_insert_with(|| RunRow {
            run_id,
            task: text(b, 1, i),
            model: text(b, 2, i),
            train_loss: losses(b, 3, i),
            valid_loss: losses(b, 4, i),
            metrics: BTreeMap::new(),
        });
        let values = b.column(7).as_primitive::<Float64Type>();
        let value = (!values.is_null(i)).then(|| values.value(i));
        row.metrics.insert((text(b, 5, i), text(b, 6, i)), value);
    }
    if let Some(missing) = runs.iter().find(|r| !by_run.contains_key(*r)) {
        return Err(Error::Invalid(format!(
            "run '{missing}' has no test metrics; run 'dnabench eval --run {missing}' first"
        )));
    }
    if by_run.is_empty() {
        return Err(Error::Invalid("no run has test metrics yet".into()));
    }
    std::fs::create_dir_all(out)
        .map_err(|e| Error::Invalid(format!("cannot create {}: {e}", out.display())))?;
    let mut figures = Vec::new();
    // Forests and boosted trees fit without epochs: no loss curve to draw.
    for run in by_run.values().filter(|r| !r.train_loss.is_empty()) {
        let path = out.join(format!("loss-{}.png", run.run_id));
        figures::loss_curves(&path, &run.run_id, &run.train_loss, &run.valid_loss)?;
        figures.push(path);
    }
    // ROC and PR curves of the binary tasks, one figure each, every run on it.
    for task in TASKS.iter().filter(|t| t.is_binary()).map(|t| t.name) {
        let mut curves = Vec::new();
        for run in by_run.values().filter(|r| r.task == task) {
            let q = format!(
                "SELECT p.output[1], e.label FROM predictions p JOIN examples e \
                 ON e.dataset = p.dataset AND e.example_id = p.example_id \
                 WHERE p.run_id = '{}' AND p.split = 'test'",
                run.run_id.replace('\'', "''")
            );
            let result = run_sql(&ctx, "report", &q, &none).await?;
            let (mut scores, mut labels) = (Vec::new(), Vec::new());
            for (b, i) in rows_of(&result.batches) {
                let s = b.column(0).as_primitive::<Float32Type>();
                let l = b.column(1).as_primitive::<Float32Type>();
                if !s.is_null(i) && !l.is_null(i) {
                    scores.push(f64::from(s.value(i)));
                    labels.push(l.value(i) > 0.5);
                }
            }
            curves.push((format!("{} ({})", run.model, run.run_id), scores, labels));
        }
        if curves.is_empty() {
            continue;
        }
        let roc = out.join(format!("roc-{task}.png"));
        let pr = out.join(format!("pr-{task}.png"));
        figures::roc_and_pr(&roc, &pr, task, &curves)?;
        figures.extend([roc, pr]);
    }
    let summary = leaderboard(&by_run, 1);
    let leaderboard = leaderboard(&by_run, usize::MAX);
    let mut md = String::new();
    let _ = writeln!(md, "# dnabench report\n\nTest-split metrics of {} runs, from the `metrics` table (`dnabench eval`). \
        Columns marked *(paper)* follow the paper's code: probabilities cast to fp16, AUPR as the trapezoidal area \
        under the PR curve, Spearman averaged over output columns.\n", by_run.len());
    md.push_str(&leaderboard);
    let _ = writeln!(md, "\n## Runs\n\n| run | task | model | epochs | best valid loss |\n| --- | --- | --- | --- | --- |");
    for r in by_run.values() {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} |",
            r.run_id,
            r.task,
            r.model,
            dash_if_none((!r.train_loss.is_empty()).then_some(r.train_loss.len())),
            dash_if_none(best_loss(&r.valid_loss).map(|l| format!("{l:.4}"))),
        );
    }
    let _ = writeln!(md, "\n## Figures\n");
    for f in &figures {
        if let Some(name) = f.file_name().and_then(|n| n.to_str()) {
            let _ = writeln!(md, "![{name}]({name})");
        }
    }
    let markdown = out.join("report.md");
    std::fs::write(&markdown, md)
        .map_err(|e| Error::Invalid(format!("cannot write {}: {e}", markdown.display())))?;
    Ok(Report {
        markdown,
        figures,
        leaderboard,
        summary,
    })
}

/// The lowest finite validation loss; none for a run fitted without epochs.
fn best_loss(losses: &[f32]) -> Option<f32> {
    losses
        .iter()
        .copied()
        .filter(|l| l.is_finite())
        .min_by(f32::total_cmp)
}

fn dash_if_none(value: Option<impl std::fmt::Display>) -> String {
    value.map_or("—".to_string(), |v| v.to_string())
}

/// Tasks × models: each cell the headline metrics of the best run of that
/// model on that task (by its first headline metric), at most `per_task`
/// metrics a task.
fn leaderboard(runs: &BTreeMap<String, RunRow>, per_task: usize) -> String {
    let models: BTreeSet<&str> = runs.values().map(|r| r.model.as_str()).collect();
    let mut md = String::from("## Leaderboard\n\n| task | metric |");
    for m in &models {
        let _ = write!(md, " {m} |");
    }
    md.push_str("\n| --- | --- |");
    md.push_str(&" --- |".repeat(models.len()));
    md.push('\n');
    for Task {
        name: task,
        headline,
        ..
    } in TASKS
    {
        let task_runs: Vec<&RunRow> = runs.values().filter(|r| r.task == *task).collect();
        if task_runs.is_empty() {
            continue;
        }
        let value = |r: &RunRow, (metric, group): (&str, &str)| {
            r.metrics
                .get(&(metric.to_string(), group.to_string()))
                .copied()
                .flatten()
        };
        let best: BTreeMap<&str, &RunRow> = models
            .iter()
            .filter_map(|m| {
                task_runs
                    .iter()
                    .filter(|r| r.model == *m)
                    .max_by(|a, b| {
                        let key = (headline[0].0, headline[0].1);
                        value(a, key)
                            .unwrap_or(f64::NEG_INFINITY)
                            .total_cmp(&value(b, key).unwrap_or(f64::NEG_INFINITY))
                    })
                    .map(|r| (*m, *r))
            })
            .collect();
        for (metric, group, label) in headline.iter().take(per_task) {
            let _ = write!(md, "| {task} | {label} |");
            for m in &models {
                match best.get(m).and_then(|r| value(r, (metric, group))) {
                    Some(v) => {
                        let _ = write!(md, " {v:.3} |");
                    }
                    None => md.push_str(" — |"),
                }
            }
            md.push('\n');
        }
    }
    md
}
