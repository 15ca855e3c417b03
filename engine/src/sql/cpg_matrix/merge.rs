//! The merge behind `cpg_matrix()`: on one chromosome, every sample's calls
//! (each run sorted by position) are read side by side and a CpG's row is
//! written as soon as no sample can add to it, so memory holds a batch per
//! sample, never a chromosome.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanBufferBuilder, Int32Array, Int64Array, ListArray, RecordBatch,
    StringArray,
};
use arrow::buffer::{NullBuffer, OffsetBuffer};
use arrow::datatypes::{DataType, Int32Type, Int64Type, SchemaRef};
use datafusion::common::{exec_err, Result};
use futures::stream::BoxStream;
use futures::TryStreamExt;

use super::runs::{CallSource, Run};

/// CpGs a batch of the matrix holds at most.
pub(crate) const CPGS_PER_BATCH: usize = 4096;

/// One sample's reads at one CpG, both strands together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CpgCall {
    pub cpg: i64,
    pub coverage: i32,
    pub methylated: i32,
}

/// A batch of [`super::runs::CALL_COLUMNS`], each column typed once, not
/// once a row.
struct Calls {
    start: Int64Array,
    strand: StringArray,
    coverage: Int32Array,
    methylated: Int32Array,
}

impl Calls {
    fn of(batch: &RecordBatch) -> Calls {
        Calls {
            start: batch.column(0).as_primitive::<Int64Type>().clone(),
            strand: batch.column(1).as_string::<i32>().clone(),
            coverage: batch.column(2).as_primitive::<Int32Type>().clone(),
            methylated: batch.column(3).as_primitive::<Int32Type>().clone(),
        }
    }

    fn len(&self) -> usize {
        self.start.len()
    }
}

/// One sample's calls on one chromosome, strands folded onto their CpG.
pub(crate) struct SampleCursor {
    sample: usize,
    track: i32,
    reads: BoxStream<'static, Result<RecordBatch>>,
    batch: Option<Calls>,
    row: usize,
    last_start: i64,
    /// CpGs read that a later call may still add to: a '-' call at c + 1
    /// belongs to the CpG at c, so at most the last two.
    pending: VecDeque<CpgCall>,
    exhausted: bool,
}

impl SampleCursor {
    pub(crate) fn new(run: &Run, reads: BoxStream<'static, Result<RecordBatch>>) -> Self {
        SampleCursor {
            sample: run.sample,
            track: run.track,
            reads,
            batch: None,
            row: 0,
            last_start: i64::MIN,
            pending: VecDeque::with_capacity(3),
            exhausted: false,
        }
    }

    /// The sample's next CpG, in position order.
    pub(crate) async fn next(&mut self, chrom: &str) -> Result<Option<CpgCall>> {
        loop {
            // Calls still to come start at last_start or later, so they
            // belong to CpGs at last_start - 1 or later.
            if let Some(front) = self.pending.front() {
                if self.exhausted || front.cpg < self.last_start.saturating_sub(1) {
                    return Ok(self.pending.pop_front());
                }
            } else if self.exhausted {
                return Ok(None);
            }
            let batch = match &self.batch {
                Some(b) if self.row < b.len() => b,
                _ => {
                    match self.reads.try_next().await? {
                        Some(b) => {
                            if b.columns().iter().any(|c| c.null_count() > 0) {
                                return exec_err!(
                                    "cpg_matrix(): a call of track {} on {chrom} has no \
                                     start, strand, coverage or methylated count",
                                    self.track
                                );
                            }
                            self.batch = Some(Calls::of(&b));
                            self.row = 0;
                        }
                        None => self.exhausted = true,
                    }
                    continue;
                }
            };
            let i = self.row;
            self.row += 1;
            let start = batch.start.value(i);
            if start < self.last_start {
                return exec_err!(
                    "cpg_matrix(): the calls of track {} on {chrom} are not sorted by position \
                     ({start} after {}); a table written by `dnabench ingest methylation` keeps \
                     each track's calls sorted",
                    self.track,
                    self.last_start
                );
            }
            self.last_start = start;
            let minus = batch.strand.value(i) == "-";
            let call = CpgCall {
                cpg: if minus { start - 1 } else { start },
                coverage: batch.coverage.value(i),
                methylated: batch.methylated.value(i),
            };
            self.add(call);
        }
    }

    fn add(&mut self, call: CpgCall) {
        let at = self.pending.partition_point(|p| p.cpg < call.cpg);
        match self.pending.get_mut(at) {
            Some(p) if p.cpg == call.cpg => {
                p.coverage = p.coverage.saturating_add(call.coverage);
                p.methylated = p.methylated.saturating_add(call.methylated);
            }
            _ => self.pending.insert(at, call),
        }
    }
}

/// Rows of the matrix being gathered into a batch.
pub(crate) struct MatrixBatch {
    schema: SchemaRef,
    samples: usize,
    chrom: String,
    cpgs: Vec<i64>,
    coverage: Vec<i32>,
    methylated: Vec<i32>,
    present: BooleanBufferBuilder,
}

impl MatrixBatch {
    pub(crate) fn new(schema: SchemaRef, samples: usize, chrom: &str) -> Self {
        MatrixBatch {
            schema,
            samples,
            chrom: chrom.to_string(),
            cpgs: Vec::with_capacity(CPGS_PER_BATCH),
            coverage: Vec::with_capacity(CPGS_PER_BATCH * samples),
            methylated: Vec::with_capacity(CPGS_PER_BATCH * samples),
            present: BooleanBufferBuilder::new(CPGS_PER_BATCH * samples),
        }
    }

    pub(crate) fn rows(&self) -> usize {
        self.cpgs.len()
    }

    /// Opens the row of `cpg`, every sample missing until [`Self::set`].
    fn open_row(&mut self, cpg: i64) {
        self.cpgs.push(cpg);
        let len = self.coverage.len() + self.samples;
        self.coverage.resize(len, 0);
        self.methylated.resize(len, 0);
        self.present.append_n(self.samples, false);
    }

    fn set(&mut self, sample: usize, call: &CpgCall) {
        let at = self.coverage.len() - self.samples + sample;
        self.coverage[at] = call.coverage;
        self.methylated[at] = call.methylated;
        self.present.set_bit(at, true);
    }

    /// The rows gathered, leaving the builder empty.
    pub(crate) fn take(&mut self) -> Result<RecordBatch> {
        let rows = self.cpgs.len();
        let present = NullBuffer::new(self.present.finish());
        let offsets = OffsetBuffer::from_lengths(std::iter::repeat_n(self.samples, rows));
        let DataType::List(item) = super::count_list() else {
            unreachable!("count_list() is a list")
        };
        let list = |values: Vec<i32>| -> ArrayRef {
            Arc::new(ListArray::new(
                item.clone(),
                offsets.clone(),
                Arc::new(Int32Array::new(values.into(), Some(present.clone()))),
                None,
            ))
        };
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(std::iter::repeat_n(
                self.chrom.as_str(),
                rows,
            ))),
            Arc::new(Int64Array::from(std::mem::take(&mut self.cpgs))),
            list(std::mem::take(&mut self.coverage)),
            list(std::mem::take(&mut self.methylated)),
        ];
        self.cpgs.reserve(CPGS_PER_BATCH);
        Ok(RecordBatch::try_new(self.schema.clone(), columns)?)
    }
}

/// Where the matrix's batches go: the operator's channel, with the columns
/// the query asked for.
pub(crate) struct Emit {
    pub tx: tokio::sync::mpsc::Sender<Result<RecordBatch>>,
    pub projection: Option<Vec<usize>>,
}

impl Emit {
    /// Sends `batch`; false once the reader has gone.
    async fn send(&self, batch: RecordBatch) -> bool {
        let batch = match &self.projection {
            Some(p) => batch.project(p).map_err(Into::into),
            None => Ok(batch),
        };
        self.tx.send(batch).await.is_ok()
    }
}

/// Merges the `runs` of `chrom` into rows of `samples` lists and sends
/// them; false, without error, when the reader has gone.
pub(crate) async fn merge_chrom(
    source: &CallSource,
    samples: usize,
    chrom: &str,
    runs: &[Run],
    emit: &Emit,
) -> Result<bool> {
    let mut cursors = Vec::with_capacity(runs.len());
    for run in runs {
        let reads = source.read(run).await?;
        cursors.push(SampleCursor::new(run, reads));
    }
    let mut heads: Vec<Option<CpgCall>> = vec![None; cursors.len()];
    let mut heap = BinaryHeap::with_capacity(cursors.len());
    for (i, cursor) in cursors.iter_mut().enumerate() {
        if let Some(call) = cursor.next(chrom).await? {
            heads[i] = Some(call);
            heap.push(Reverse((call.cpg, i)));
        }
    }
    let mut out = MatrixBatch::new(super::cpg_matrix_schema(), samples, chrom);
    while let Some(&Reverse((cpg, _))) = heap.peek() {
        out.open_row(cpg);
        while let Some(&Reverse((at, i))) = heap.peek() {
            if at != cpg {
                break;
            }
            heap.pop();
            let call = heads[i].take().expect("a cursor in the heap has a head");
            out.set(cursors[i].sample, &call);
            if let Some(next) = cursors[i].next(chrom).await? {
                heads[i] = Some(next);
                heap.push(Reverse((next.cpg, i)));
            }
        }
        if out.rows() == CPGS_PER_BATCH && !emit.send(out.take()?).await {
            return Ok(false);
        }
    }
    if out.rows() > 0 {
        return Ok(emit.send(out.take()?).await);
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::StringArray;

    fn calls(rows: &[(i64, &str, i32, i32)]) -> RecordBatch {
        RecordBatch::try_new(
            super::super::runs::schema_of(&super::super::runs::CALL_COLUMNS),
            vec![
                Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.0))),
                Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.1))),
                Arc::new(Int32Array::from_iter_values(rows.iter().map(|r| r.2))),
                Arc::new(Int32Array::from_iter_values(rows.iter().map(|r| r.3))),
            ],
        )
        .unwrap()
    }

    async fn drain(batches: Vec<RecordBatch>) -> Result<Vec<CpgCall>> {
        let stream = futures::stream::iter(batches.into_iter().map(Ok));
        let run = Run {
            sample: 0,
            track: 1,
            offset: 0,
            rows: 0,
        };
        let mut cursor = SampleCursor::new(&run, Box::pin(stream));
        let mut out = Vec::new();
        while let Some(c) = cursor.next("chr1").await? {
            out.push(c);
        }
        Ok(out)
    }

    fn call(cpg: i64, coverage: i32, methylated: i32) -> CpgCall {
        CpgCall {
            cpg,
            coverage,
            methylated,
        }
    }

    #[tokio::test]
    async fn strands_fold_onto_the_cpg_across_batch_boundaries() {
        let got = drain(vec![
            calls(&[(10, "+", 4, 1), (11, "-", 6, 3)]),
            calls(&[(20, "+", 2, 2)]),
            calls(&[(21, "-", 1, 0), (30, "-", 5, 5)]),
        ])
        .await
        .unwrap();
        assert_eq!(got, vec![call(10, 10, 4), call(20, 3, 2), call(29, 5, 5)]);
    }

    #[tokio::test]
    async fn a_minus_call_sorted_after_a_plus_call_at_its_start_still_comes_first() {
        // '+' at 5 and '-' at 5: the '-' call's CpG (4) precedes the '+' one's.
        let got = drain(vec![calls(&[
            (5, "+", 1, 1),
            (5, "-", 2, 0),
            (6, "-", 3, 3),
        ])])
        .await
        .unwrap();
        assert_eq!(got, vec![call(4, 2, 0), call(5, 4, 4)]);
    }

    #[tokio::test]
    async fn calls_out_of_order_are_an_error_naming_the_positions() {
        let err = drain(vec![calls(&[(10, "+", 1, 1), (9, "+", 1, 1)])])
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("not sorted") && err.contains("9 after 10"),
            "{err}"
        );
    }
}
