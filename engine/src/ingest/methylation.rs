//! `dnabench ingest methylation`: ENCODE bedMethyl files into `tracks` + `methylation`.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{Float64Array, Int32Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::SchemaRef;

use super::tracks::{interval_record, Positioned, TrackFormat};
use crate::error::Result;
use crate::formats::bedmethyl::{BedMethylReader, MethylationRecord};

/// Methylation samples as tracks.
pub struct Methylation;

interval_record!(MethylationRecord);

impl TrackFormat for Methylation {
    type Record = MethylationRecord;
    const KIND: &'static str = "methylation";
    const TABLE: &'static str = "methylation";

    fn schema() -> SchemaRef {
        dnabench_schemas::methylation_schema()
    }

    fn read(path: &Path) -> Result<(String, Positioned<MethylationRecord>)> {
        let mut reader = BedMethylReader::open(path)?;
        let mut records = Vec::new();
        while let Some(r) = reader.read_record()? {
            records.push(r);
        }
        Ok(("bedMethyl".to_string(), records))
    }

    fn to_batch(track_id: i32, rows: &[MethylationRecord]) -> Result<RecordBatch> {
        Ok(RecordBatch::try_new(
            Self::schema(),
            vec![
                Arc::new(Int32Array::from(vec![track_id; rows.len()])),
                Arc::new(StringArray::from_iter_values(
                    rows.iter().map(|r| r.chrom.as_str()),
                )),
                Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.start))),
                Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.end))),
                Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.strand))),
                Arc::new(Int32Array::from_iter_values(
                    rows.iter().map(|r| r.coverage),
                )),
                Arc::new(Int32Array::from_iter_values(
                    rows.iter().map(|r| r.methylated),
                )),
                Arc::new(Float64Array::from_iter_values(
                    rows.iter().map(|r| r.fraction),
                )),
            ],
        )?)
    }
}
