//! Where each sample's calls on each chromosome lie: the runs of equal
//! `(track_id, chrom)` in a methylation table, found in one pass over those
//! two columns, and read back one run at a time.
//!
//! `dnabench ingest methylation` writes a track's calls together, sorted by
//! position, so a run is a range of the table's rows; a table from anywhere
//! else (a `CREATE TABLE`, a Parquet file) is collected and sorted into one
//! batch first.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::compute::{cast, lexsort_to_indices, take_record_batch, SortColumn};
use arrow::datatypes::{DataType, Field, Int32Type, Schema, SchemaRef};
use datafusion::common::{exec_err, plan_err, DataFusionError, Result};
use datafusion::execution::memory_pool::MemoryReservation;
use datafusion::physical_plan::SendableRecordBatchStream;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use lance::Dataset;

/// The columns of a methylation table the matrix reads, and the types it
/// reads them as.
pub(crate) const CALL_COLUMNS: [(&str, DataType); 4] = [
    ("start", DataType::Int64),
    ("strand", DataType::Utf8),
    ("coverage", DataType::Int32),
    ("methylated", DataType::Int32),
];
const RUN_COLUMNS: [(&str, DataType); 2] =
    [("track_id", DataType::Int32), ("chrom", DataType::Utf8)];

/// Rows a run is read in at a time.
pub(crate) const ROWS_PER_READ: usize = 8192;

/// The rows of one sample on one chromosome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Run {
    /// The sample's place in the matrix's lists.
    pub sample: usize,
    pub track: i32,
    pub offset: u64,
    pub rows: u64,
}

/// The runs of a table: its samples (track ids, ascending) and, for each
/// chromosome in name order, the runs on it.
#[derive(Debug, Default)]
pub(crate) struct TableRuns {
    pub tracks: Vec<i32>,
    pub chroms: BTreeMap<String, Vec<Run>>,
}

/// Where a matrix reads its calls.
pub(crate) enum CallSource {
    /// A Lance table as ingested: each run read as a range of rows.
    Lance { name: String, dataset: Arc<Dataset> },
    /// Any other table, collected and sorted by (track_id, chrom, start).
    Sorted {
        name: String,
        batch: RecordBatch,
        _reservation: MemoryReservation,
    },
}

impl CallSource {
    /// Collects `input` (every column of [`CALL_COLUMNS`] and `track_id`,
    /// `chrom`) and sorts it, holding its bytes in `reservation`.
    pub(crate) async fn sorted(
        table: &str,
        input: SendableRecordBatchStream,
        reservation: MemoryReservation,
    ) -> Result<CallSource> {
        let columns: Vec<(&str, DataType)> = RUN_COLUMNS
            .iter()
            .chain(CALL_COLUMNS.iter())
            .cloned()
            .collect();
        let batches: Vec<RecordBatch> = input
            .map(|b| {
                let b = b?;
                reservation.try_grow(b.get_array_memory_size())?;
                read_as(table, &b, &columns)
            })
            .try_collect()
            .await?;
        let schema = schema_of(&columns);
        let all = arrow::compute::concat_batches(&schema, &batches)?;
        let keys: Vec<SortColumn> = [0, 1, 2]
            .iter()
            .map(|&i| SortColumn {
                values: all.column(i).clone(),
                options: None,
            })
            .collect();
        let order = lexsort_to_indices(&keys, None)?;
        let batch = take_record_batch(&all, &order)?;
        reservation.try_grow(batch.get_array_memory_size())?;
        Ok(CallSource::Sorted {
            name: table.to_string(),
            batch,
            _reservation: reservation,
        })
    }

    /// Finds the runs in one ordered pass over `track_id` and `chrom`.
    pub(crate) async fn runs(&self) -> Result<TableRuns> {
        let mut finder = RunFinder::default();
        match self {
            CallSource::Lance { name, dataset } => {
                let mut stream = dataset
                    .scan()
                    .project(&["track_id", "chrom"])
                    .map_err(lance_error)?
                    .batch_size(64 * 1024)
                    .scan_in_order(true)
                    .try_into_stream()
                    .await
                    .map_err(lance_error)?;
                while let Some(b) = stream.try_next().await.map_err(lance_error)? {
                    finder.push(name, &read_as(name, &b, &RUN_COLUMNS)?)?;
                }
            }
            CallSource::Sorted { name, batch, .. } => {
                finder.push(name, &batch.project(&[0, 1])?)?
            }
        }
        finder.finish(self.name())
    }

    fn name(&self) -> &str {
        match self {
            CallSource::Lance { name, .. } | CallSource::Sorted { name, .. } => name,
        }
    }

    /// The calls of `run` ([`CALL_COLUMNS`]), in the table's order.
    pub(crate) async fn read(&self, run: &Run) -> Result<BoxStream<'static, Result<RecordBatch>>> {
        match self {
            CallSource::Lance { name, dataset } => {
                let columns: Vec<&str> = CALL_COLUMNS.iter().map(|(c, _)| *c).collect();
                let mut scan = dataset.scan();
                scan.project(&columns)
                    .map_err(lance_error)?
                    .limit(Some(run.rows as i64), Some(run.offset as i64))
                    .map_err(lance_error)?
                    .batch_size(ROWS_PER_READ)
                    .batch_readahead(2)
                    .scan_in_order(true);
                let name = name.clone();
                let stream = scan.try_into_stream().await.map_err(lance_error)?;
                Ok(stream
                    .map(move |b| read_as(&name, &b.map_err(lance_error)?, &CALL_COLUMNS))
                    .boxed())
            }
            CallSource::Sorted { batch, .. } => {
                let calls = batch.project(&[2, 3, 4, 5])?;
                let (offset, rows) = (run.offset as usize, run.rows as usize);
                let slices: Vec<Result<RecordBatch>> = (offset..offset + rows)
                    .step_by(ROWS_PER_READ)
                    .map(|at| Ok(calls.slice(at, ROWS_PER_READ.min(offset + rows - at))))
                    .collect();
                Ok(futures::stream::iter(slices).boxed())
            }
        }
    }
}

/// Closes a run each time `(track_id, chrom)` changes.
#[derive(Default)]
struct RunFinder {
    row: u64,
    current: Option<(i32, String, u64)>,
    /// (track, chrom) → (first row, rows).
    seen: HashMap<(i32, String), (u64, u64)>,
}

impl RunFinder {
    fn push(&mut self, table: &str, batch: &RecordBatch) -> Result<()> {
        let tracks = batch.column(0).as_primitive::<Int32Type>();
        let chroms = batch.column(1).as_string::<i32>();
        if tracks.null_count() + chroms.null_count() > 0 {
            return exec_err!("cpg_matrix(): {table} has a call with no track_id or chrom");
        }
        for i in 0..batch.num_rows() {
            let (track, chrom) = (tracks.value(i), chroms.value(i));
            let same = matches!(&self.current, Some((t, c, _)) if *t == track && c == chrom);
            if !same {
                self.close(table)?;
                self.current = Some((track, chrom.to_string(), self.row));
            }
            self.row += 1;
        }
        Ok(())
    }

    fn close(&mut self, table: &str) -> Result<()> {
        if let Some((track, chrom, first)) = self.current.take() {
            let rows = self.row - first;
            if let Some((earlier, _)) = self.seen.insert((track, chrom.clone()), (first, rows)) {
                return exec_err!(
                    "cpg_matrix(): the calls of track {track} on {chrom} in {table} are not \
                     together (rows {earlier} and {first}); a table written by \
                     `dnabench ingest methylation` keeps each track's calls sorted by position"
                );
            }
        }
        Ok(())
    }

    fn finish(mut self, table: &str) -> Result<TableRuns> {
        self.close(table)?;
        let mut tracks: Vec<i32> = self.seen.keys().map(|(t, _)| *t).collect();
        tracks.sort_unstable();
        tracks.dedup();
        let sample: HashMap<i32, usize> = tracks.iter().enumerate().map(|(i, t)| (*t, i)).collect();
        let mut chroms: BTreeMap<String, Vec<Run>> = BTreeMap::new();
        for ((track, chrom), (offset, rows)) in self.seen {
            chroms.entry(chrom).or_default().push(Run {
                sample: sample[&track],
                track,
                offset,
                rows,
            });
        }
        for runs in chroms.values_mut() {
            runs.sort_by_key(|r| r.sample);
        }
        Ok(TableRuns { tracks, chroms })
    }
}

pub(crate) fn schema_of(columns: &[(&str, DataType)]) -> SchemaRef {
    Arc::new(Schema::new(
        columns
            .iter()
            .map(|(name, t)| Field::new(*name, t.clone(), true))
            .collect::<Vec<_>>(),
    ))
}

/// `columns` of `batch`, cast to their types, or an error naming the one
/// that is missing or cannot be.
pub(crate) fn read_as(
    table: &str,
    batch: &RecordBatch,
    columns: &[(&str, DataType)],
) -> Result<RecordBatch> {
    let arrays: Vec<ArrayRef> = columns
        .iter()
        .map(|(name, t)| {
            let Ok(array) = batch
                .schema()
                .index_of(name)
                .map(|i| batch.column(i).clone())
            else {
                return plan_err!("cpg_matrix(): {table} has no column '{name}'");
            };
            if array.data_type() == t {
                return Ok(array);
            }
            let convertible = match t {
                DataType::Utf8 => matches!(
                    array.data_type(),
                    DataType::LargeUtf8 | DataType::Utf8View | DataType::Dictionary(_, _)
                ),
                _ => array.data_type().is_integer(),
            };
            if !convertible {
                return plan_err!(
                    "cpg_matrix(): column '{name}' of {table} must be {}, got {}",
                    if *t == DataType::Utf8 {
                        "a string"
                    } else {
                        "an integer"
                    },
                    array.data_type()
                );
            }
            Ok(cast(&array, t)?)
        })
        .collect::<Result<_>>()?;
    Ok(RecordBatch::try_new(schema_of(columns), arrays)?)
}

pub(crate) fn lance_error(e: lance::Error) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int32Array, StringArray};

    fn batch(rows: &[(i32, &str)]) -> RecordBatch {
        RecordBatch::try_new(
            schema_of(&RUN_COLUMNS),
            vec![
                Arc::new(Int32Array::from_iter_values(rows.iter().map(|r| r.0))),
                Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.1))),
            ],
        )
        .unwrap()
    }

    #[test]
    fn runs_span_batches_and_are_listed_by_chromosome_name_then_sample() {
        let mut finder = RunFinder::default();
        finder
            .push("t", &batch(&[(7, "chr2"), (7, "chr2"), (7, "chr10")]))
            .unwrap();
        finder
            .push("t", &batch(&[(7, "chr10"), (3, "chr2"), (3, "chr10")]))
            .unwrap();
        let runs = finder.finish("t").unwrap();
        assert_eq!(runs.tracks, vec![3, 7]);
        let run = |sample, offset, rows| Run {
            sample,
            track: [3, 7][sample],
            offset,
            rows,
        };
        assert_eq!(runs.chroms["chr10"], vec![run(0, 5, 1), run(1, 2, 2)]);
        assert_eq!(runs.chroms["chr2"], vec![run(0, 4, 1), run(1, 0, 2)]);
        assert_eq!(
            runs.chroms.keys().collect::<Vec<_>>(),
            vec!["chr10", "chr2"]
        );
    }

    #[test]
    fn a_track_whose_calls_on_a_chromosome_are_apart_is_an_error() {
        let mut finder = RunFinder::default();
        let err = finder
            .push(
                "methylation",
                &batch(&[(1, "chr1"), (1, "chr2"), (1, "chr1")]),
            )
            .and_then(|_| finder.close("methylation"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("track 1 on chr1") && err.contains("rows 0 and 2"),
            "{err}"
        );
    }
}
