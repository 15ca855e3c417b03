//! Track files read on every core: each worker takes the next file, hashes
//! it, and unless the store holds it already parses, checks and sorts its
//! records and makes them a batch; the caller gets the results in the
//! files' order, to number and commit them as one thread would.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use arrow::array::{ArrayRef, Int32Array, RecordBatch};

use super::tracks::{
    check_intervals, file_md5, sort_records, OnInvalid, TrackFormat, TrackSpec, FILES_PER_COMMIT,
};
use crate::chrom_names::ChromNames;
use crate::error::{Error, Result};
use crate::liftover::{lift_records, Liftover, UnmappedRows};

/// A file as a worker read it: its MD5 and, unless the store holds its
/// content already, its format, its checked rows in genome order, how many
/// were kept, and how many were skipped for each reason.
pub(crate) struct ReadFile {
    pub(crate) md5: String,
    pub(crate) rows: Option<FileRows>,
}

/// Format name, the rows as a batch whose `track_id` is not yet set (see
/// [`with_track_id`]), rows kept, rows skipped by reason. A chunk's files
/// wait as batches, not records: a parsed record takes several times its
/// columns' bytes, and a chunk of full-size peak files held as records
/// took gigabytes.
pub(crate) type FileRows = (String, RecordBatch, u64, BTreeMap<String, u64>);

/// `batch` (a file's rows as [`read_files`] made it) with `track_id` in
/// every row: ids follow the files' order, known only once they are read.
pub(crate) fn with_track_id(batch: RecordBatch, track_id: i32) -> Result<RecordBatch> {
    let at = batch.schema().index_of("track_id")?;
    let mut columns = batch.columns().to_vec();
    columns[at] = Arc::new(Int32Array::from(vec![track_id; batch.num_rows()])) as ArrayRef;
    Ok(RecordBatch::try_new(batch.schema(), columns)?)
}

/// Bytes of files read at once: parsed rows take several times their text,
/// so 96 methylation samples of 170 MB each are read a few at a time.
const BYTES_PER_READ: u64 = 256 << 20;

/// `specs` in runs of at most [`FILES_PER_COMMIT`] files and
/// [`BYTES_PER_READ`] bytes (at least one file a run).
pub(crate) fn read_chunks(specs: &[TrackSpec]) -> Vec<&[TrackSpec]> {
    let mut chunks = Vec::new();
    let (mut from, mut bytes) = (0, 0);
    for (i, spec) in specs.iter().enumerate() {
        let size: u64 = std::iter::once(&spec.path)
            .chain(&spec.pooled)
            .map(|p| std::fs::metadata(p).map_or(0, |m| m.len()))
            .sum();
        if i > from && (i - from >= FILES_PER_COMMIT || bytes + size > BYTES_PER_READ) {
            chunks.push(&specs[from..i]);
            (from, bytes) = (i, 0);
        }
        bytes += size;
    }
    if from < specs.len() {
        chunks.push(&specs[from..]);
    }
    chunks
}

/// The content hash of a track: its file's MD5, or for pooled files one
/// MD5 over theirs, in order.
fn spec_md5(spec: &TrackSpec) -> Result<String> {
    let first = file_md5(&spec.path)?;
    if spec.pooled.is_empty() {
        return Ok(first);
    }
    use md5::{Digest, Md5};
    let mut hasher = Md5::new();
    hasher.update(first.as_bytes());
    for path in &spec.pooled {
        hasher.update(file_md5(path)?.as_bytes());
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Reads `specs` on `threads` threads; one result per spec, in order.
pub(crate) fn read_files<F: TrackFormat>(
    specs: &[TrackSpec],
    names: &ChromNames,
    on_invalid: OnInvalid,
    lift: Option<(&Liftover, &Path)>,
    known: &(dyn Fn(&str) -> bool + Sync),
    threads: usize,
) -> Vec<Result<ReadFile>> {
    let read_one = |spec: &TrackSpec| -> Result<ReadFile> {
        let md5 = spec_md5(spec)?;
        if known(&md5) {
            return Ok(ReadFile { md5, rows: None });
        }
        let mut skipped = BTreeMap::new();
        let mut kept = 0;
        let mut format = String::new();
        let mut pooled = Vec::new();
        for path in std::iter::once(&spec.path).chain(&spec.pooled) {
            let (name, mut records) = F::read(path)?;
            if let Some((liftover, folder)) = lift {
                let mut unmapped = UnmappedRows::default();
                lift_records(&mut records, liftover, &mut unmapped);
                unmapped.record(&mut skipped, folder, path)?;
            }
            kept += check_intervals(&mut records, names, on_invalid, &mut skipped, &|position| {
                F::location(path, position)
            })?;
            if spec.pooled.is_empty() {
                sort_records(&mut records, names);
                let rows: Vec<F::Record> = records.into_iter().map(|(_, r)| r).collect();
                return Ok(ReadFile {
                    md5,
                    rows: Some((name, F::to_batch(0, &rows)?, kept, skipped)),
                });
            }
            format = name;
            pooled.extend(records.into_iter().map(|(_, r)| r));
        }
        let Some(rows) = F::pool(pooled) else {
            return Err(Error::Invalid(format!(
                "{} and {} more: {} files of one sample cannot be pooled into one track (only methylation replicates can)",
                spec.path.display(),
                spec.pooled.len(),
                F::KIND
            )));
        };
        let mut records: Vec<(u64, F::Record)> = rows.into_iter().map(|r| (0, r)).collect();
        sort_records(&mut records, names);
        let rows: Vec<F::Record> = records.into_iter().map(|(_, r)| r).collect();
        let kept = rows.len() as u64;
        Ok(ReadFile {
            md5,
            rows: Some((
                format!("{format} (pooled)"),
                F::to_batch(0, &rows)?,
                kept,
                skipped,
            )),
        })
    };
    map_in_order(specs, threads, read_one)
}

/// `f` of each item on `threads` threads, each worker taking the next item;
/// the results in the items' order.
pub(crate) fn map_in_order<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let done = Mutex::new(Vec::with_capacity(items.len()));
    std::thread::scope(|scope| {
        for _ in 0..threads.clamp(1, items.len().max(1)) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                let result = f(item);
                done.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((i, result));
            });
        }
    });
    // Every index was taken by exactly one worker: sorted, one result an item.
    let mut done = done.into_inner().unwrap_or_else(|p| p.into_inner());
    done.sort_unstable_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, result)| result).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{AsArray, Int64Array};
    use arrow::datatypes::{DataType, Field, Int32Type, Schema};

    #[test]
    fn the_track_id_is_set_in_its_own_column_wherever_it_lies() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("start", DataType::Int64, false),
            Field::new("track_id", DataType::Int32, false),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(vec![10, 20, 30])) as ArrayRef,
                Arc::new(Int32Array::from(vec![0, 0, 0])) as ArrayRef,
            ],
        )
        .unwrap();
        let batch = with_track_id(batch, 7).unwrap();
        let ids = batch.column(1).as_primitive::<Int32Type>();
        assert_eq!(ids.values().to_vec(), vec![7, 7, 7]);
        let starts = batch
            .column(0)
            .as_primitive::<arrow::datatypes::Int64Type>();
        assert_eq!(starts.values().to_vec(), vec![10, 20, 30]);
    }

    #[test]
    fn a_batch_without_a_track_id_column_is_an_error() {
        let schema = Arc::new(Schema::new(vec![Field::new(
            "start",
            DataType::Int64,
            false,
        )]));
        let batch = RecordBatch::try_new(
            schema,
            vec![Arc::new(Int64Array::from(vec![1])) as ArrayRef],
        )
        .unwrap();
        let err = with_track_id(batch, 1).unwrap_err().to_string();
        assert!(err.contains("track_id"), "{err}");
    }
}
