//! The `dnabench` command line: parses arguments and calls the engine.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::output::{write_batches, OutputFormat};
use anyhow::{bail, Result};
use clap::{Args, Parser, Subcommand};
use dnabench_engine::Store;
use dnabench_training as training;

mod build_command;
mod data_commands;
mod embedding_commands;
mod experiment;
mod export_command;
mod fetch_command;
mod ingest_commands;
mod output;
mod outside_commands;
mod quickstart;
mod report;
mod training_commands;

pub(crate) use data_commands::{data_dir, simulated_line, split_counts, toml_params};
use data_commands::{MaterializeArgs, SqlArgs};
use ingest_commands::IngestKind;
use quickstart::quickstart;
use training_commands::{predict, pretrain, train, PredictArgs, PretrainArgs, TrainArgs};

#[derive(Parser)]
#[command(
    name = "dnabench",
    version,
    about = "Genomic sequence benchmarks as Lance tables and DataFusion SQL"
)]
struct Cli {
    /// Memory every SQL session may use before it spills to disk (3GB,
    /// 512MB; default a quarter of the machine's memory)
    #[arg(long, global = true, env = "DNABENCH_MEMORY_LIMIT", value_parser = memory_size)]
    memory_limit: Option<usize>,
    /// Where SQL sessions spill to disk (default STORE/_spill); a killed
    /// command's spill files there are removed by the next command
    #[arg(long, global = true, env = "DNABENCH_SPILL_DIR")]
    spill_dir: Option<PathBuf>,
    /// Disk a SQL session may spill before its query is stopped (200GB;
    /// default half the free space of the spill folder)
    #[arg(long, global = true, env = "DNABENCH_SPILL_LIMIT", value_parser = memory_size)]
    spill_limit: Option<usize>,
    /// Run the SQL of sql, materialize and eval on these workers
    /// (`dnabench worker`), comma-separated http://HOST:PORT
    #[arg(long, global = true, env = "DNABENCH_WORKERS")]
    workers: Option<String>,
    #[command(subcommand)]
    command: Command,
}

fn memory_size(text: &str) -> std::result::Result<usize, String> {
    dnabench_engine::sql::memory::parse_size(text).map_err(|e| e.to_string())
}

#[derive(Args, Clone)]
pub(crate) struct StoreArg {
    /// The store folder (one Lance dataset per table).
    #[arg(long, env = "DNABENCH_STORE", default_value = "store")]
    pub(crate) store: PathBuf,
}

#[derive(Subcommand)]
enum Command {
    /// Ingest a source file into the store's tables.
    #[command(
        after_help = "Example:\n  dnabench ingest genome data/genome/grch37_chr22_20-21M.fa --store store\n  dnabench ingest peaks --manifest tracks.tsv --store store"
    )]
    Ingest {
        #[command(subcommand)]
        kind: IngestKind,
    },
    /// List the store's tables with row counts and Lance versions.
    #[command(after_help = "Example:\n  dnabench tables --store quickstart-store")]
    Tables {
        #[command(flatten)]
        store: StoreArg,
    },
    /// Run SQL over the store (statements of a file run in order; the last one's rows are printed).
    #[command(
        after_help = "Example:\n  dnabench sql --store quickstart-store \"SELECT dataset, split, count(*) FROM examples GROUP BY 1, 2\"\n  dnabench sql -f tests/fixtures/intersect.sql --param a=data/intervals/gerp.chr1.bed.gz"
    )]
    Sql(SqlArgs),
    /// Write a mini benchmark in the source formats, from the bundled data.
    #[command(
        after_help = "Example:\n  dnabench simulate --out mini-sources --seed 1 --store mini-store"
    )]
    Simulate {
        /// Folder to write the files into (created; must be empty or absent)
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Also ingest what was written into this store
        #[arg(long)]
        store: Option<PathBuf>,
        /// The bundled data folder (default: ./data)
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// Run a task's SQL and write its rows into `examples` (or print them).
    #[command(
        after_help = "Example:\n  dnabench materialize --task promoter --store quickstart-store\n  dnabench materialize --task chromatin --param flank=0 --name chromatin_bins --store quickstart-store\n  dnabench materialize --task methylation --variant train_subset --param source=methylation --param train_fraction=0.01 --name methylation_few --store quickstart-store"
    )]
    Materialize(MaterializeArgs),
    /// Write a dataset's examples with their sequences (cut from the genome as
    /// the training loader cuts them) to a file, for readers outside dnabench.
    #[command(
        after_help = "Example:\n  dnabench export --dataset promoter --split test --format parquet -o promoter_test.parquet --store quickstart-store"
    )]
    Export(export_command::ExportArgs),
    /// Download every file of a recipe's sources: parallel, resumable, each
    /// file verified (md5, size, or the lock file's sha256) before it is kept.
    #[command(
        after_help = "Example:\n  dnabench fetch recipes/paper.toml --out paper-sources\n  dnabench fetch recipes/paper.toml --out paper-sources --only methylation --mirror http://mirror.local"
    )]
    Fetch(fetch_command::FetchArgs),
    /// Build a store from a recipe's fetched sources: ingest each (archives
    /// unpacked, lifted over, replicates pooled), materialize the recipe's
    /// tasks and datasets, and check each source's count against the recipe.
    #[command(
        after_help = "Example:\n  dnabench fetch recipes/paper.toml --out paper-sources\n  dnabench build recipes/paper.toml --sources paper-sources --store hg19-store"
    )]
    Build(build_command::BuildArgs),
    /// List the tasks, their parameters and the datasets materialized from them.
    #[command(after_help = "Example:\n  dnabench tasks --store quickstart-store")]
    Tasks {
        #[command(flatten)]
        store: StoreArg,
    },
    /// Train a model on a materialized dataset; writes a checkpoint and a row of `runs`.
    #[command(
        after_help = "Example:\n  dnabench train --task promoter --model cnn --config training/configs/quickstart_cnn.toml --store quickstart-store"
    )]
    Train(TrainArgs),
    /// Masked-language-model pre-training of the Transformer on the genome.
    #[command(
        after_help = "Example:\n  dnabench pretrain --tokenizer kpatch --config training/configs/quickstart_transformer.toml --store quickstart-store"
    )]
    Pretrain(PretrainArgs),
    /// Run a trained model over a split and write `predictions`.
    #[command(
        after_help = "Example:\n  dnabench predict --run promoter-cnn-1 --split valid,test --store quickstart-store"
    )]
    Predict(PredictArgs),
    /// Embed every example of a task with a trained backbone (200 bp segments,
    /// concatenated); writes `embeddings_TASK` with a vector index.
    #[command(
        after_help = "Example:\n  dnabench embed --run chromatin_bins-cnn-1 --task causal_snp --store quickstart-store"
    )]
    Embed(embedding_commands::EmbedArgs),
    /// The examples nearest a sequence or an example by embedding, with their labels.
    #[command(
        after_help = "Example:\n  dnabench similar --task mpra --example 'SIM_E1:89458:G>A' -k 10 --store quickstart-store"
    )]
    Similar(embedding_commands::SimilarArgs),
    /// Fit a downstream model on a task's embeddings (random forest, boosted trees, or
    /// an upper Transformer); writes `predictions` and a row of `runs`.
    #[command(
        after_help = "Example:\n  dnabench fit --task causal_snp --model forest --store quickstart-store"
    )]
    Fit(embedding_commands::FitArgs),
    /// Score a run's predictions with its task's metric query; writes `metrics`.
    /// With --predictions, a model's predictions made anywhere become a run first.
    #[command(
        after_help = "Examples:\n  dnabench eval --run promoter-cnn-1 --split test --store quickstart-store\n  dnabench eval --predictions preds.parquet --run my-cnn --dataset promoter --model \"my CNN\" --store quickstart-store"
    )]
    Eval(outside_commands::EvalArgs),
    /// Every task's scored runs by its headline metric (seeds as mean ± sd),
    /// dnabench's and outside models' alike, with the paper's values beside.
    #[command(
        after_help = "Examples:\n  dnabench leaderboard --store quickstart-store\n  dnabench leaderboard --format csv --output leaderboard.csv --store quickstart-store"
    )]
    Leaderboard(outside_commands::LeaderboardArgs),
    /// The whole benchmark on the bundled data: simulate, ingest, materialize the six
    /// tasks, train a CNN per task and the chromatin backbone, embed and fit the
    /// downstream models, score in SQL, report (about two minutes on 2 cores).
    #[command(
        after_help = "Examples:\n  dnabench quickstart                  # CNNs, backbone, downstream models: a few minutes\n  dnabench quickstart --full           # adds the Transformers and the configs' whole budgets (minutes on CPU)\n  dnabench quickstart --models none    # the data steps only: simulate, ingest, materialize"
    )]
    Quickstart {
        /// Where the quickstart store is written (replaced if it exists).
        #[arg(long, default_value = "quickstart-store")]
        store: PathBuf,
        /// The bundled data folder.
        #[arg(long)]
        data: Option<PathBuf>,
        /// Models to train: cnn, transformer (comma-separated), or none (default: cnn,
        /// and transformer with --full).
        #[arg(long)]
        models: Option<String>,
        /// The Transformers and the configs' whole step budgets: the quickstart as the
        /// paper's models need it, minutes on a CPU (it says how many first).
        #[arg(long)]
        full: bool,
        /// Epochs per run (default: the quickstart configs').
        #[arg(long)]
        epochs: Option<usize>,
    },
    /// Run an experiment file's grid (datasets × model setups × seeds): train, predict
    /// and score every cell not scored yet, then render its tables (mean ± sd over
    /// seeds, the paper's value beside) as Markdown and PNG.
    #[command(
        after_help = "Examples:\n  dnabench experiment experiments/table_6_4.toml --store quickstart-store\n  dnabench experiment experiments/table_6_3.toml --seeds 3 --report out/ --store quickstart-store"
    )]
    Experiment {
        /// The experiment file (TOML; see experiments/).
        file: PathBuf,
        /// Seeds per cell (default: the file's).
        #[arg(long)]
        seeds: Option<usize>,
        /// The folder for the tables (default: STORE-NAME beside the store).
        #[arg(long)]
        report: Option<PathBuf>,
        /// Where every run trains and predicts: cpu, cuda or cuda:N (a
        /// build with --features cuda).
        #[arg(long, default_value = "cpu")]
        device: String,
        /// At most N optimizer steps a run: a smoke run of the whole grid
        /// (its runs are tagged apart from whole ones).
        #[arg(long)]
        max_steps: Option<usize>,
        #[command(flatten)]
        store: StoreArg,
    },
    /// Serve plan stages over a store to coordinators (`dnabench --workers URL,… sql|materialize|eval`).
    #[command(
        after_help = "Examples:\n  dnabench worker --store /shared/hg19-store --listen 0.0.0.0:50051\n  dnabench worker --store quickstart-store --listen 127.0.0.1:0   # prints the port it took"
    )]
    Worker {
        /// The address to listen on (port 0: any free port, printed).
        #[arg(long, default_value = "127.0.0.1:50051")]
        listen: std::net::SocketAddr,
        #[command(flatten)]
        store: StoreArg,
    },
    /// A Markdown leaderboard and PNG figures of the scored runs.
    #[command(after_help = "Example:\n  dnabench report --store quickstart-store --out report")]
    Report {
        /// Runs to include (comma-separated; default: every run with test metrics).
        #[arg(long)]
        runs: Option<String>,
        /// The folder to write report.md and the figures into.
        #[arg(long, default_value = "report")]
        out: PathBuf,
        #[command(flatten)]
        store: StoreArg,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(bytes) = cli.memory_limit {
        dnabench_engine::sql::memory::set_memory_limit(bytes);
    }
    if let Some(dir) = &cli.spill_dir {
        dnabench_engine::sql::spill::set_spill_dir(dir.clone());
    }
    if let Some(bytes) = cli.spill_limit {
        dnabench_engine::sql::spill::set_spill_limit(bytes as u64);
    }
    if let Some(workers) = &cli.workers {
        match dnabench_distributed::coordinator::parse_workers(workers) {
            Ok(urls) => dnabench_distributed::coordinator::install(urls),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let code = dispatch(cli);
    // Each session's spill files went with it; this removes the folder
    // that held them. A killed command's is removed by the next one.
    dnabench_engine::sql::spill::release_own();
    code
}

fn dispatch(cli: Cli) -> ExitCode {
    // Training reuses freed tensor memory; ingest and SQL give it back, so
    // their peak stays what they hold.
    if matches!(
        cli.command,
        Command::Train(_)
            | Command::Pretrain(_)
            | Command::Predict(_)
            | Command::Embed(_)
            | Command::Fit(_)
            | Command::Quickstart { .. }
            | Command::Experiment { .. }
    ) {
        training::allocator::keep_freed_memory();
        // Loaded while this is the only thread: it sets OpenBLAS's variables.
        training::ops::load_blas();
    } else {
        training::allocator::one_arena_per_core();
    }
    // Training owns its threads (the loader's runtime); it runs outside the async runtime.
    let trained = match cli.command {
        Command::Train(args) => Some(train(args)),
        Command::Pretrain(args) => Some(pretrain(args)),
        Command::Predict(args) => Some(predict(args)),
        Command::Embed(args) => Some(embedding_commands::embed(args)),
        Command::Similar(args) => Some(embedding_commands::similar(args)),
        Command::Fit(args) => Some(embedding_commands::fit(args)),
        Command::Export(args) => Some(export_command::export(args)),
        // An import runs its own runtimes before the scoring does.
        Command::Eval(args) => Some(outside_commands::eval(args)),
        Command::Experiment {
            file,
            seeds,
            report,
            device,
            max_steps,
            store,
        } => Some(experiment::experiment(experiment::ExperimentOptions {
            file,
            store: store.store,
            seeds,
            report,
            device,
            max_steps,
        })),
        Command::Quickstart {
            store,
            data,
            models,
            full,
            epochs,
        } => Some(
            quickstart::QuickstartOptions::models(models.as_deref(), full).and_then(|models| {
                quickstart(quickstart::QuickstartOptions {
                    store,
                    data,
                    models,
                    full,
                    epochs,
                })
            }),
        ),
        command => {
            return run_async(command);
        }
    };
    match trained {
        Some(Err(e)) => {
            eprintln!("error: {}", error_text(&e));
            ExitCode::FAILURE
        }
        _ => ExitCode::SUCCESS,
    }
}

/// An error and its causes, each cause once: the engine's errors already
/// quote the error they wrap, which anyhow's `{:#}` would repeat.
fn error_text(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let cause = cause.to_string();
        if text.contains(&cause) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&cause);
    }
    text
}

fn run_async(command: Command) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", error_text(&e));
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> Result<()> {
    match command {
        Command::Ingest { kind } => ingest_commands::ingest(kind).await?,
        Command::Tables { store } => {
            data_commands::print_tables(&Store::open(&store.store)?).await?
        }
        Command::Sql(args) => data_commands::sql(args).await?,
        Command::Simulate {
            out,
            seed,
            store,
            data,
        } => data_commands::simulate(&out, seed, store.as_deref(), data).await?,
        Command::Materialize(args) => data_commands::materialize(args).await?,
        Command::Fetch(args) => fetch_command::run(args).await?,
        Command::Build(args) => build_command::run(args).await?,
        Command::Tasks { store } => data_commands::tasks(&Store::open(&store.store)?).await?,
        Command::Report { runs, out, store } => {
            let runs: Vec<String> = runs
                .map(|r| r.split(',').map(|s| s.trim().to_string()).collect())
                .unwrap_or_default();
            let report = crate::report::report(&Store::open(&store.store)?, &runs, &out).await?;
            println!("{}", report.leaderboard);
            println!(
                "report: {} ({} figures)",
                report.markdown.display(),
                report.figures.len()
            );
        }
        Command::Leaderboard(args) => outside_commands::leaderboard(args).await?,
        Command::Worker { listen, store } => {
            let store = Store::open(&store.store)?;
            dnabench_distributed::worker::serve(store, listen, |addr| {
                use std::io::Write as _;
                println!("worker listening on http://{addr}");
                let _ = std::io::stdout().flush();
            })
            .await?
        }
        Command::Train(_)
        | Command::Pretrain(_)
        | Command::Predict(_)
        | Command::Embed(_)
        | Command::Similar(_)
        | Command::Fit(_)
        | Command::Export(_)
        | Command::Eval(_)
        | Command::Experiment { .. }
        | Command::Quickstart { .. } => {
            bail!("training commands run outside the async runtime")
        }
    }
    Ok(())
}

/// A query's rows as a table on standard output.
pub(crate) fn print_result(result: &dnabench_engine::sql::QueryResult) -> Result<()> {
    write_batches(
        &result.schema,
        &result.batches,
        OutputFormat::Table,
        std::io::BufWriter::new(std::io::stdout()),
    )?;
    Ok(())
}

/// Scores a run's `split` with its task's metric query into `metrics`.
pub(crate) async fn eval(
    store: &Store,
    run: &str,
    split: &str,
) -> Result<dnabench_engine::eval::Evaluation> {
    let evaluation = dnabench_engine::eval::evaluate(store, run, split, false).await?;
    dnabench_engine::eval::write_metrics(store, &evaluation).await?;
    Ok(evaluation)
}
