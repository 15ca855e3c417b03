//! `dnabench fetch`: a recipe's public sources downloaded into one folder,
//! in parallel, resumable, and every file verified before it is kept.
//!
//! | module | owns |
//! | --- | --- |
//! | [`recipe`] | the recipe file: sources, lists, metadata, expected counts |
//! | [`plan`] | a recipe as the files to fetch and their places in the folder |
//! | [`download`] | one file: mirrors, retries, resumption, verification |
//! | [`encode`] | the ENCODE portal's per-file JSON |
//! | [`ledger`] | what is verified already (the folder's ledger, the recipe's lock) |
//! | [`verify`] | a file's size, md5 and sha256 |

pub mod download;
pub mod encode;
mod error;
pub mod ledger;
pub mod plan;
pub mod recipe;
pub mod verify;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use futures::StreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub use download::{Client, ClientOptions, Expected};
pub use error::{Error, Result};
use ledger::{Ledger, Lock};
pub use plan::FileTask;
pub use recipe::{Dataset, Recipe, SampleKey, Source};

/// What `fetch` was asked for.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    pub out: PathBuf,
    /// Files downloaded at once.
    pub jobs: usize,
    /// Only these sources (all when empty).
    pub only: Vec<String>,
    pub client: ClientOptions,
    /// The lock file (default: the recipe's path with `.lock`).
    pub lock: Option<PathBuf>,
    pub progress: bool,
}

/// What a fetch did.
#[derive(Debug, Default)]
pub struct FetchReport {
    pub files: usize,
    pub downloaded: usize,
    /// Verified by an earlier fetch and still in place.
    pub already: usize,
    pub bytes: u64,
    /// Each failed file (its path in the folder) and why.
    pub failures: Vec<(PathBuf, Error)>,
    /// The track manifests written (sources with per-file metadata whose
    /// every file arrived).
    pub manifests: Vec<PathBuf>,
}

/// One verified file, with what its metadata said.
struct Landed {
    task: FileTask,
    metadata: Option<encode::FileMetadata>,
    downloaded: bool,
}

/// Fetches every file of `recipe` into `options.out`. A file that fails is
/// reported in the result, and the others go on; an error is returned only
/// for a recipe or a folder that cannot be used at all.
pub async fn fetch(recipe: &Recipe, options: &FetchOptions) -> Result<FetchReport> {
    let tasks = plan::plan(recipe, &options.only)?;
    std::fs::create_dir_all(&options.out).map_err(|e| Error::io(&options.out, e))?;
    let ledger = Ledger::open(&options.out)?;
    let lock = Lock::read(
        &options
            .lock
            .clone()
            .unwrap_or_else(|| recipe.path.with_extension("lock")),
    )?;
    let client = Client::new(options.client.clone())?;
    let bar = progress_bar(options.progress, tasks.len());
    let bytes = AtomicU64::new(0);
    let done = AtomicUsize::new(0);
    let total = tasks.len();
    let shared = Shared {
        out: &options.out,
        client: &client,
        ledger: &ledger,
        lock: &lock,
        bar: &bar,
        bytes: &bytes,
    };
    let results: Vec<(PathBuf, Result<Landed>)> = futures::stream::iter(tasks)
        .map(|task| {
            let shared = &shared;
            let done = &done;
            async move {
                let dest = task.dest.clone();
                let landed = fetch_file(shared, task).await;
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                shared.bar.set_message(format!("{n}/{total} files"));
                (dest, landed)
            }
        })
        .buffer_unordered(options.jobs.max(1))
        .collect()
        .await;
    bar.finish_and_clear();
    lock.save()?;
    let mut report = FetchReport {
        files: total,
        bytes: bytes.load(Ordering::Relaxed),
        ..Default::default()
    };
    let mut landed = Vec::new();
    for (dest, result) in results {
        match result {
            Ok(l) => {
                if l.downloaded {
                    report.downloaded += 1;
                } else {
                    report.already += 1;
                }
                landed.push(l);
            }
            Err(e) => report.failures.push((dest, e)),
        }
    }
    report.failures.sort_by(|a, b| a.0.cmp(&b.0));
    report.manifests = write_manifests(recipe, &options.out, &landed, &report.failures)?;
    Ok(report)
}

struct Shared<'a> {
    out: &'a Path,
    client: &'a Client,
    ledger: &'a Ledger,
    lock: &'a Lock,
    bar: &'a ProgressBar,
    bytes: &'a AtomicU64,
}

async fn fetch_file(s: &Shared<'_>, task: FileTask) -> Result<Landed> {
    let dest = s.out.join(&task.dest);
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    let metadata = match &task.metadata {
        Some(m) => Some(file_metadata(s, &task, m).await?),
        None => None,
    };
    let mut expected = Expected {
        md5: task
            .md5
            .clone()
            .or(metadata.as_ref().map(|m| m.md5.clone())),
        size: task.size.or(metadata.as_ref().map(|m| m.size)),
        sha256: None,
    };
    if expected.is_empty() {
        if let Some((size, sha)) = s.lock.get(&task.url) {
            expected.size = Some(size);
            expected.sha256 = Some(sha);
        }
    }
    if let Some(size) = expected.size {
        s.bar.inc_length(size);
    }
    if let Some(size) = verified_before(s, &task.dest, &dest, &expected).await? {
        s.bar.inc(size);
        return Ok(Landed {
            task,
            metadata,
            downloaded: false,
        });
    }
    let progress = |n: u64| {
        s.bar.inc(n);
        s.bytes.fetch_add(n, Ordering::Relaxed);
    };
    let fetched = match s
        .client
        .download_first(
            &std::iter::once(task.url.clone())
                .chain(task.alternates.iter().cloned())
                .collect::<Vec<_>>(),
            &dest,
            &expected,
            &progress,
        )
        .await
    {
        Ok(f) => f,
        Err(e) => {
            // Its metadata may be what is wrong: the next run asks again.
            if let Some(m) = &task.metadata {
                let _ = std::fs::remove_file(s.out.join(&m.dest));
            }
            return Err(e);
        }
    };
    if expected.is_empty() {
        s.lock.insert(&task.url, &fetched.digest)?;
    }
    s.ledger.record(&task.dest, &fetched.digest)?;
    Ok(Landed {
        task,
        metadata,
        downloaded: true,
    })
}

/// The size of `dest` if an earlier fetch verified it as `expected`: by the
/// ledger, or, for a file renamed into place by a fetch killed before its
/// ledger line, by its digest (then recorded). Never for a file nothing is
/// known of.
async fn verified_before(
    s: &Shared<'_>,
    relative: &Path,
    dest: &Path,
    expected: &Expected,
) -> Result<Option<u64>> {
    if expected.is_empty() {
        return Ok(None);
    }
    if let Some(d) = s.ledger.verified(s.out, relative) {
        if expected.mismatch(d).is_none() {
            return Ok(Some(d.size));
        }
    }
    if !dest.exists() {
        return Ok(None);
    }
    match verify::digest(dest).await {
        Ok(d) if expected.mismatch(&d).is_none() => {
            s.ledger.record(relative, &d)?;
            Ok(Some(d.size))
        }
        _ => Ok(None),
    }
}

/// A file's metadata: the copy in the folder if it parses, else fetched
/// (to a temporary name, kept once it parses). A file on another assembly
/// than its source's is refused here, before it is downloaded.
async fn file_metadata(
    s: &Shared<'_>,
    task: &FileTask,
    m: &plan::MetadataTask,
) -> Result<encode::FileMetadata> {
    let path = s.out.join(&m.dest);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    let parsed = match std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| encode::parse(&t).ok())
    {
        Some(meta) => meta,
        None => {
            let fetched = s
                .client
                .download(&m.url, &path, &Expected::default(), &|_| {})
                .await?;
            let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
            encode::parse(&text).map_err(|message| {
                let _ = std::fs::remove_file(&path);
                Error::Download {
                    url: fetched.from.clone(),
                    status: None,
                    file: path.clone(),
                    message: format!("metadata unreadable: {message}"),
                }
            })?
        }
    };
    if parsed.assembly != task.assembly {
        return Err(Error::Download {
            url: task.url.clone(),
            status: None,
            file: s.out.join(&task.dest),
            message: format!(
                "its metadata says assembly {}, but source '{}' is {}: refused (a liftover, or another file, is needed)",
                parsed.assembly, task.source, task.assembly
            ),
        });
    }
    if parsed.accession != task.key {
        return Err(Error::Download {
            url: m.url.clone(),
            status: None,
            file: path,
            message: format!(
                "the metadata is of {}, not of {}",
                parsed.accession, task.key
            ),
        });
    }
    Ok(parsed)
}

/// `SOURCE/manifest.tsv` for each source with per-file metadata, once every
/// one of its files is verified: the peaks ingest's manifest, with the
/// list's columns beside.
fn write_manifests(
    recipe: &Recipe,
    out: &Path,
    landed: &[Landed],
    failures: &[(PathBuf, Error)],
) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for source in &recipe.sources {
        let mut mine: Vec<&Landed> = landed
            .iter()
            .filter(|l| l.task.source == source.name && l.metadata.is_some())
            .collect();
        let failed = failures
            .iter()
            .any(|(dest, _)| dest.starts_with(&source.name));
        if mine.is_empty() || failed {
            continue;
        }
        let mut text = format!(
            "path\tname\tassay\ttarget\tbiosample\t{}{}\n",
            source.columns.join("\t"),
            if source.sample.is_some() {
                "\tsample"
            } else {
                ""
            }
        );
        mine.sort_by(|a, b| a.task.dest.cmp(&b.task.dest));
        for l in mine {
            let m = l.metadata.as_ref().expect("filtered above");
            let file = l
                .task
                .dest
                .file_name()
                .unwrap_or_default()
                .to_string_lossy();
            let list: Vec<&str> = source
                .columns
                .iter()
                .map(|c| l.task.row[c].as_str())
                .collect();
            let sample = match &source.sample {
                Some(key) => format!("\t{}", sample_name(source, key, &l.task.row[&key.column])?),
                None => String::new(),
            };
            text.push_str(&format!(
                "{file}\t{}\t{}\t{}\t{}\t{}{sample}\n",
                m.accession,
                m.assay_class(),
                m.target.as_deref().unwrap_or(""),
                m.biosample.replace('\t', " "),
                list.join("\t")
            ));
        }
        let path = out.join(&source.name).join("manifest.tsv");
        std::fs::write(&path, text).map_err(|e| Error::io(&path, e))?;
        written.push(path);
    }
    Ok(written)
}

/// The sample a list row's file belongs to: `SOURCE_` and the key
/// column's value less its last `drop_last` characters (a replicate digit).
fn sample_name(source: &Source, key: &SampleKey, value: &str) -> Result<String> {
    let keep = value
        .chars()
        .count()
        .checked_sub(key.drop_last)
        .filter(|&n| n > 0);
    let Some(keep) = keep else {
        return Err(Error::Recipe {
            path: PathBuf::from(&source.name),
            message: format!(
                "source '{}': its list's {} '{value}' is too short to drop {} characters for a sample name",
                source.name, key.column, key.drop_last
            ),
        });
    };
    Ok(format!(
        "{}_{}",
        source.name,
        value.chars().take(keep).collect::<String>()
    ))
}

fn progress_bar(on: bool, files: usize) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(
        Some(0),
        if on {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        },
    );
    bar.set_style(
        ProgressStyle::with_template(
            "fetch {bar:30} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} eta {eta} {msg}",
        )
        .expect("a valid template"),
    );
    bar.set_message(format!("0/{files} files"));
    bar
}
