//! `dnabench ingest signal`: bigWig and bedGraph files into `tracks` + `signal`.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{Float32Array, Int32Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::SchemaRef;

use super::tracks::{interval_record, Positioned, TrackFormat};
use crate::error::{Location, Result};
use crate::formats::bedgraph::{BedGraphReader, SignalRecord};
use crate::formats::bigwig::{is_bigwig, BigWigReader};
use crate::liftover::{Liftable, Lifted};

/// Signal files (bigWig, told by its magic number, else bedGraph) as tracks.
pub struct Signal;

interval_record!(SignalRecord);

impl Liftable for SignalRecord {
    fn move_to(&mut self, to: Lifted) {
        self.chrom = to.chrom;
        self.start = to.start;
        self.end = to.end;
    }
}

impl TrackFormat for Signal {
    type Record = SignalRecord;
    const KIND: &'static str = "signal";
    const TABLE: &'static str = "signal";

    fn schema() -> SchemaRef {
        dnabench_schemas::signal_schema()
    }

    fn read(path: &Path) -> Result<(String, Positioned<SignalRecord>)> {
        if is_bigwig(path)? {
            let records = BigWigReader::open(path)?.collect::<Result<_>>()?;
            return Ok(("bigWig".to_string(), records));
        }
        let mut reader = BedGraphReader::open(path)?;
        let mut records = Vec::new();
        while let Some(r) = reader.read_record()? {
            records.push(r);
        }
        Ok(("bedGraph".to_string(), records))
    }

    fn location(path: &Path, position: u64) -> Location {
        if is_bigwig(path).unwrap_or(false) {
            Location::file(path).with_record(format!("interval {position}"))
        } else {
            Location::line(path, position)
        }
    }

    fn to_batch(track_id: i32, rows: &[SignalRecord]) -> Result<RecordBatch> {
        Ok(RecordBatch::try_new(
            Self::schema(),
            vec![
                Arc::new(Int32Array::from(vec![track_id; rows.len()])),
                Arc::new(StringArray::from_iter_values(
                    rows.iter().map(|r| r.chrom.as_str()),
                )),
                Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.start))),
                Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.end))),
                Arc::new(Float32Array::from_iter_values(rows.iter().map(|r| r.value))),
            ],
        )?)
    }
}
