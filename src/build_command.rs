//! `dnabench build RECIPE --sources DIR`: a store from a recipe's fetched
//! sources. The genome first, then every other source through the ingest its
//! recipe names (archives unpacked, coordinates lifted over where the
//! source's assembly is not the recipe's, replicates pooled), then the
//! recipe's tasks and datasets materialized, and each source's count checked
//! against the recipe's `expect`.
//!
//! A source's ingest is recorded in `STORE/_build/RECIPE.done` once it has
//! committed, so a build stopped part way (a kill, a bad file) resumes at the
//! source that did not finish, and a dataset already in `examples` is kept.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use arrow::array::{Array, AsArray};
use arrow::datatypes::Int64Type;
use clap::Args;
use dnabench_engine::chrom_names::ChromNames;
use dnabench_engine::ingest::{
    self,
    chrom_check::{chroms_in, chroms_in_files, ChromColumn, UnmatchedChroms},
};
use dnabench_engine::{materialize, open_session, sql::run_sql, Store};
use dnabench_fetch::{Dataset, Recipe, Source};
use dnabench_queries::{Task, Variant, TASKS};

use crate::ingest_commands::{self, FileArgs, IngestKind, LiftableFileArgs, TrackArgs};
use crate::StoreArg;

#[derive(Args)]
pub(crate) struct BuildArgs {
    /// The recipe (e.g. recipes/paper.toml)
    recipe: PathBuf,
    /// The folder `dnabench fetch RECIPE --out DIR` filled
    #[arg(long)]
    sources: PathBuf,
    /// Rows outside their chromosome or on one the genome lacks: fail or skip
    #[arg(long, default_value = "fail")]
    on_invalid: String,
    #[command(flatten)]
    store: StoreArg,
}

pub(crate) async fn run(args: BuildArgs) -> Result<()> {
    let recipe = Recipe::read(&args.recipe)?;
    check_fetched(&recipe, &args)?;
    let store = Store::create(&args.store.store)?;
    let ledger = store
        .root()
        .join("_build")
        .join(format!("{}.done", recipe.name));
    let mut done: Vec<String> = std::fs::read_to_string(&ledger)
        .map(|t| t.lines().map(str::to_string).collect())
        .unwrap_or_default();
    // The genome first: every other ingest checks its rows against it.
    let mut order: Vec<&Source> = recipe
        .sources
        .iter()
        .filter(|s| s.ingest != "chain")
        .collect();
    order.sort_by_key(|s| s.ingest != "genome");
    let mut pending = Vec::new();
    for source in order {
        if done.contains(&source.name) {
            println!("source {}: ingested by an earlier build", source.name);
        } else {
            pending.push((source, source_input(&recipe, source, &args)?));
        }
    }
    check_chrom_names(&recipe, &store, &pending, &args).await?;
    for (source, input) in pending {
        println!("source {}: ingest {}", source.name, source.ingest);
        let kind = ingest_kind(source, input, &args)?;
        ingest_commands::ingest(kind).await.with_context(|| {
            format!(
                "building source '{}' of {}",
                source.name,
                recipe.path.display()
            )
        })?;
        done.push(source.name.clone());
        std::fs::create_dir_all(ledger.parent().expect("a file in _build"))?;
        std::fs::write(&ledger, done.join("\n") + "\n")
            .with_context(|| format!("cannot write {}", ledger.display()))?;
    }
    materialize_all(&recipe, &store).await?;
    for line in count_report(&recipe, &store).await? {
        println!("{line}");
    }
    Ok(())
}

/// Every file the recipe plans is in `--sources` (fetch renames a file
/// into place only once it is verified), or one error lists what is not.
fn check_fetched(recipe: &Recipe, args: &BuildArgs) -> Result<()> {
    let planned = dnabench_fetch::plan::plan(recipe, &[])?;
    let missing: Vec<String> = planned
        .iter()
        .filter(|t| !args.sources.join(&t.dest).is_file())
        .map(|t| t.dest.display().to_string())
        .collect();
    if !missing.is_empty() {
        let shown: Vec<&str> = missing.iter().take(5).map(String::as_str).collect();
        bail!(
            "{} of the {} files of {} are not in {}: {}{}; fetch them first: dnabench fetch {} --out {}",
            missing.len(),
            planned.len(),
            recipe.path.display(),
            args.sources.display(),
            shown.join(", "),
            if missing.len() > shown.len() { ", ..." } else { "" },
            recipe.path.display(),
            args.sources.display()
        );
    }
    Ok(())
}

/// The one fetched file of a one-URL source.
fn single_file(recipe: &Recipe, source: &Source, sources: &Path) -> Result<PathBuf> {
    let planned = dnabench_fetch::plan::plan(recipe, std::slice::from_ref(&source.name))?;
    match planned.as_slice() {
        [one] => Ok(sources.join(&one.dest)),
        _ => bail!(
            "source '{}' has {} files; only a one-URL source is read as one file",
            source.name,
            planned.len()
        ),
    }
}

/// What a source's ingest reads: its file (or manifest), and the chain
/// that lifts it over.
struct SourceInput {
    input: PathBuf,
    liftover: Option<PathBuf>,
}

/// The files fetch left for `source`, its archive's members unpacked.
fn source_input(recipe: &Recipe, source: &Source, args: &BuildArgs) -> Result<SourceInput> {
    let folder = args.sources.join(&source.name);
    let input = if !source.unpack.is_empty() {
        let archive = single_file(recipe, source, &args.sources)?;
        unpack(&archive, &folder.join("unpacked"), &source.unpack)?.remove(0)
    } else if source.list.is_some() {
        let manifest = folder.join("manifest.tsv");
        if !manifest.is_file() {
            bail!(
                "source '{}': {} is missing; it is written by 'dnabench fetch' once every file of the source is verified",
                source.name,
                manifest.display()
            );
        }
        manifest
    } else {
        single_file(recipe, source, &args.sources)?
    };
    let liftover = match &source.liftover {
        Some(chain) => {
            let chain = recipe
                .source(chain)
                .expect("the recipe checked its liftovers");
            Some(single_file(recipe, chain, &args.sources)?)
        }
        None => None,
    };
    Ok(SourceInput { input, liftover })
}

/// The ingest that makes `source` a table from `input`.
fn ingest_kind(source: &Source, input: SourceInput, args: &BuildArgs) -> Result<IngestKind> {
    let SourceInput { input, liftover } = input;
    let store = StoreArg {
        store: args.store.store.clone(),
    };
    let file = |file: PathBuf| FileArgs {
        file,
        on_invalid: args.on_invalid.clone(),
        store: StoreArg {
            store: args.store.store.clone(),
        },
    };
    let tracks = |manifest: PathBuf| TrackArgs {
        files: Vec::new(),
        manifest: Some(manifest),
        assay: None,
        biosample: None,
        name: None,
        on_invalid: args.on_invalid.clone(),
        liftover: liftover.clone(),
        store: StoreArg {
            store: args.store.store.clone(),
        },
    };
    let liftable = |input: PathBuf| LiftableFileArgs {
        file: file(input),
        liftover: liftover.clone(),
    };
    Ok(match source.ingest.as_str() {
        "genome" => IngestKind::Genome { file: input, store },
        "peaks" => IngestKind::Peaks(tracks(input)),
        "methylation" => IngestKind::Methylation(tracks(input)),
        "genes" => IngestKind::Genes {
            file: liftable(input),
            feature: source.feature.clone().unwrap_or_else(|| "gene".into()),
        },
        "expression" => IngestKind::Expression {
            file: file(input),
            genes: source.genes.clone(),
        },
        "eqtl" => IngestKind::Eqtl(liftable(input)),
        "mpra" => IngestKind::Mpra(file(input)),
        other => bail!(
            "source '{}': 'dnabench build' does not run the {other} ingest; ingest it by hand",
            source.name
        ),
    })
}

/// Takes the files named `members` out of `archive` (a tar, gzipped or
/// not) into `into`, by file name at any depth; a member already there at
/// its size is kept. Returns their paths in `members`' order.
fn unpack(archive: &Path, into: &Path, members: &[String]) -> Result<Vec<PathBuf>> {
    let wanted: Vec<PathBuf> = members.iter().map(|m| into.join(m)).collect();
    std::fs::create_dir_all(into).with_context(|| format!("cannot create {}", into.display()))?;
    let open = || {
        std::fs::File::open(archive).with_context(|| format!("cannot open {}", archive.display()))
    };
    let mut magic = [0u8; 2];
    let gzipped = open()?.read_exact(&mut magic).is_ok() && magic == [0x1f, 0x8b];
    let reader: Box<dyn Read> = if gzipped {
        Box::new(flate2::read::MultiGzDecoder::new(std::io::BufReader::new(
            open()?,
        )))
    } else {
        Box::new(std::io::BufReader::new(open()?))
    };
    let mut tar = tar::Archive::new(reader);
    let mut found = vec![false; members.len()];
    let mut seen = Vec::new();
    let entries = tar
        .entries()
        .with_context(|| format!("{}: not a tar archive", archive.display()))?;
    for entry in entries {
        let mut entry =
            entry.with_context(|| format!("{}: a damaged tar entry", archive.display()))?;
        let path = entry.path()?.into_owned();
        // Only the member's own name is used: a path in the archive never
        // becomes a path outside `into`.
        let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            continue;
        };
        seen.push(path.display().to_string());
        let Some(i) = members.iter().position(|m| *m == name) else {
            continue;
        };
        if found[i] {
            bail!("{}: two members are named {name}", archive.display());
        }
        found[i] = true;
        let size = entry.header().size()?;
        let dest = &wanted[i];
        if std::fs::metadata(dest).is_ok_and(|m| m.len() == size) {
            continue;
        }
        let partial = dest.with_extension("partial");
        let mut out = std::fs::File::create(&partial)
            .with_context(|| format!("cannot write {}", partial.display()))?;
        let written = std::io::copy(&mut entry, &mut out)
            .with_context(|| format!("{}: reading member {}", archive.display(), path.display()))?;
        if written != size {
            bail!(
                "{}: member {} gave {written} bytes, its header says {size}",
                archive.display(),
                path.display()
            );
        }
        std::fs::rename(&partial, dest)?;
    }
    let missing: Vec<&str> = members
        .iter()
        .zip(&found)
        .filter(|(_, f)| !**f)
        .map(|(m, _)| m.as_str())
        .collect();
    if !missing.is_empty() {
        let shown: Vec<&str> = seen.iter().take(10).map(String::as_str).collect();
        bail!(
            "{}: no member named {} (it holds {}{})",
            archive.display(),
            missing.join(", "),
            shown.join(", "),
            if seen.len() > shown.len() {
                ", ..."
            } else {
                ""
            }
        );
    }
    Ok(wanted)
}

/// The recipe's tasks (all six when it names none) with their own
/// parameters, then its datasets; a dataset already materialized is kept.
async fn materialize_all(recipe: &Recipe, store: &Store) -> Result<()> {
    let tasks: Vec<String> = if recipe.tasks.is_empty() {
        TASKS.iter().map(|t| t.name.to_string()).collect()
    } else {
        recipe.tasks.clone()
    };
    // The tasks with their own parameters, then the recipe's datasets.
    let wanted = tasks
        .into_iter()
        .map(|task| Dataset {
            name: task.clone(),
            task,
            variant: None,
            params: BTreeMap::new(),
            files: BTreeMap::new(),
        })
        .chain(recipe.datasets.iter().cloned());
    let existing = materialized(store).await?;
    for Dataset {
        name,
        task,
        variant,
        params,
        files,
    } in wanted
    {
        let mut params = crate::toml_params(&params);
        let folder = recipe.path.parent().unwrap_or(Path::new("."));
        for (key, file) in files {
            let path = folder.join(&file);
            if !path.is_file() {
                bail!(
                    "{}: dataset {name}: {key} = {} is not a file beside the recipe ({})",
                    recipe.path.display(),
                    file.display(),
                    path.display()
                );
            }
            params.insert(key, path.display().to_string());
        }
        if existing.contains(&name) {
            println!("dataset {name}: materialized by an earlier build");
            continue;
        }
        let t = Task::named(&task)
            .with_context(|| format!("{}: no task '{task}'", recipe.path.display()))?;
        let spec = match &variant {
            Some(v) => {
                let v = Variant::named(v).with_context(|| {
                    format!(
                        "{}: dataset {name}: no variant '{v}'",
                        recipe.path.display()
                    )
                })?;
                materialize::Materialization::of_variant(v, t.name, &name, &params)?
            }
            None => materialize::Materialization::of_task(&t, &name, &params)?,
        };
        let started = std::time::Instant::now();
        // A session of its own: a variant reads the `examples` the datasets
        // before it wrote, a table the first session may not have seen.
        let ctx = open_session(store).await?;
        let m = materialize::materialize(&ctx, store, &spec)
            .await
            .with_context(|| format!("materializing dataset '{name}'"))?;
        println!(
            "dataset {name}: {} examples ({}) in {:.1} s",
            m.rows(),
            crate::split_counts(&m),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// The datasets `examples` holds.
async fn materialized(store: &Store) -> Result<Vec<String>> {
    if !store.has_table("examples") {
        return Ok(Vec::new());
    }
    let ctx = open_session(store).await?;
    let result = run_sql(
        &ctx,
        "build",
        "SELECT DISTINCT dataset FROM examples",
        &BTreeMap::new(),
    )
    .await?;
    let mut names = Vec::new();
    for b in &result.batches {
        let column = b.column(0).as_string::<i32>();
        names.extend((0..column.len()).map(|i| column.value(i).to_string()));
    }
    Ok(names)
}

/// Each source with an `expect`: what the store holds of it against that,
/// a mismatch a warning naming the source.
async fn count_report(recipe: &Recipe, store: &Store) -> Result<Vec<String>> {
    let ctx = open_session(store).await?;
    let mut lines = Vec::new();
    for source in &recipe.sources {
        let Some(expect) = source.expect else {
            continue;
        };
        let (what, sql) = match source.ingest.as_str() {
            "peaks" | "methylation" | "expression" => (
                "tracks",
                format!(
                    "SELECT count(*) FROM tracks WHERE kind = '{}'",
                    source.ingest
                ),
            ),
            "genes" => (
                "genes",
                format!(
                    "SELECT count(*) FROM genes WHERE feature = '{}'",
                    source.feature.as_deref().unwrap_or("gene")
                ),
            ),
            "eqtl" => (
                "tissues",
                "SELECT count(DISTINCT tissue) FROM eqtl".to_string(),
            ),
            _ => continue,
        };
        let result = run_sql(&ctx, "build", &sql, &BTreeMap::new()).await?;
        let got: i64 = result
            .batches
            .iter()
            .find(|b| b.num_rows() > 0)
            .map(|b| b.column(0).as_primitive::<Int64Type>().value(0))
            .unwrap_or(0);
        lines.push(if got as u64 == expect {
            format!(
                "source {}: {got} {what}, as the recipe expects",
                source.name
            )
        } else {
            format!(
                "warning: source {}: {got} {what}, the recipe expects {expect}",
                source.name
            )
        });
    }
    Ok(lines)
}

/// Every pending source's chromosome names against the genome's (or, for a
/// source lifted over, against its chain's), read before anything is
/// written: one error lists every name no spelling of which matches, with
/// the files that use it. Under `--on-invalid skip` they are warnings, and
/// the ingests drop and count those rows.
async fn check_chrom_names(
    recipe: &Recipe,
    store: &Store,
    pending: &[(&Source, SourceInput)],
    args: &BuildArgs,
) -> Result<()> {
    let names = |path: &Path, column: ChromColumn| {
        chroms_in(path, column)
            .with_context(|| format!("reading the chromosome names of {}", path.display()))
    };
    let genome = match pending.iter().find(|(s, _)| s.ingest == "genome") {
        Some((_, input)) => ChromNames::new(
            names(&input.input, ChromColumn::Fasta)?
                .into_iter()
                .map(|n| (n, 1)),
        ),
        None => ingest::tracks::chrom_names(store).await?,
    };
    if !genome.is_checked() {
        bail!(
            "{}: no genome source, and the store has no genome",
            recipe.path.display()
        );
    }
    let mut unmatched = UnmatchedChroms::default();
    for (source, input) in pending {
        let known = match &input.liftover {
            Some(chain) => {
                let to = names(chain, ChromColumn::ChainTo)?;
                unmatched.check(&genome, &to, chain);
                ChromNames::new(
                    names(chain, ChromColumn::ChainFrom)?
                        .into_iter()
                        .map(|n| (n, 1)),
                )
            }
            None => genome.clone(),
        };
        let files: Vec<(PathBuf, ChromColumn)> = match source.ingest.as_str() {
            "peaks" | "methylation" => ingest::read_manifest(&input.input)?
                .into_iter()
                .flat_map(|spec| std::iter::once(spec.path).chain(spec.pooled))
                .map(|p| (p, ChromColumn::First))
                .collect(),
            "genes" => vec![(input.input.clone(), ChromColumn::First)],
            "expression" => vec![(
                source.genes.clone().unwrap_or_else(|| input.input.clone()),
                ChromColumn::Named(&["chrom", "chr", "chromosome"]),
            )],
            "eqtl" => vec![(
                input.input.clone(),
                ChromColumn::VariantIds(&["variant_id", "variant"]),
            )],
            _ => Vec::new(),
        };
        for ((path, _), found) in files.iter().zip(chroms_in_files(&files)) {
            let found = found
                .with_context(|| format!("reading the chromosome names of {}", path.display()))?;
            unmatched.check(&known, &found, path);
        }
    }
    if unmatched.is_empty() {
        return Ok(());
    }
    let lines = unmatched.lines();
    if args.on_invalid == "skip" {
        for line in &lines {
            println!("warning: chromosome {line} is not in the genome; its rows are skipped");
        }
        return Ok(());
    }
    bail!(
        "{} chromosome name{} of the sources match{} no chromosome of the genome (nothing was written):\n  {}\ngive --on-invalid skip to leave their rows out",
        lines.len(),
        if lines.len() == 1 { "" } else { "s" },
        if lines.len() == 1 { "es" } else { "" },
        lines.join("\n  ")
    )
}
