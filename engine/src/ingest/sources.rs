//! Ingests of whole files into one table (genes, variants, eQTLs, MPRA): the
//! file's content hash is recorded in the Lance commit that adds its rows, so
//! a file seen before is recognised and skipped, and nothing is half-written.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;

use super::tracks::{
    check_intervals, chrom_names, file_md5, sort_records, IntervalRecord, OnInvalid, Positioned,
};
use crate::chrom_names::ChromNames;
use crate::error::{Location, Result};
use crate::liftover::{lift_records, Liftable, Liftover, UnmappedRows};
use crate::store::{ErrorSlot, Store};

const CONTENT_MD5: &str = "dnabench.content_md5";
const SOURCE: &str = "dnabench.source";

/// What a one-file ingest did.
#[derive(Debug, Clone, Default)]
pub struct FileIngestReport {
    pub tables: Vec<&'static str>,
    pub path: PathBuf,
    pub rows: u64,
    pub skipped: BTreeMap<String, u64>,
    /// The source it was ingested from before, when it was.
    pub already_from: Option<String>,
    pub warnings: Vec<String>,
    pub seconds: f64,
    /// The rows a liftover kept out, listed with their reasons.
    pub unmapped_file: Option<PathBuf>,
}

impl fmt::Display for FileIngestReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for w in &self.warnings {
            writeln!(f, "warning: {w}")?;
        }
        if let Some(from) = &self.already_from {
            return write!(
                f,
                "skipped {}: already ingested into {} (from {from}, same content)",
                self.path.display(),
                self.tables.join(" + ")
            );
        }
        let skipped: u64 = self.skipped.values().sum();
        write!(
            f,
            "ingested {} into {}: {} rows, {skipped} skipped",
            self.path.display(),
            self.tables.join(" + "),
            self.rows
        )?;
        if skipped > 0 {
            let reasons: Vec<String> = self
                .skipped
                .iter()
                .map(|(r, n)| format!("{n} {r}"))
                .collect();
            write!(f, " ({})", reasons.join(", "))?;
        }
        write!(f, ", {:.2} s", self.seconds)?;
        if let Some(listed) = &self.unmapped_file {
            write!(f, "; rows the liftover could not map: {}", listed.display())?;
        }
        Ok(())
    }
}

/// The source a file with this content was ingested from into `table`, if any.
pub async fn ingested_from(store: &Store, table: &str, md5: &str) -> Result<Option<String>> {
    Ok(store
        .commit_properties(table)
        .await?
        .into_iter()
        .find(|p| p.get(CONTENT_MD5).map(String::as_str) == Some(md5))
        .map(|p| p.get(SOURCE).cloned().unwrap_or_default()))
}

/// What a commit of file `path`'s rows records: its content hash, by which a
/// file seen before is recognised, and where it came from.
fn file_properties(path: &Path, md5: &str) -> HashMap<String, String> {
    HashMap::from([
        (CONTENT_MD5.to_string(), md5.to_string()),
        (SOURCE.to_string(), path.display().to_string()),
    ])
}

/// Appends the rows of file `path` (content `md5`) to `table` in one commit.
pub async fn append_file_rows(
    store: &Store,
    table: &str,
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
    path: &Path,
    md5: &str,
) -> Result<()> {
    store
        .append_with(table, schema, batches, file_properties(path, md5))
        .await?;
    Ok(())
}

/// Appends the batches of file `path` (content `md5`) to `table` as they
/// come, in one commit at their end; nothing when there are none. Returns
/// the rows written.
pub async fn append_file_stream(
    store: &Store,
    table: &str,
    schema: SchemaRef,
    batches: impl Iterator<Item = Result<RecordBatch>> + Send + 'static,
    path: &Path,
    md5: &str,
) -> Result<u64> {
    let mut batches = batches.peekable();
    if batches.peek().is_none() {
        return Ok(0);
    }
    let properties = file_properties(path, md5);
    let slot = ErrorSlot::default();
    let rows = Arc::new(AtomicU64::new(0));
    let (counted, failed) = (rows.clone(), slot.clone());
    let stream = futures::stream::iter(batches.map(move |b| {
        let b = b.map_err(|e| failed.set_datafusion(e))?;
        counted.fetch_add(b.num_rows() as u64, Ordering::Relaxed);
        Ok(b)
    }));
    let stream = Box::pin(RecordBatchStreamAdapter::new(schema, stream));
    store
        .append_stream(table, stream, properties, &slot)
        .await?;
    Ok(rows.load(Ordering::Relaxed))
}

/// A one-file ingest under way: its report, the file's content hash, and
/// the genome's names to check against.
pub struct FileIngest {
    pub report: FileIngestReport,
    pub md5: String,
    pub names: ChromNames,
    started: Instant,
    unmapped_folder: PathBuf,
}

impl FileIngest {
    /// Starts ingesting `path` into `tables` (the first decides whether the
    /// file was seen before): `Err(report)` when it was, and nothing is to do.
    pub async fn begin(
        store: &Store,
        path: &Path,
        tables: Vec<&'static str>,
        what: &str,
    ) -> Result<std::result::Result<FileIngest, FileIngestReport>> {
        let started = Instant::now();
        let mut report = FileIngestReport {
            tables,
            path: path.to_path_buf(),
            ..Default::default()
        };
        let md5 = file_md5(path)?;
        if let Some(from) = ingested_from(store, report.tables[0], &md5).await? {
            report.already_from = Some(from);
            return Ok(Err(report));
        }
        let names = chrom_names(store).await?;
        if !names.is_checked() {
            report
                .warnings
                .push(format!("the store has no genome: {what} were not checked"));
        }
        Ok(Ok(FileIngest {
            report,
            md5,
            names,
            started,
            unmapped_folder: store.folder("liftover"),
        }))
    }

    /// Moves `records` to the store's assembly by `liftover` (when given);
    /// those that do not map are taken out, counted as skipped and listed
    /// in `STORE/liftover/FILE.unmapped.tsv`.
    pub fn lift<R: Liftable>(
        &mut self,
        records: &mut Positioned<R>,
        liftover: Option<&Liftover>,
    ) -> Result<()> {
        let Some(liftover) = liftover else {
            return Ok(());
        };
        let mut unmapped = UnmappedRows::default();
        lift_records(records, liftover, &mut unmapped);
        self.record_unmapped(&unmapped)
    }

    /// Counts `unmapped` as skipped rows and lists them beside the store.
    pub fn record_unmapped(&mut self, unmapped: &UnmappedRows) -> Result<()> {
        self.report.unmapped_file = unmapped.record(
            &mut self.report.skipped,
            &self.unmapped_folder,
            &self.report.path,
        )?;
        Ok(())
    }

    /// Reconciles names and checks bounds (see [`check_intervals`]), then sorts.
    pub fn check<R: IntervalRecord>(
        &mut self,
        records: &mut Positioned<R>,
        on_invalid: OnInvalid,
    ) -> Result<u64> {
        let path = self.report.path.clone();
        let kept = check_intervals(
            records,
            &self.names,
            on_invalid,
            &mut self.report.skipped,
            &|line| Location::line(&path, line),
        )?;
        sort_records(records, &self.names);
        Ok(kept)
    }

    pub fn finish(mut self) -> FileIngestReport {
        self.report.seconds = self.started.elapsed().as_secs_f64();
        self.report
    }
}
