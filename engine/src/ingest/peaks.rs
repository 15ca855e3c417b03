//! `dnabench ingest peaks`: BED, narrowPeak and broadPeak files into `tracks` + `peaks`.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    Float64Array, Int32Array, Int64Array, Int64Builder, ListBuilder, RecordBatch, StringArray,
};
use arrow::datatypes::SchemaRef;

use super::tracks::{interval_record, Positioned, TrackFormat};
use crate::error::Result;
use crate::formats::bed::{PeakFileReader, PeakRecord};

/// Peak files as tracks.
pub struct Peaks;

interval_record!(PeakRecord);

impl TrackFormat for Peaks {
    type Record = PeakRecord;
    const KIND: &'static str = "peaks";
    const TABLE: &'static str = "peaks";

    fn schema() -> SchemaRef {
        dnabench_schemas::peaks_schema()
    }

    fn read(path: &Path) -> Result<(String, Positioned<PeakRecord>)> {
        let mut reader = PeakFileReader::open(path)?;
        let mut records = Vec::new();
        while let Some(r) = reader.read_record()? {
            records.push(r);
        }
        let format = reader.format().map_or("bed".to_string(), |f| f.to_string());
        Ok((format, records))
    }

    fn to_batch(track_id: i32, rows: &[PeakRecord]) -> Result<RecordBatch> {
        let list = |get: fn(&PeakRecord) -> Option<&Vec<i64>>| {
            let mut b = ListBuilder::new(Int64Builder::new());
            for r in rows {
                match get(r) {
                    Some(v) => {
                        b.values().append_slice(v);
                        b.append(true);
                    }
                    None => b.append(false),
                }
            }
            b.finish()
        };
        Ok(RecordBatch::try_new(
            Self::schema(),
            vec![
                Arc::new(Int32Array::from(vec![track_id; rows.len()])),
                Arc::new(StringArray::from_iter_values(
                    rows.iter().map(|r| r.chrom.as_str()),
                )),
                Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.start))),
                Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.end))),
                Arc::new(
                    rows.iter()
                        .map(|r| r.name.as_deref())
                        .collect::<StringArray>(),
                ),
                Arc::new(rows.iter().map(|r| r.score).collect::<Float64Array>()),
                Arc::new(rows.iter().map(|r| r.strand).collect::<StringArray>()),
                Arc::new(
                    rows.iter()
                        .map(|r| r.signal_value)
                        .collect::<Float64Array>(),
                ),
                Arc::new(rows.iter().map(|r| r.p_value).collect::<Float64Array>()),
                Arc::new(rows.iter().map(|r| r.q_value).collect::<Float64Array>()),
                Arc::new(rows.iter().map(|r| r.summit).collect::<Int64Array>()),
                Arc::new(rows.iter().map(|r| r.thick_start).collect::<Int64Array>()),
                Arc::new(rows.iter().map(|r| r.thick_end).collect::<Int64Array>()),
                Arc::new(
                    rows.iter()
                        .map(|r| r.item_rgb.as_deref())
                        .collect::<StringArray>(),
                ),
                Arc::new(list(|r| r.block_sizes.as_ref())),
                Arc::new(list(|r| r.block_starts.as_ref())),
            ],
        )?)
    }
}
