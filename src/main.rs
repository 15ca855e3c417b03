//! The `dnabench` command line: parses arguments and calls the engine.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use dnabench_engine::output::{write_batches, write_batches_to_file, OutputFormat};
use dnabench_engine::{ingest, materialize, open_session, simulate, sql::run_sql, Store};
use dnabench_queries::{Task, TASKS};
use dnabench_training as training;

mod embedding_commands;
mod experiment;
mod export_command;
mod quickstart;
mod training_commands;

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
    #[command(subcommand)]
    command: Command,
}

fn memory_size(text: &str) -> std::result::Result<usize, String> {
    dnabench_engine::memory::parse_size(text).map_err(|e| e.to_string())
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
        after_help = "Example:\n  dnabench materialize --task promoter --store quickstart-store\n  dnabench materialize --task chromatin --param flank=0 --name chromatin_bins --store quickstart-store"
    )]
    Materialize(MaterializeArgs),
    /// Write a dataset's examples with their sequences (cut from the genome as
    /// the training loader cuts them) to a file, for readers outside dnabench.
    #[command(
        after_help = "Example:\n  dnabench export --dataset promoter --split test --format parquet -o promoter_test.parquet --store quickstart-store"
    )]
    Export(export_command::ExportArgs),
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
    #[command(
        after_help = "Example:\n  dnabench eval --run promoter-cnn-1 --split test --store quickstart-store"
    )]
    Eval {
        #[arg(long)]
        run: String,
        #[arg(long, default_value = "test")]
        split: String,
        #[command(flatten)]
        store: StoreArg,
    },
    /// The whole benchmark on the bundled data: simulate, ingest, materialize the six
    /// tasks, train a CNN per task and the chromatin backbone, embed and fit the
    /// downstream models, score in SQL, report (about a minute on 2 cores).
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

#[derive(Subcommand)]
enum IngestKind {
    /// A FASTA genome (plain, gzip or BGZF) into `chroms` and `genome`.
    #[command(
        after_help = "Example:\n  dnabench ingest genome data/genome/grch37_chr22_20-21M.fa --store store"
    )]
    Genome {
        file: PathBuf,
        #[command(flatten)]
        store: StoreArg,
    },
    /// BED3–BED12, narrowPeak or broadPeak files into `tracks` + `peaks`.
    #[command(
        after_help = "Example:\n  dnabench ingest peaks data/intervals/example.narrowPeak --assay TF --biosample K562 --store store\n  dnabench ingest peaks --manifest tracks.tsv --store store"
    )]
    Peaks(TrackArgs),
    /// bigWig or bedGraph files into `tracks` + `signal`.
    #[command(
        after_help = "Example:\n  dnabench ingest signal data/tracks/sample.bw --assay DNase --biosample K562 --store store"
    )]
    Signal(TrackArgs),
    /// ENCODE bedMethyl files into `tracks` + `methylation`.
    #[command(
        after_help = "Example:\n  dnabench ingest methylation ENCFF000ABC.bed.gz --biosample GM12878 --store store"
    )]
    Methylation(TrackArgs),
    /// GTF, GFF3 or BED6 gene annotation into `genes` (TSS strand-aware).
    #[command(
        after_help = "Example:\n  dnabench ingest genes data/annotation/gencode_v28_hg19_protein_coding_genes.bed --store store"
    )]
    Genes(FileArgs),
    /// An expression matrix (ExPecto layout) into `tracks` (one per sample) + `expression`.
    #[command(
        after_help = "Example:\n  dnabench ingest expression geneanno.exp.csv --genes geneanno.csv --store store"
    )]
    Expression {
        #[command(flatten)]
        file: FileArgs,
        /// The gene annotation table (id, symbol, chrom, strand, TSS), unless FILE has those columns.
        #[arg(long)]
        genes: Option<PathBuf>,
    },
    /// A VCF (multi-allelic records split) or a SNP list into `variants`.
    #[command(
        after_help = "Example:\n  dnabench ingest variants data/variants/grch37_chr22_20-21M.snp --store store"
    )]
    Variants(FileArgs),
    /// A GTEx fine-mapping (DAPG) table into `eqtl` (+ `variants`).
    #[command(
        after_help = "Example:\n  dnabench ingest eqtl GTEx_v8_finemapping_DAPG.txt --store store"
    )]
    Eqtl(FileArgs),
    /// A saturation-mutagenesis MPRA table into `mpra`.
    #[command(after_help = "Example:\n  dnabench ingest mpra kircher2019_F9.tsv --store store")]
    Mpra(FileArgs),
}

#[derive(Args)]
struct FileArgs {
    file: PathBuf,
    /// Intervals outside a chromosome, with end < start, or on an unknown chromosome: fail or skip.
    #[arg(long, default_value = "fail")]
    on_invalid: String,
    #[command(flatten)]
    store: StoreArg,
}

#[derive(Args)]
struct TrackArgs {
    /// The files, one track each.
    #[arg(required_unless_present = "manifest")]
    files: Vec<PathBuf>,
    /// A TSV with columns path, name, assay, biosample: one track per row.
    #[arg(long, conflicts_with_all = ["files", "name"])]
    manifest: Option<PathBuf>,
    /// The assay of every file (e.g. DNase, TF, histone).
    #[arg(long)]
    assay: Option<String>,
    /// The biosample (cell type or tissue) of every file.
    #[arg(long)]
    biosample: Option<String>,
    /// The track name (one file only; default: the file name without suffixes).
    #[arg(long)]
    name: Option<String>,
    /// Intervals outside a chromosome, with end < start, or on an unknown chromosome: fail or skip.
    #[arg(long, default_value = "fail")]
    on_invalid: String,
    #[command(flatten)]
    store: StoreArg,
}

#[derive(Args)]
struct SqlArgs {
    /// The SQL to run (or use -f).
    query: Option<String>,
    /// A file of SQL statements.
    #[arg(short = 'f', long = "file", conflicts_with = "query")]
    file: Option<PathBuf>,
    /// A named parameter: `--param width=500` fills `$width`.
    #[arg(long = "param", value_name = "NAME=VALUE")]
    params: Vec<String>,
    /// table, csv, json, ndjson or parquet.
    #[arg(long, default_value = "table")]
    format: String,
    /// Write to this file instead of standard output.
    #[arg(short, long)]
    output: Option<PathBuf>,
    #[command(flatten)]
    store: StoreArg,
}

#[derive(Args)]
struct MaterializeArgs {
    /// A task name (promoter, methylation, chromatin, expression, causal_snp, mpra)
    #[arg(long)]
    task: String,
    /// Run this SQL file instead of the task's own query
    #[arg(long)]
    sql: Option<PathBuf>,
    #[arg(long = "param", value_name = "NAME=VALUE")]
    params: Vec<String>,
    /// Name of the dataset in `examples` (default: the task name)
    #[arg(long)]
    name: Option<String>,
    /// Also store each window's bases (seq, alt_seq) for readers outside
    /// dnabench; training cuts them from the genome and does not need them
    #[arg(long)]
    with_seq: bool,
    /// Print the rows in this format instead of writing them
    #[arg(long)]
    format: Option<String>,
    #[arg(short, long, requires = "format")]
    output: Option<PathBuf>,
    #[command(flatten)]
    store: StoreArg,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(bytes) = cli.memory_limit {
        dnabench_engine::memory::set_memory_limit(bytes);
    }
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
        Command::Experiment {
            file,
            seeds,
            report,
            store,
        } => Some(experiment::experiment(experiment::ExperimentOptions {
            file,
            store: store.store,
            seeds,
            report,
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
            return run_async(Cli {
                command,
                memory_limit: None,
            });
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

fn run_async(cli: Cli) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", error_text(&e));
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Ingest {
            kind: IngestKind::Genome { file, store },
        } => {
            let store = Store::create(&store.store)?;
            let summary = ingest::ingest_genome(&store, &file).await?;
            println!("{summary}");
        }
        Command::Ingest {
            kind: IngestKind::Peaks(args),
        } => ingest_tracks::<ingest::peaks::Peaks>(args).await?,
        Command::Ingest {
            kind: IngestKind::Signal(args),
        } => ingest_tracks::<ingest::signal::Signal>(args).await?,
        Command::Ingest {
            kind: IngestKind::Methylation(args),
        } => ingest_tracks::<ingest::methylation::Methylation>(args).await?,
        Command::Ingest { kind } => ingest_file(kind).await?,
        Command::Tables { store } => print_tables(&Store::open(&store.store)?).await?,
        Command::Sql(args) => sql(args).await?,
        Command::Simulate {
            out,
            seed,
            store,
            data,
        } => simulate(&out, seed, store.as_deref(), data).await?,
        Command::Materialize(args) => materialize(args).await?,
        Command::Tasks { store } => tasks(&Store::open(&store.store)?).await?,
        Command::Report { runs, out, store } => {
            let runs: Vec<String> = runs
                .map(|r| r.split(',').map(|s| s.trim().to_string()).collect())
                .unwrap_or_default();
            let report =
                dnabench_engine::report::report(&Store::open(&store.store)?, &runs, &out).await?;
            println!("{}", report.leaderboard);
            println!(
                "report: {} ({} figures)",
                report.markdown.display(),
                report.figures.len()
            );
        }
        Command::Eval { run, split, store } => {
            let evaluation = eval(&Store::open(&store.store)?, &run, &split).await?;
            println!(
                "run {run} ({}, {split} split): {} metrics written to metrics",
                evaluation.task,
                evaluation.scores.len()
            );
            for s in &evaluation.scores {
                let value = s.value.map_or("NULL".to_string(), |v| format!("{v:.4}"));
                println!("  {:<18} {:<16} {value}", s.metric, s.group);
            }
        }
        Command::Train(_)
        | Command::Pretrain(_)
        | Command::Predict(_)
        | Command::Embed(_)
        | Command::Similar(_)
        | Command::Fit(_)
        | Command::Export(_)
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
    let evaluation = dnabench_engine::eval::evaluate(store, run, split).await?;
    dnabench_engine::eval::write_metrics(store, &evaluation).await?;
    Ok(evaluation)
}

async fn ingest_tracks<F: ingest::tracks::TrackFormat>(args: TrackArgs) -> Result<()> {
    let on_invalid: ingest::OnInvalid = args.on_invalid.parse()?;
    let specs = match &args.manifest {
        Some(m) => ingest::read_manifest(m)?,
        None => {
            if args.name.is_some() && args.files.len() > 1 {
                bail!("--name names one track; give one file, or use --manifest for names");
            }
            args.files
                .iter()
                .map(|path| ingest::TrackSpec {
                    path: path.clone(),
                    name: args.name.clone(),
                    assay: args.assay.clone(),
                    biosample: args.biosample.clone(),
                })
                .collect()
        }
    };
    let store = Store::create(&args.store.store)?;
    let bar = indicatif::ProgressBar::new(specs.len() as u64).with_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {pos}/{len} files {wide_bar} {msg} [{elapsed_precise}, eta {eta}]",
        )?,
    );
    let report = ingest::ingest_tracks::<F>(&store, &specs, on_invalid, &mut |p| {
        bar.set_position(p.files_done as u64);
        bar.set_message(format!("{} rows", p.rows));
    })
    .await;
    bar.finish_and_clear();
    println!("{}", report?);
    Ok(())
}

async fn ingest_file(kind: IngestKind) -> Result<()> {
    let (args, genes) = match &kind {
        IngestKind::Genes(a)
        | IngestKind::Variants(a)
        | IngestKind::Eqtl(a)
        | IngestKind::Mpra(a) => (a, None),
        IngestKind::Expression { file, genes } => (file, genes.as_deref()),
        _ => bail!("not a one-file ingest"),
    };
    let on_invalid: ingest::OnInvalid = args.on_invalid.parse()?;
    let store = Store::create(&args.store.store)?;
    let path = args.file.as_path();
    let report = match kind {
        IngestKind::Genes(_) => ingest::ingest_genes(&store, path, on_invalid).await?,
        IngestKind::Variants(_) => ingest::ingest_variants(&store, path, on_invalid).await?,
        IngestKind::Eqtl(_) => ingest::ingest_eqtl(&store, path, on_invalid).await?,
        IngestKind::Mpra(_) => ingest::ingest_mpra(&store, path, on_invalid).await?,
        IngestKind::Expression { .. } => {
            ingest::ingest_expression(&store, path, genes, on_invalid).await?
        }
        _ => bail!("not a one-file ingest"),
    };
    println!("{report}");
    Ok(())
}

async fn print_tables(store: &Store) -> Result<()> {
    let tables = store.tables().await?;
    if tables.is_empty() {
        println!("store {} has no tables yet", store.root().display());
        return Ok(());
    }
    println!(
        "{:<12} {:>12} {:>8} {:>10}",
        "table", "rows", "version", "fragments"
    );
    for t in tables {
        println!(
            "{:<12} {:>12} {:>8} {:>10}",
            t.name, t.rows, t.version, t.fragments
        );
    }
    Ok(())
}

async fn sql(args: SqlArgs) -> Result<()> {
    let format: OutputFormat = args.format.parse()?;
    let (origin, text) = match (&args.query, &args.file) {
        (Some(q), None) => ("query".to_string(), q.clone()),
        (None, Some(f)) => (
            f.display().to_string(),
            std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?,
        ),
        _ => bail!("give the SQL as an argument or with -f FILE"),
    };
    let params = parse_params(&args.params)?;
    // Without a store, SQL still runs over tables the file declares itself
    // (CREATE EXTERNAL TABLE … STORED AS CSV|PARQUET) and over file paths.
    let ctx = if args.store.store.exists() {
        open_session(&Store::open(&args.store.store)?).await?
    } else {
        eprintln!(
            "note: no store at {}; only tables the SQL declares or reads from files are visible",
            args.store.store.display()
        );
        dnabench_engine::session::open_session_without_store()
    };
    let result = run_sql(&ctx, &origin, &text, &params).await?;
    match &args.output {
        Some(path) => write_batches_to_file(&result.schema, &result.batches, format, path)?,
        None if format == OutputFormat::Parquet && std::io::stdout().is_terminal() => {
            bail!("--format parquet writes binary data: give --output FILE")
        }
        None => write_batches(
            &result.schema,
            &result.batches,
            format,
            std::io::BufWriter::new(std::io::stdout()),
        )?,
    }
    Ok(())
}

fn parse_params(given: &[String]) -> Result<BTreeMap<String, String>> {
    let mut params = BTreeMap::new();
    for p in given {
        let (k, v) = dnabench_queries::parse_assignment(p)?;
        params.insert(k, v);
    }
    Ok(params)
}

async fn simulate(
    out: &Path,
    seed: u64,
    store: Option<&Path>,
    data: Option<PathBuf>,
) -> Result<()> {
    let data = data_dir(data)?;
    if out.exists() && std::fs::read_dir(out)?.next().is_some() {
        bail!(
            "{} is not empty; give a new or empty folder to --out",
            out.display()
        );
    }
    let sim = simulate::simulate(&data, out, seed)?;
    println!(
        "simulated {} into {} (seed {seed}; see its README.md)",
        simulated_line(&sim),
        out.display()
    );
    if let Some(path) = store {
        let store = Store::create(path)?;
        let files = simulate::SimulatedFiles { dir: out.into() };
        for report in simulate::ingest_simulated(&store, &files).await? {
            println!("{report}");
        }
    }
    Ok(())
}

/// The SQL of a materialization: the user's file or the task's own query.
fn task_sql(task: &str, file: Option<&Path>) -> Result<(String, String)> {
    match file {
        Some(f) => Ok((
            f.display().to_string(),
            std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?,
        )),
        None => match Task::named(task) {
            Some(t) => Ok((format!("queries/{}.sql", t.name), t.sql.to_string())),
            None => bail!(
                "unknown task '{task}' (tasks: {}); give --sql FILE for a task of your own",
                TASKS.iter().map(|t| t.name).collect::<Vec<_>>().join(", ")
            ),
        },
    }
}

async fn materialize(args: MaterializeArgs) -> Result<()> {
    let params = parse_params(&args.params)?;
    let (origin, text) = task_sql(&args.task, args.sql.as_deref())?;
    let store = Store::open(&args.store.store)?;
    let ctx = open_session(&store).await?;
    let dataset = args.name.clone().unwrap_or_else(|| args.task.clone());
    let started = std::time::Instant::now();
    let mut spec =
        materialize::Materialization::new(&dataset, &args.task, &origin, &text, &params)?;
    spec.with_seq = args.with_seq;
    if let Some(format) = &args.format {
        let format: OutputFormat = format.parse()?;
        let (_, batches) = materialize::collect_examples(&ctx, &store, &spec).await?;
        let schema = dnabench_schemas::examples_schema();
        match &args.output {
            Some(path) => write_batches_to_file(&schema, &batches, format, path)?,
            None => write_batches(
                &schema,
                &batches,
                format,
                std::io::BufWriter::new(std::io::stdout()),
            )?,
        }
        return Ok(());
    }
    let m = materialize::materialize(&ctx, &store, &spec).await?;
    println!("{}", materialized_line(&m, started.elapsed()));
    Ok(())
}

/// What a simulation wrote: "9 chromosomes, 205 genes, …".
pub(crate) fn simulated_line(sim: &simulate::Simulation) -> String {
    format!(
        "{} chromosomes, {} genes, {} peak tracks, {} CpGs, {} variants, {} MPRA rows",
        sim.planter.seqs.len(),
        sim.genes.len(),
        sim.tracks.len(),
        sim.cpgs.len(),
        sim.variants.len(),
        sim.mpra.len(),
    )
}

/// Examples per split: "train 313, valid 45, test 52".
pub(crate) fn split_counts(m: &materialize::Materialized) -> String {
    let splits: Vec<String> = dnabench_schemas::SPLITS
        .iter()
        .map(|s| format!("{s} {}", m.per_split.get(*s).copied().unwrap_or(0)))
        .collect();
    splits.join(", ")
}

fn materialized_line(m: &materialize::Materialized, took: std::time::Duration) -> String {
    let memory = m.memory.map(|u| format!("; {u}")).unwrap_or_default();
    format!(
        "materialized {}: {} examples ({}) from {} in {:.1} s, {:.0} examples/s{memory}",
        m.dataset,
        m.rows(),
        split_counts(m),
        m.origin,
        took.as_secs_f64(),
        m.rows() as f64 / took.as_secs_f64().max(1e-9)
    )
}

async fn tasks(store: &Store) -> Result<()> {
    // Rows per (dataset, task, split) of what is materialized.
    let mut counts: BTreeMap<String, Vec<String>> = BTreeMap::new();
    if store.has_table("examples") {
        let ctx = open_session(store).await?;
        let q = "SELECT task, dataset, split, count(*) AS n FROM examples GROUP BY 1, 2, 3 ORDER BY 1, 2, 3";
        let result = run_sql(&ctx, "tasks", q, &BTreeMap::new()).await?;
        for b in &result.batches {
            use arrow::array::AsArray;
            let (task, dataset, split) = (
                b.column(0).as_string::<i32>(),
                b.column(1).as_string::<i32>(),
                b.column(2).as_string::<i32>(),
            );
            let n = b.column(3).as_primitive::<arrow::datatypes::Int64Type>();
            for i in 0..b.num_rows() {
                counts
                    .entry(task.value(i).to_string())
                    .or_default()
                    .push(format!(
                        "{} {}: {}",
                        dataset.value(i),
                        split.value(i),
                        n.value(i)
                    ));
            }
        }
    }
    for task in TASKS {
        println!("{}\n  {}", task.name, task.summary());
        for p in task.template()?.params {
            println!("  --param {}={}  {}", p.name, p.default, p.description);
        }
        match counts.get(task.name) {
            Some(rows) => println!("  materialized: {}", rows.join(", ")),
            None => println!("  materialized: none yet"),
        }
        println!();
    }
    Ok(())
}

/// The bundled data folder: `--data`, else `./data`, else the one beside the sources.
fn data_dir(given: Option<PathBuf>) -> Result<PathBuf> {
    let candidates = match given {
        Some(d) => vec![d],
        None => vec![
            PathBuf::from("data"),
            Path::new(env!("CARGO_MANIFEST_DIR")).join("data"),
        ],
    };
    candidates
        .into_iter()
        .find(|d| d.join("genome").is_dir())
        .context("cannot find the bundled data folder (give --data DIR)")
}
