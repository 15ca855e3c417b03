//! Track files read on every core: each worker takes the next file, hashes
//! it, and unless the store holds it already parses, checks and sorts its
//! records; the caller gets the results in the files' order, to number and
//! commit them as one thread would.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use super::tracks::{
    check_intervals, file_md5, sort_records, OnInvalid, TrackFormat, TrackSpec, FILES_PER_COMMIT,
};
use crate::chrom_names::ChromNames;
use crate::error::Result;

/// A file as a worker read it: its MD5 and, unless the store holds its
/// content already, its format, its checked rows in genome order, how many
/// were kept, and how many were skipped for each reason.
pub(crate) struct ReadFile<R> {
    pub(crate) md5: String,
    pub(crate) rows: Option<FileRows<R>>,
}

/// Format name, rows, rows kept, rows skipped by reason.
pub(crate) type FileRows<R> = (String, Vec<R>, u64, BTreeMap<String, u64>);

/// Bytes of files read at once: parsed rows take several times their text,
/// so 96 methylation samples of 170 MB each are read a few at a time.
const BYTES_PER_READ: u64 = 256 << 20;

/// `specs` in runs of at most [`FILES_PER_COMMIT`] files and
/// [`BYTES_PER_READ`] bytes (at least one file a run).
pub(crate) fn read_chunks(specs: &[TrackSpec]) -> Vec<&[TrackSpec]> {
    let mut chunks = Vec::new();
    let (mut from, mut bytes) = (0, 0);
    for (i, spec) in specs.iter().enumerate() {
        let size = std::fs::metadata(&spec.path).map_or(0, |m| m.len());
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

/// Reads `specs` on `threads` threads; one result per spec, in order.
pub(crate) fn read_files<F: TrackFormat>(
    specs: &[TrackSpec],
    names: &ChromNames,
    on_invalid: OnInvalid,
    known: &(dyn Fn(&str) -> bool + Sync),
    threads: usize,
) -> Vec<Result<ReadFile<F::Record>>>
where
    F::Record: Send,
{
    let read_one = |spec: &TrackSpec| -> Result<ReadFile<F::Record>> {
        let md5 = file_md5(&spec.path)?;
        if known(&md5) {
            return Ok(ReadFile { md5, rows: None });
        }
        let (format, mut records) = F::read(&spec.path)?;
        let mut skipped = BTreeMap::new();
        let kept = check_intervals(&mut records, names, on_invalid, &mut skipped, &|position| {
            F::location(&spec.path, position)
        })?;
        sort_records(&mut records, names);
        let rows = records.into_iter().map(|(_, r)| r).collect();
        Ok(ReadFile {
            md5,
            rows: Some((format, rows, kept, skipped)),
        })
    };
    let next = AtomicUsize::new(0);
    let done = Mutex::new(Vec::with_capacity(specs.len()));
    std::thread::scope(|scope| {
        for _ in 0..threads.clamp(1, specs.len().max(1)) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(spec) = specs.get(i) else { break };
                let result = read_one(spec);
                done.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((i, result));
            });
        }
    });
    // Every index was taken by exactly one worker: sorted, one result a spec.
    let mut done = done.into_inner().unwrap_or_else(|p| p.into_inner());
    done.sort_unstable_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, result)| result).collect()
}
