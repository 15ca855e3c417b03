//! `dnabench embed` and `dnabench similar`: backbone features as a table,
//! and the nearest examples by them.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{bail, Result};
use arrow::array::{Float32Array, RecordBatch, StringArray, UInt32Array};
use arrow::datatypes::{DataType, Field, Schema};
use clap::Args;
use datafusion::datasource::MemTable;
use dnabench_engine::{open_session, sql::run_sql, Store};
use dnabench_training as training;

use crate::training_commands::device;
use crate::StoreArg;

#[derive(Args)]
pub(crate) struct EmbedArgs {
    /// The backbone: a trained run (the paper uses the chromatin model);
    /// with --from, the id of the outside model whose embeddings they are.
    #[arg(long)]
    run: String,
    /// Embeddings made outside dnabench (Parquet, Arrow IPC or CSV): a
    /// column example_id and the vector, as a list column `vector` or as
    /// numeric columns in order; for the upper Transformer, each 200 bp
    /// segment's features in order. They go to embeddings_TASK_RUN (or
    /// --table), which 'dnabench fit --table' reads.
    #[arg(long, conflicts_with_all = ["device", "batch_size"])]
    from: Option<std::path::PathBuf>,
    /// The dataset whose examples are embedded (a materialized task).
    #[arg(long)]
    task: String,
    /// The table to write (default: embeddings_TASK).
    #[arg(long)]
    table: Option<String>,
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Segments per forward pass.
    #[arg(long, default_value_t = 256)]
    batch_size: usize,
    #[command(flatten)]
    store: StoreArg,
}

pub(crate) fn embed(args: EmbedArgs) -> Result<()> {
    let store = Store::open(&args.store.store)?;
    if let Some(path) = &args.from {
        let s = training::outside::file::import_embeddings(
            &store,
            path,
            &args.run,
            &args.task,
            args.table.as_deref(),
        )?;
        let coverage: Vec<String> = s.coverage.iter().map(|c| c.to_string()).collect();
        println!(
            "{} embeddings of {} ({} features each) from {} committed to {} ({}); fit on them with 'dnabench fit --task {} --table {}'",
            s.rows,
            args.task,
            s.dim,
            path.display(),
            s.table,
            coverage.join(", "),
            args.task,
            s.table
        );
        return Ok(());
    }
    let summary = training::embed::embed(
        &store,
        &training::embed::EmbedRequest {
            run_id: args.run.clone(),
            dataset: args.task.clone(),
            table: args.table,
            device: device(&args.device)?,
            batch_size: args.batch_size,
            progress: training::Progress::on_terminal(training::Progress::Bar),
        },
    )?;
    println!(
        "embedded {} examples of {} with run {} into {} ({} features each, {} segments of {} bp, {:.0} segments/s); vector index built",
        summary.rows,
        args.task,
        args.run,
        summary.table,
        summary.dim,
        summary.segments,
        training::embed::SEGMENT_BP,
        summary.segments_per_s
    );
    Ok(())
}

#[derive(Args)]
pub(crate) struct SimilarArgs {
    /// A sequence as long as the table's examples.
    #[arg(long, conflicts_with = "example", required_unless_present = "example")]
    seq: Option<String>,
    /// An example id of the table.
    #[arg(long)]
    example: Option<String>,
    /// Neighbours to list.
    #[arg(short, long, default_value_t = 10)]
    k: usize,
    /// The embeddings table (default: embeddings_TASK).
    #[arg(long)]
    table: Option<String>,
    /// The task whose embeddings to search, when --table is not given.
    #[arg(long)]
    task: Option<String>,
    #[arg(long, default_value = "cpu")]
    device: String,
    #[command(flatten)]
    store: StoreArg,
}

pub(crate) fn similar(args: SimilarArgs) -> Result<()> {
    let store = Store::open(&args.store.store)?;
    let table = match (&args.table, &args.task) {
        (Some(t), _) => t.clone(),
        (None, Some(task)) => training::embed::embeddings_table(task),
        (None, None) => bail!("give --task (or --table) to say which embeddings to search"),
    };
    let query = match (args.seq, args.example) {
        (Some(s), _) => training::similar::Query::Seq(s),
        (None, Some(e)) => training::similar::Query::Example(e),
        (None, None) => bail!("give --seq or --example"),
    };
    let request = training::similar::SimilarRequest {
        table,
        query,
        k: args.k,
        device: device(&args.device)?,
    };
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let (origin, neighbours) = training::similar::similar(&store, &request).await?;
        print_with_labels(&store, &origin.dataset, &neighbours).await
    })
}

/// The neighbours joined with their examples' labels, nearest first.
async fn print_with_labels(
    store: &Store,
    dataset: &str,
    neighbours: &[training::similar::Neighbour],
) -> Result<()> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("rank", DataType::UInt32, false),
        Field::new("example_id", DataType::Utf8, false),
        Field::new("distance", DataType::Float32, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(UInt32Array::from_iter_values(
                neighbours.iter().map(|n| n.rank as u32),
            )),
            Arc::new(StringArray::from_iter_values(
                neighbours.iter().map(|n| n.example_id.as_str()),
            )),
            Arc::new(Float32Array::from_iter_values(
                neighbours.iter().map(|n| n.distance),
            )),
        ],
    )?;
    let ctx = open_session(store).await?;
    ctx.register_table(
        "neighbours",
        Arc::new(MemTable::try_new(schema, vec![vec![batch]])?),
    )?;
    let mut params = BTreeMap::new();
    params.insert("dataset".to_string(), dataset.to_string());
    let sql = "SELECT n.rank, n.example_id, e.split, round(n.distance, 4) AS distance, \
               e.chrom, e.start, e.label, e.targets, e.positive_tracks \
               FROM neighbours n JOIN examples e ON e.example_id = n.example_id AND e.dataset = $dataset \
               ORDER BY n.rank";
    let result = run_sql(&ctx, "similar", sql, &params).await?;
    crate::print_result(&result)
}

#[derive(Args)]
pub(crate) struct FitArgs {
    /// The task whose embeddings to fit on (causal_snp, mpra, expression, …).
    #[arg(long)]
    task: String,
    /// forest (one per tissue), boosted (gradient-boosted trees) or upper (Transformer
    /// over segment embeddings).
    #[arg(long)]
    model: String,
    /// The embeddings table (default: embeddings_TASK).
    #[arg(long)]
    table: Option<String>,
    /// A TOML file with a [forest], [boosted] or [upper] section.
    #[arg(long)]
    config: Option<std::path::PathBuf>,
    /// The run id (default: TASK-MODEL-N).
    #[arg(long)]
    run_id: Option<String>,
    #[command(flatten)]
    store: StoreArg,
}

pub(crate) use training::downstream::FitConfig;

pub(crate) fn fit(args: FitArgs) -> Result<()> {
    let store = Store::open(&args.store.store)?;
    let model: training::downstream::DownstreamModel =
        args.model.parse().map_err(anyhow::Error::msg)?;
    let config = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("cannot read config {}: {e}", path.display()))?;
            FitConfig::parse(&text)
                .map_err(|e| anyhow::anyhow!("config {}: {e}", path.display()))?
        }
        None => FitConfig::default(),
    };
    let row = fit_with(&store, &args.task, model, args.table, config, args.run_id)?;
    println!(
        "run {}: {} on {} embeddings ({}, backbone {}); predictions written for valid and test",
        row.run_id,
        row.model,
        row.task,
        row.data_table,
        row.init.as_deref().unwrap_or("?")
    );
    Ok(())
}

pub(crate) fn fit_with(
    store: &Store,
    task: &str,
    model: training::downstream::DownstreamModel,
    table: Option<String>,
    config: FitConfig,
    run_id: Option<String>,
) -> Result<training::runs::RunRow> {
    training::downstream::fit(
        store,
        &training::downstream::FitRequest {
            task: task.to_string(),
            table: table.unwrap_or_else(|| training::embed::embeddings_table(task)),
            model,
            forest: config.forest,
            boosted: config.boosted,
            upper: config.upper,
            run_id,
        },
    )
}
