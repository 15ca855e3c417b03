//! The data commands: `tables`, `sql`, `simulate`, `materialize`, `tasks`.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use crate::output::{write_batches, write_batches_to_file, OutputFormat};
use anyhow::{bail, Context, Result};
use clap::Args;
use datafusion::dataframe::DataFrame;
use datafusion::logical_expr::LogicalPlan;
use dnabench_engine::sql::{prepare_sql, run_sql};
use dnabench_engine::{materialize, open_session, Store};
use dnabench_queries::{Task, Variant, TASKS, VARIANTS};
use dnabench_simulate as simulate;

use crate::StoreArg;

#[derive(Args)]
pub(crate) struct SqlArgs {
    /// The SQL to run (or use -f).
    query: Option<String>,
    /// List dnabench's own SQL functions (their syntax, arguments and an
    /// example) instead of running SQL; `SHOW FUNCTIONS` lists DataFusion's too.
    #[arg(long, conflicts_with_all = ["query", "file", "params", "output"])]
    functions: bool,
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
pub(crate) struct MaterializeArgs {
    /// A task name (promoter, methylation, chromatin, expression, causal_snp, mpra)
    #[arg(long)]
    task: String,
    /// Run this SQL file instead of the task's own query
    #[arg(long)]
    sql: Option<PathBuf>,
    /// Run a bundled variant query instead of the task's own: train_subset
    /// (a seeded sample of a materialized dataset's training examples, e.g.
    /// the few-shot methylation), example_files (fixed valid and test sets
    /// from files, e.g. the paper's promoter sets); see queries/variants/
    #[arg(long, conflicts_with = "sql")]
    variant: Option<String>,
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

pub(crate) async fn print_tables(store: &Store) -> Result<()> {
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

pub(crate) async fn sql(args: SqlArgs) -> Result<()> {
    if args.functions {
        print!("{}", function_listing());
        return Ok(());
    }
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
    let store = Store::open(&args.store.store).ok();
    let ctx = if let Some(store) = store {
        open_session(&store).await?
    } else {
        eprintln!(
            "note: no store at {}; only tables the SQL declares or reads from files are visible",
            args.store.store.display()
        );
        dnabench_engine::sql::session::open_session_without_store()
    };
    let (frame, origin) = prepare_sql(&ctx, &origin, &text, &params).await?;
    // DataFusion's EXPLAIN shows the plan before the distributed planner
    // cuts it into stages: on workers, show the stages and their tasks.
    if let Some(explained) = distributed_explain(&frame) {
        let plan = DataFrame::new(ctx.state(), explained)
            .create_physical_plan()
            .await
            .map_err(|source| dnabench_engine::Error::Sql { origin, source })?;
        print!(
            "{}",
            dnabench_distributed::coordinator::display_plan(plan.as_ref())
        );
        return Ok(());
    }
    let schema = frame.schema().inner().clone();
    let batches =
        (frame.collect().await).map_err(|source| dnabench_engine::Error::Sql { origin, source })?;
    let result = dnabench_engine::sql::QueryResult { schema, batches };
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

/// The plan an `EXPLAIN query` (not `EXPLAIN VERBOSE`; `EXPLAIN ANALYZE`
/// runs) explains, when this process plans on workers.
fn distributed_explain(frame: &DataFrame) -> Option<LogicalPlan> {
    if !dnabench_distributed::coordinator::is_installed() {
        return None;
    }
    match frame.logical_plan() {
        LogicalPlan::Explain(explain) if !explain.verbose => Some(explain.plan.as_ref().clone()),
        _ => None,
    }
}

fn parse_params(given: &[String]) -> Result<BTreeMap<String, String>> {
    let mut params = BTreeMap::new();
    for p in given {
        let (k, v) = dnabench_queries::parse_assignment(p)?;
        params.insert(k, v);
    }
    Ok(params)
}

pub(crate) async fn simulate(
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
fn task_sql(task: &str, file: Option<&Path>, variant: Option<&str>) -> Result<(String, String)> {
    if let Some(name) = variant {
        let Some(v) = Variant::named(name) else {
            bail!(
                "unknown variant '{name}' (variants: {})",
                VARIANTS
                    .iter()
                    .map(|v| v.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        };
        return Ok((v.origin(), v.sql.to_string()));
    }
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

pub(crate) async fn materialize(args: MaterializeArgs) -> Result<()> {
    let params = parse_params(&args.params)?;
    let (origin, text) = task_sql(&args.task, args.sql.as_deref(), args.variant.as_deref())?;
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

/// A TOML table of query parameters (experiment and recipe files) as the
/// `--param NAME=VALUE` text: strings as they are, numbers as written.
pub(crate) fn toml_params(params: &BTreeMap<String, toml::Value>) -> BTreeMap<String, String> {
    params
        .iter()
        .map(|(k, v)| {
            let text = match v {
                toml::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (k.clone(), text)
        })
        .collect()
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

pub(crate) async fn tasks(store: &Store) -> Result<()> {
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
pub(crate) fn data_dir(given: Option<PathBuf>) -> Result<PathBuf> {
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

/// `dnabench sql --functions`: every dnabench function, grouped by kind.
fn function_listing() -> String {
    use dnabench_engine::sql::functions::documented;
    use std::fmt::Write as _;
    let mut out =
        String::from("dnabench's SQL functions (DataFusion's own are listed by SHOW FUNCTIONS)\n");
    let mut kind = None;
    for f in documented() {
        if kind != Some(f.kind) {
            let _ = write!(out, "\n{} functions\n", f.kind);
            kind = Some(f.kind);
        }
        let doc = &f.documentation;
        let _ = writeln!(out, "\n  {}", doc.syntax_example);
        for line in wrap(&doc.description, 72) {
            let _ = writeln!(out, "    {line}");
        }
        for (name, description) in doc.arguments.iter().flatten() {
            let _ = writeln!(out, "    - {name}: {description}");
        }
        if let Some(example) = &doc.sql_example {
            let _ = writeln!(out, "    example: {example}");
        }
    }
    out
}

/// `text` in lines of at most `width` characters, broken at spaces.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split_whitespace() {
        let line = lines.last_mut().expect("one line");
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(word.to_string());
        } else {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    lines
}
