//! What every track ingest shares (peaks, signal, methylation): a row in
//! `tracks` per file, files recognised by content hash, chromosome names
//! reconciled, invalid intervals failed or skipped, rows sorted by
//! (chrom, start), and whole Lance commits of many files at a time.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use arrow::array::{Int32Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::SchemaRef;
use futures::TryStreamExt;

pub(crate) use super::intervals::interval_record;
pub use super::intervals::{check_intervals, sort_records, IntervalRecord};
use super::track_files::{read_chunks, read_files, with_track_id};
use crate::chrom_names::ChromNames;
use crate::error::{Error, Location, Result};
use crate::ingest::genome::column;
use crate::liftover::{Liftable, Liftover};
use crate::store::Store;

/// Tables whose rows belong to a track.
pub const TRACK_TABLES: &[&str] = &["peaks", "signal", "methylation", "expression"];

/// One file to ingest as a track.
#[derive(Debug, Clone, Default)]
pub struct TrackSpec {
    pub path: PathBuf,
    /// More files of the same sample (replicates) pooled into this track:
    /// their records are summed with `path`'s (see [`TrackFormat::pool`]).
    pub pooled: Vec<PathBuf>,
    pub name: Option<String>,
    pub assay: Option<String>,
    pub biosample: Option<String>,
}

/// What to do with an interval outside its chromosome, with end < start, or
/// on a chromosome the genome lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnInvalid {
    #[default]
    Fail,
    Skip,
}

impl std::str::FromStr for OnInvalid {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "fail" => Ok(OnInvalid::Fail),
            "skip" => Ok(OnInvalid::Skip),
            other => Err(Error::Invalid(format!(
                "--on-invalid must be 'fail' or 'skip', got '{other}'"
            ))),
        }
    }
}

/// Progress of a multi-file ingest, for a progress bar.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub files_done: usize,
    pub files_total: usize,
    pub rows: u64,
}

/// What a track ingest did.
#[derive(Debug, Clone, Default)]
pub struct TrackIngestReport {
    pub kind: &'static str,
    pub files: usize,
    /// Files skipped because a track with the same content is in the store.
    pub already_present: Vec<(PathBuf, String)>,
    pub rows: u64,
    /// Rows skipped (under `--on-invalid skip`), by reason.
    pub skipped: BTreeMap<String, u64>,
    pub commits: usize,
    pub warnings: Vec<String>,
    pub seconds: f64,
}

impl fmt::Display for TrackIngestReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for w in &self.warnings {
            writeln!(f, "warning: {w}")?;
        }
        for (path, name) in &self.already_present {
            writeln!(
                f,
                "skipped {}: already ingested as track '{name}' (same content)",
                path.display()
            )?;
        }
        let skipped: u64 = self.skipped.values().sum();
        write!(
            f,
            "ingested {} {} file{}: {} rows, {} skipped",
            self.files,
            self.kind,
            if self.files == 1 { "" } else { "s" },
            self.rows,
            skipped
        )?;
        if skipped > 0 {
            let reasons: Vec<String> = self
                .skipped
                .iter()
                .map(|(r, n)| format!("{n} {r}"))
                .collect();
            write!(f, " ({})", reasons.join(", "))?;
        }
        write!(
            f,
            ", {} already present, in {} commit{}, {:.2} s",
            self.already_present.len(),
            self.commits,
            if self.commits == 1 { "" } else { "s" },
            self.seconds
        )
    }
}

/// Records with the line (or record number) each came from.
pub type Positioned<R> = Vec<(u64, R)>;

/// A file format whose files become tracks.
pub trait TrackFormat {
    type Record: Liftable + Send;
    /// `tracks.kind` and the name used in messages.
    const KIND: &'static str;
    /// The table the records go to.
    const TABLE: &'static str;

    fn schema() -> SchemaRef;

    /// Reads a whole file: its format name, and each record with the line
    /// (or record number, for binary files) it came from.
    fn read(path: &Path) -> Result<(String, Positioned<Self::Record>)>;

    /// Where record `position` is, for messages.
    fn location(path: &Path, position: u64) -> Location {
        Location::line(path, position)
    }

    fn to_batch(track_id: i32, records: &[Self::Record]) -> Result<RecordBatch>;

    /// The records of several files of one sample as one track's, or `None`
    /// where the format's records cannot be pooled.
    fn pool(_records: Vec<Self::Record>) -> Option<Vec<Self::Record>> {
        None
    }
}

/// Files per commit, and rows per commit, whichever comes first.
pub(crate) const FILES_PER_COMMIT: usize = 256;
const ROWS_PER_COMMIT: u64 = 4_000_000;

/// Ingests `specs` as tracks of format `F` into `store`.
pub async fn ingest_tracks<F: TrackFormat>(
    store: &Store,
    specs: &[TrackSpec],
    on_invalid: OnInvalid,
    progress: &mut dyn FnMut(Progress),
) -> Result<TrackIngestReport> {
    ingest_lifted_tracks::<F>(store, specs, on_invalid, None, progress).await
}

/// [`ingest_tracks`] of files on another assembly, moved to the store's by
/// `liftover` as they are read: rows that do not map whole are counted as
/// skipped and listed in `STORE/liftover/FILE.unmapped.tsv`.
pub async fn ingest_lifted_tracks<F: TrackFormat>(
    store: &Store,
    specs: &[TrackSpec],
    on_invalid: OnInvalid,
    liftover: Option<&Liftover>,
    progress: &mut dyn FnMut(Progress),
) -> Result<TrackIngestReport> {
    let started = Instant::now();
    let mut report = TrackIngestReport {
        kind: F::KIND,
        ..Default::default()
    };
    let names = chrom_names(store).await?;
    if !names.is_checked() {
        report.warnings.push(format!(
            "the store has no genome: chromosome names and interval bounds of {} files were not checked",
            F::KIND
        ));
    }
    let known = existing_tracks(store).await?;
    let mut next_id = known.max_id + 1;
    remove_orphans(store, next_id - 1).await?;

    let unmapped_folder = store.folder("liftover");
    let mut seen_this_run: HashMap<String, String> = HashMap::new();
    let mut pending = Pending::default();
    // Files are read, checked and sorted on every core, a commit's worth at
    // a time; ids, batches and commits follow in the manifest's order.
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut files_done = 0;
    for chunk in read_chunks(specs) {
        let known_md5 = |md5: &str| known.get(md5).is_some();
        let lift = liftover.map(|l| (l, unmapped_folder.as_path()));
        let read = read_files::<F>(chunk, &names, on_invalid, lift, &known_md5, threads);
        for (spec, file) in chunk.iter().zip(read) {
            files_done += 1;
            let file = file?;
            let name = spec
                .name
                .clone()
                .unwrap_or_else(|| track_name_of(&spec.path));
            if let Some((_, existing)) = known.get(&file.md5) {
                report
                    .already_present
                    .push((spec.path.clone(), existing.clone()));
            } else if let Some(existing) = seen_this_run.get(&file.md5) {
                report
                    .already_present
                    .push((spec.path.clone(), existing.clone()));
            } else {
                let Some((format, batch, kept, skipped)) = file.rows else {
                    return Err(Error::Invalid(format!(
                        "{}: the file was not read",
                        spec.path.display()
                    )));
                };
                for (reason, n) in skipped {
                    *report.skipped.entry(reason).or_default() += n;
                }
                let track_id = next_id;
                next_id += 1;
                if batch.num_rows() > 0 {
                    pending.data.push(with_track_id(batch, track_id)?);
                }
                pending.rows += kept;
                pending.tracks.push(TrackRow {
                    track_id,
                    name: name.clone(),
                    kind: F::KIND,
                    assay: spec.assay.clone(),
                    biosample: spec.biosample.clone(),
                    format,
                    source: spec.path.display().to_string(),
                    content_md5: file.md5.clone(),
                    rows: kept as i64,
                });
                seen_this_run.insert(file.md5, name);
                report.files += 1;
                report.rows += kept;
            }
            if pending.tracks.len() >= FILES_PER_COMMIT || pending.rows >= ROWS_PER_COMMIT {
                report.commits += pending.commit::<F>(store).await?;
            }
            progress(Progress {
                files_done,
                files_total: specs.len(),
                rows: report.rows,
            });
        }
    }
    report.commits += pending.commit::<F>(store).await?;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Rows read but not yet committed.
#[derive(Default)]
struct Pending {
    data: Vec<RecordBatch>,
    tracks: Vec<TrackRow>,
    rows: u64,
}

impl Pending {
    /// Appends the data rows, then the tracks that own them: a crash between
    /// the two leaves rows no track owns, removed by the next ingest.
    async fn commit<F: TrackFormat>(&mut self, store: &Store) -> Result<usize> {
        if self.tracks.is_empty() {
            return Ok(0);
        }
        let mut commits = 0;
        if !self.data.is_empty() {
            store
                .append(F::TABLE, F::schema(), std::mem::take(&mut self.data))
                .await?;
            commits += 1;
        }
        let tracks = std::mem::take(&mut self.tracks);
        store
            .append(
                "tracks",
                dnabench_schemas::tracks_schema(),
                vec![tracks_batch(&tracks)?],
            )
            .await?;
        self.rows = 0;
        Ok(commits + 1)
    }
}

pub(crate) struct TrackRow {
    pub(crate) track_id: i32,
    pub(crate) name: String,
    pub(crate) kind: &'static str,
    pub(crate) assay: Option<String>,
    pub(crate) biosample: Option<String>,
    pub(crate) format: String,
    pub(crate) source: String,
    pub(crate) content_md5: String,
    pub(crate) rows: i64,
}

pub(crate) fn tracks_batch(rows: &[TrackRow]) -> Result<RecordBatch> {
    Ok(RecordBatch::try_new(
        dnabench_schemas::tracks_schema(),
        vec![
            Arc::new(Int32Array::from_iter_values(
                rows.iter().map(|r| r.track_id),
            )),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r.name.as_str()),
            )),
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.kind))),
            Arc::new(
                rows.iter()
                    .map(|r| r.assay.as_deref())
                    .collect::<StringArray>(),
            ),
            Arc::new(
                rows.iter()
                    .map(|r| r.biosample.as_deref())
                    .collect::<StringArray>(),
            ),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r.format.as_str()),
            )),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r.source.as_str()),
            )),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r.content_md5.as_str()),
            )),
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.rows))),
        ],
    )?)
}

/// The genome's chromosome names and lengths (empty without a genome).
pub async fn chrom_names(store: &Store) -> Result<ChromNames> {
    if !store.has_table("chroms") {
        return Ok(ChromNames::default());
    }
    let chroms = crate::ingest::genome::stored_chroms(store).await?;
    Ok(ChromNames::new(chroms.into_iter().map(|(n, l, _)| (n, l))))
}

/// The tracks of a store: by content MD5 (→ track id, name), and the highest id.
#[derive(Default)]
pub(crate) struct KnownTracks {
    pub(crate) by_md5: HashMap<String, (i32, String)>,
    pub(crate) max_id: i32,
}

impl KnownTracks {
    pub(crate) fn get(&self, md5: &str) -> Option<&(i32, String)> {
        self.by_md5.get(md5)
    }
}

/// The tracks in the store.
pub(crate) async fn existing_tracks(store: &Store) -> Result<KnownTracks> {
    let mut out = KnownTracks::default();
    if !store.has_table("tracks") {
        return Ok(out);
    }
    let ds = store.dataset("tracks").await?;
    let batches: Vec<RecordBatch> = ds
        .scan()
        .project(&["track_id", "name", "content_md5"])?
        .try_into_stream()
        .await?
        .try_collect()
        .await?;
    for b in &batches {
        let id = column::<Int32Array>(b, 0)?;
        let name = column::<StringArray>(b, 1)?;
        let md5 = column::<StringArray>(b, 2)?;
        for i in 0..b.num_rows() {
            out.max_id = out.max_id.max(id.value(i));
            out.by_md5.insert(
                md5.value(i).to_string(),
                (id.value(i), name.value(i).to_string()),
            );
        }
    }
    Ok(out)
}

/// Deletes rows of track ids no track owns (left by a crash between commits).
pub(crate) async fn remove_orphans(store: &Store, max_track_id: i32) -> Result<()> {
    for table in TRACK_TABLES {
        if !store.has_table(table) {
            continue;
        }
        let mut ds = store.dataset(table).await?;
        let predicate = format!("track_id > {max_track_id}");
        if ds.count_rows(Some(predicate.clone())).await? > 0 {
            ds.delete(&predicate).await?;
        }
    }
    Ok(())
}

/// MD5 of a file's bytes, hex.
pub fn file_md5(path: &Path) -> Result<String> {
    use md5::{Digest, Md5};
    let mut file = std::fs::File::open(path).map_err(|source| Error::Open {
        path: path.to_path_buf(),
        source,
    })?;
    let mut hasher = Md5::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = std::io::Read::read(&mut file, &mut buf).map_err(|source| Error::Open {
            path: path.to_path_buf(),
            source,
        })?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// A track's default name: the file name without its format and compression suffixes.
pub fn track_name_of(path: &Path) -> String {
    let mut name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    for suffix in [".gz", ".bgz", ".zst"] {
        if let Some(s) = name.strip_suffix(suffix) {
            name = s.to_string();
        }
    }
    match name.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem.to_string(),
        _ => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::peaks::Peaks;

    #[tokio::test]
    async fn rows_left_by_a_crash_between_commits_are_removed_and_the_file_ingested_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(&dir.path().join("s")).unwrap();
        let bed = dir.path().join("a.bed");
        std::fs::write(&bed, "chr1\t1\t10\nchr1\t5\t20\n").unwrap();
        // A crash after the peaks commit and before the tracks commit leaves
        // rows of track 1 that no track owns.
        let (_, records) = Peaks::read(&bed).unwrap();
        let rows: Vec<_> = records.into_iter().map(|(_, r)| r).collect();
        store
            .append(
                "peaks",
                Peaks::schema(),
                vec![Peaks::to_batch(1, &rows).unwrap()],
            )
            .await
            .unwrap();
        let spec = TrackSpec {
            path: bed.clone(),
            ..Default::default()
        };
        let report = ingest_tracks::<Peaks>(&store, &[spec], OnInvalid::Fail, &mut |_| {})
            .await
            .unwrap();
        assert_eq!((report.files, report.rows), (1, 2));
        let peaks = store.dataset("peaks").await.unwrap();
        assert_eq!(peaks.count_rows(None).await.unwrap(), 2);
        assert_eq!(
            peaks.count_rows(Some("track_id = 1".into())).await.unwrap(),
            2
        );
    }

    #[test]
    fn track_names_drop_format_and_compression_suffixes() {
        assert_eq!(
            track_name_of(Path::new("/x/ENCFF001.narrowPeak.gz")),
            "ENCFF001"
        );
        assert_eq!(
            track_name_of(Path::new("refseq.chr1.exons.bed")),
            "refseq.chr1.exons"
        );
        assert_eq!(track_name_of(Path::new("noext")), "noext");
    }
}
