//! Scoring any model from the command line: `dnabench eval` (a run of the
//! store, or predictions made anywhere with `--predictions FILE`), and
//! `dnabench leaderboard` (every task's runs, seeds as mean ± sd, the
//! paper's values beside).

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use dnabench_engine::leaderboard::{leaderboard_batch, LeaderboardRow, FROM_PAPER};
use dnabench_engine::Store;
use dnabench_training as training;

use crate::output::{write_batches, OutputFormat};
use crate::StoreArg;

#[derive(Args)]
pub(crate) struct EvalArgs {
    /// The run to score; with --predictions, the id the imported run gets.
    #[arg(long)]
    run: String,
    /// The split scored.
    #[arg(long, default_value = "test")]
    split: String,
    /// Score a run whose predictions miss some of the split's examples
    /// (on the examples it has); without it such a run is an error.
    #[arg(long)]
    allow_partial: bool,
    /// Predictions made outside dnabench (Parquet, Arrow IPC or CSV): a
    /// column example_id and the outputs, as a list column `output` or as
    /// numeric columns in order (output_0, output_1, …). They become run
    /// --run, then it is scored.
    #[arg(long, requires = "dataset")]
    predictions: Option<PathBuf>,
    /// The dataset the predictions are of (with --predictions).
    #[arg(long)]
    dataset: Option<String>,
    /// The splits the file predicts (with --predictions; default valid,test).
    #[arg(long, value_delimiter = ',')]
    splits: Vec<String>,
    /// The model's name on the leaderboard (with --predictions; default the run id).
    #[arg(long, requires = "predictions")]
    model: Option<String>,
    /// The model's settings as JSON, or @FILE (with --predictions); a
    /// "seed" in it groups seeds of one setup on the leaderboard.
    #[arg(long, requires = "predictions")]
    config: Option<String>,
    #[command(flatten)]
    store: StoreArg,
}

pub(crate) fn eval(args: EvalArgs) -> Result<()> {
    let store = Store::open(&args.store.store)?;
    if let Some(path) = &args.predictions {
        let dataset = args
            .dataset
            .as_deref()
            .context("--predictions needs --dataset")?;
        let config = match args.config.as_deref() {
            Some(file) if file.starts_with('@') => Some(
                std::fs::read_to_string(&file[1..])
                    .with_context(|| format!("cannot read the config {}", &file[1..]))?,
            ),
            other => other.map(str::to_string),
        };
        let summary = training::outside::file::import_predictions(
            &store,
            path,
            &args.run,
            dataset,
            &args.splits,
            args.model.as_deref().unwrap_or(""),
            config.as_deref(),
        )?;
        let coverage: Vec<String> = summary.coverage.iter().map(|c| c.to_string()).collect();
        println!(
            "run {} ({} on dataset {}): {} predictions from {} committed ({})",
            summary.run_id,
            summary.task,
            summary.dataset,
            summary.rows,
            path.display(),
            coverage.join(", ")
        );
    }
    let rt = tokio::runtime::Runtime::new()?;
    let evaluation = rt.block_on(async {
        let e = dnabench_engine::eval::evaluate(&store, &args.run, &args.split, args.allow_partial)
            .await?;
        dnabench_engine::eval::write_metrics(&store, &e).await?;
        Ok::<_, dnabench_engine::Error>(e)
    })?;
    println!(
        "run {} ({}, {} split): {} metrics written to metrics",
        args.run,
        evaluation.task,
        args.split,
        evaluation.scores.len()
    );
    for s in &evaluation.scores {
        let value = s.value.map_or("NULL".to_string(), |v| format!("{v:.4}"));
        println!("  {:<18} {:<16} {value}", s.metric, s.group);
    }
    Ok(())
}

#[derive(Args)]
pub(crate) struct LeaderboardArgs {
    /// md (Markdown), table, csv, json, ndjson or parquet.
    #[arg(long, default_value = "md")]
    format: String,
    /// Write to this file instead of standard output.
    #[arg(long)]
    output: Option<PathBuf>,
    #[command(flatten)]
    store: StoreArg,
}

pub(crate) async fn leaderboard(args: LeaderboardArgs) -> Result<()> {
    let store = Store::open(&args.store.store)?;
    let rows = dnabench_engine::leaderboard::leaderboard(&store).await?;
    let mut out: Box<dyn std::io::Write + Send> = match &args.output {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout())),
    };
    if args.format.eq_ignore_ascii_case("md") || args.format.eq_ignore_ascii_case("markdown") {
        out.write_all(markdown(&rows).as_bytes())?;
        out.flush()?;
        return Ok(());
    }
    let format: OutputFormat = args.format.parse()?;
    let batch = leaderboard_batch(&rows)?;
    write_batches(&batch.schema(), &[batch], format, out)?;
    Ok(())
}

/// One table a task: its setups best first, the paper's values among them.
pub(crate) fn markdown(rows: &[LeaderboardRow]) -> String {
    let mut md = String::from(
        "# Leaderboard\n\nTest split, each task's headline metric. Runs of one setup that name a seed \
         are one row (mean ± sd over the seeds); *paper* rows are the paper's Table 6.4.\n",
    );
    let mut task = "";
    for r in rows {
        if r.task != task {
            task = &r.task;
            let _ = write!(
                md,
                "\n## {task} ({})\n\n| model | dataset | {} | seeds | runs |\n| --- | --- | --- | --- | --- |\n",
                r.metric, r.metric
            );
        }
        let value = match (r.mean, r.sd) {
            (Some(m), Some(sd)) => format!("{m:.3} ± {sd:.3}"),
            (Some(m), None) => format!("{m:.3}"),
            _ => "—".into(),
        };
        let (model, runs) = if r.source == FROM_PAPER {
            (format!("*paper: {}*", r.model), "—".to_string())
        } else {
            (r.model.clone(), r.runs.join(", "))
        };
        let seeds = if r.seeds.is_empty() {
            "—".to_string()
        } else {
            r.seeds
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(
            md,
            "| {model} | {} | {value} | {seeds} | {runs} |",
            r.dataset
        );
    }
    md
}
