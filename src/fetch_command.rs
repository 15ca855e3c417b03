//! `dnabench fetch RECIPE --out DIR`: every file of a recipe's sources,
//! downloaded in parallel, resumable, and verified before it is kept.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Result};
use clap::Args;
use dnabench_fetch::{fetch, ClientOptions, FetchOptions, Recipe};

#[derive(Args)]
pub(crate) struct FetchArgs {
    /// The recipe (recipes/paper.toml)
    recipe: PathBuf,
    /// The folder the sources are fetched into (one folder per source)
    #[arg(long)]
    out: PathBuf,
    /// Files downloaded at once
    #[arg(long, default_value_t = 8)]
    jobs: usize,
    /// Only these sources (comma-separated names of the recipe's sources)
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// A base URL tried before each file's own (repeat for several; tried in order)
    #[arg(long)]
    mirror: Vec<String>,
    /// Never the files' own URLs, only the mirrors
    #[arg(long, requires = "mirror")]
    mirrors_only: bool,
    /// Tries after the first, per URL, on timeouts, 5xx and bodies cut short
    #[arg(long, default_value_t = 5)]
    retries: u32,
    /// The first wait before a retry, in milliseconds (doubling each time)
    #[arg(long, default_value_t = 500)]
    backoff_ms: u64,
    /// The lock file of sha256s for sources that give no checksum (default RECIPE.lock)
    #[arg(long)]
    lock: Option<PathBuf>,
}

pub(crate) async fn run(args: FetchArgs) -> Result<()> {
    let recipe = Recipe::read(&args.recipe)?;
    let options = FetchOptions {
        out: args.out.clone(),
        jobs: args.jobs,
        only: args.only,
        client: ClientOptions {
            mirrors: args.mirror,
            mirrors_only: args.mirrors_only,
            retries: args.retries,
            backoff: Duration::from_millis(args.backoff_ms),
            ..Default::default()
        },
        lock: args.lock,
        progress: std::io::IsTerminal::is_terminal(&std::io::stderr()),
    };
    let report = fetch(&recipe, &options).await?;
    println!(
        "{} of {} files verified in {}: {} downloaded ({:.1} MB), {} verified before",
        report.downloaded + report.already,
        report.files,
        args.out.display(),
        report.downloaded,
        report.bytes as f64 / 1e6,
        report.already
    );
    for path in &report.manifests {
        println!("manifest: {}", path.display());
    }
    if report.failures.is_empty() {
        return Ok(());
    }
    for (dest, e) in &report.failures {
        eprintln!("missing {}: {e}", dest.display());
    }
    bail!(
        "{} of {} files are missing (listed above); run the same command again to fetch only those",
        report.failures.len(),
        report.files
    )
}
