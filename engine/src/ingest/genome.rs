//! `dnabench ingest genome`: a FASTA file into the `chroms` and `genome` tables.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use arrow::array::{Int32Array, Int64Array, RecordBatch, StringArray, StringBuilder};
use arrow::datatypes::SchemaRef;
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatchReader;
use dnabench_schemas::{chroms_schema, genome_schema, GENOME_CHUNK_LEN};
use futures::TryStreamExt;

use crate::error::{Error, Result};
use crate::formats::fasta::{ChromSummary, FastaReader};
use crate::store::{ErrorSlot, NewTable, Store};

/// Chunks per record batch written to `genome` (4 MiB of sequence).
const CHUNKS_PER_BATCH: usize = 64;

/// What an ingest of a genome did.
#[derive(Debug, Clone)]
pub struct GenomeIngest {
    pub path: PathBuf,
    pub chroms: Vec<ChromSummary>,
    /// False when the store held this very genome already and nothing was written.
    pub written: bool,
    pub genome_rows: u64,
    pub seconds: f64,
}

impl fmt::Display for GenomeIngest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bases: u64 = self.chroms.iter().map(|c| c.length).sum();
        let n: u64 = self.chroms.iter().map(|c| c.n_bases).sum();
        let iupac: u64 = self.chroms.iter().map(|c| c.iupac_bases).sum();
        let masked: u64 = self.chroms.iter().map(|c| c.masked_bases).sum();
        if !self.written {
            return write!(
                f,
                "genome {} is in the store already ({} chromosomes, {bases} bp, same names, lengths and MD5s): nothing to do",
                self.path.display(),
                self.chroms.len()
            );
        }
        write!(
            f,
            "ingested genome {}: {} chromosome{}, {bases} bp ({n} N, of which {iupac} were IUPAC codes made N; {masked} soft-masked bases folded to upper case) into {} genome chunks in {:.2} s",
            self.path.display(),
            self.chroms.len(),
            if self.chroms.len() == 1 { "" } else { "s" },
            self.genome_rows,
            self.seconds
        )
    }
}

/// Ingests the FASTA at `path` (plain, gzip, BGZF or zstd) into `store`.
///
/// The same genome a second time is a no-op; a different genome into a
/// store that has one is refused. Either both tables are written or neither.
pub async fn ingest_genome(store: &Store, path: &Path) -> Result<GenomeIngest> {
    let started = Instant::now();
    if store.has_table("chroms") {
        return check_same_genome(store, path, started).await;
    }
    let reader = FastaReader::open(path, GENOME_CHUNK_LEN)?;
    let slot = ErrorSlot::default();
    let summaries = Arc::new(Mutex::new(None));
    let chunks = GenomeBatches {
        reader: Some(reader),
        schema: genome_schema(),
        slot: slot.clone(),
        summaries: summaries.clone(),
        rows: 0,
    };
    let slot_for_write = slot.clone();
    let mut genome = NewTable::new("genome", Box::new(chunks));
    genome.write_failed = Box::new(move |r| r.map_err(|e| slot_for_write.or(e)));

    // chroms is known only once the FASTA has been read; it is written after
    // genome in the same all-or-nothing call, from a reader that waits for it.
    let chroms = NewTable::new(
        "chroms",
        Box::new(ChromsBatch {
            summaries: summaries.clone(),
            done: false,
        }),
    );
    store.create_tables(vec![genome, chroms]).await?;
    let chroms = summaries
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take()
        .unwrap_or_default();
    let genome_rows = chroms
        .iter()
        .map(|c| c.length.div_ceil(GENOME_CHUNK_LEN as u64))
        .sum();
    Ok(GenomeIngest {
        path: path.to_path_buf(),
        chroms,
        written: true,
        genome_rows,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Reads the file through (keeping nothing) and compares it with the store's genome.
async fn check_same_genome(store: &Store, path: &Path, started: Instant) -> Result<GenomeIngest> {
    let mut reader = FastaReader::open(path, GENOME_CHUNK_LEN)?;
    while reader.next_chunk()?.is_some() {}
    let new = reader.into_summaries();
    let stored = stored_chroms(store).await?;
    let mut differences = Vec::new();
    for c in &new {
        match stored.iter().find(|s| s.0 == c.name) {
            None => differences.push(format!("'{}' is not in the store", c.name)),
            Some((_, length, _)) if *length != c.length => differences.push(format!(
                "'{}' is {} bp here, {} bp in the store",
                c.name, c.length, length
            )),
            Some((_, _, md5)) if *md5 != c.md5 => differences.push(format!(
                "'{}' has other bases (md5 {} here, {} in the store)",
                c.name, c.md5, md5
            )),
            Some(_) => {}
        }
    }
    for (name, _, _) in &stored {
        if !new.iter().any(|c| &c.name == name) {
            differences.push(format!("'{name}' of the store is not in this file"));
        }
    }
    if !differences.is_empty() {
        differences.truncate(5);
        return Err(Error::Invalid(format!(
            "{}: the store {} holds a different genome ({}); a store holds one genome, use a new --store for this one",
            path.display(),
            store.root().display(),
            differences.join("; ")
        )));
    }
    Ok(GenomeIngest {
        path: path.to_path_buf(),
        chroms: new,
        written: false,
        genome_rows: 0,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// (chrom, length, md5) of every chromosome of the store.
pub async fn stored_chroms(store: &Store) -> Result<Vec<(String, u64, String)>> {
    let ds = store.dataset("chroms").await?;
    let batches: Vec<RecordBatch> = ds
        .scan()
        .project(&["chrom", "length", "md5"])?
        .try_into_stream()
        .await?
        .try_collect()
        .await?;
    let mut out = Vec::new();
    for b in &batches {
        let chrom = column::<StringArray>(b, 0)?;
        let length = column::<Int64Array>(b, 1)?;
        let md5 = column::<StringArray>(b, 2)?;
        for i in 0..b.num_rows() {
            out.push((
                chrom.value(i).to_string(),
                length.value(i) as u64,
                md5.value(i).to_string(),
            ));
        }
    }
    Ok(out)
}

pub(crate) fn column<T: 'static>(batch: &RecordBatch, i: usize) -> Result<&T> {
    batch.column(i).as_any().downcast_ref::<T>().ok_or_else(|| {
        Error::Invalid(format!(
            "column '{}' has type {}, not the one dnabench writes",
            batch.schema().field(i).name(),
            batch.column(i).data_type()
        ))
    })
}

/// Streams `genome` record batches straight from the FASTA reader.
struct GenomeBatches {
    reader: Option<FastaReader>,
    schema: SchemaRef,
    slot: ErrorSlot,
    summaries: Arc<Mutex<Option<Vec<ChromSummary>>>>,
    rows: u64,
}

impl GenomeBatches {
    fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        let Some(reader) = self.reader.as_mut() else {
            return Ok(None);
        };
        let mut chrom = StringBuilder::new();
        let mut start = Vec::with_capacity(CHUNKS_PER_BATCH);
        let mut end = Vec::with_capacity(CHUNKS_PER_BATCH);
        let mut seq =
            StringBuilder::with_capacity(CHUNKS_PER_BATCH, CHUNKS_PER_BATCH * GENOME_CHUNK_LEN);
        while start.len() < CHUNKS_PER_BATCH {
            match reader.next_chunk()? {
                Some(chunk) => {
                    chrom.append_value(&*chunk.chrom);
                    start.push(chunk.start as i64);
                    end.push((chunk.start + chunk.bases.len() as u64) as i64);
                    // Normalized bases are ASCII, so this never fails.
                    seq.append_value(std::str::from_utf8(&chunk.bases).map_err(|e| {
                        Error::Invalid(format!("normalized bases are not ASCII: {e}"))
                    })?);
                }
                None => {
                    let reader = self.reader.take().expect("checked above");
                    *self.summaries.lock().unwrap_or_else(|p| p.into_inner()) =
                        Some(reader.into_summaries());
                    break;
                }
            }
        }
        if start.is_empty() {
            return Ok(None);
        }
        self.rows += start.len() as u64;
        Ok(Some(RecordBatch::try_new(
            self.schema.clone(),
            vec![
                Arc::new(chrom.finish()),
                Arc::new(Int64Array::from(start)),
                Arc::new(Int64Array::from(end)),
                Arc::new(seq.finish()),
            ],
        )?))
    }
}

impl Iterator for GenomeBatches {
    type Item = std::result::Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_batch() {
            Ok(b) => b.map(Ok),
            Err(e) => {
                self.reader = None;
                Some(Err(self.slot.set(e)))
            }
        }
    }
}

impl RecordBatchReader for GenomeBatches {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
}

/// The one `chroms` batch, built from the summaries the genome reader left.
struct ChromsBatch {
    summaries: Arc<Mutex<Option<Vec<ChromSummary>>>>,
    done: bool,
}

impl Iterator for ChromsBatch {
    type Item = std::result::Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        self.done = true;
        let guard = self.summaries.lock().unwrap_or_else(|p| p.into_inner());
        let sums = guard.as_deref().unwrap_or_default();
        Some(chroms_batch(sums))
    }
}

impl RecordBatchReader for ChromsBatch {
    fn schema(&self) -> SchemaRef {
        chroms_schema()
    }
}

fn chroms_batch(sums: &[ChromSummary]) -> std::result::Result<RecordBatch, ArrowError> {
    let batch = RecordBatch::try_new(
        chroms_schema(),
        vec![
            Arc::new(StringArray::from_iter_values(
                sums.iter().map(|c| c.name.as_str()),
            )),
            Arc::new(Int64Array::from_iter_values(
                sums.iter().map(|c| c.length as i64),
            )),
            Arc::new(StringArray::from_iter_values(
                sums.iter().map(|c| c.md5.as_str()),
            )),
            Arc::new(Int32Array::from_iter_values(
                sums.iter().map(|c| c.rank as i32),
            )),
            Arc::new(Int64Array::from_iter_values(
                sums.iter().map(|c| c.n_bases as i64),
            )),
            Arc::new(Int64Array::from_iter_values(
                sums.iter().map(|c| c.iupac_bases as i64),
            )),
            Arc::new(Int64Array::from_iter_values(
                sums.iter().map(|c| c.masked_bases as i64),
            )),
        ],
    )?;
    dnabench_schemas::validate_batch("chroms", &batch, &chroms_schema())
        .map_err(|e| ArrowError::ExternalError(Box::new(e)))?;
    Ok(batch)
}
