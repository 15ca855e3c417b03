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
use crate::liftover::{Liftable, Lifted};

/// Peak files as tracks.
pub struct Peaks;

interval_record!(PeakRecord);

impl Liftable for PeakRecord {
    /// The interval keeps its length (a liftover maps only whole blocks), so
    /// what is relative to it (summit, thick part, BED12 blocks) moves with
    /// it and, on the reverse strand, is mirrored.
    fn move_to(&mut self, to: Lifted) {
        let (start, end) = (self.start, self.end);
        let len = end - start;
        if to.reverse {
            self.summit = self.summit.map(|s| len - 1 - s);
            if let (Some(ts), Some(te)) = (self.thick_start, self.thick_end) {
                self.thick_start = Some(to.start + (end - te));
                self.thick_end = Some(to.start + (end - ts));
            }
            if let (Some(sizes), Some(starts)) = (&mut self.block_sizes, &mut self.block_starts) {
                let mirrored: Vec<i64> = starts
                    .iter()
                    .zip(sizes.iter())
                    .map(|(s, size)| len - (s + size))
                    .rev()
                    .collect();
                sizes.reverse();
                *starts = mirrored;
            }
            self.strand = match self.strand {
                Some("+") => Some("-"),
                Some("-") => Some("+"),
                other => other,
            };
        } else {
            let shift = to.start - start;
            self.thick_start = self.thick_start.map(|t| t + shift);
            self.thick_end = self.thick_end.map(|t| t + shift);
        }
        self.chrom = to.chrom;
        self.start = to.start;
        self.end = to.end;
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn bed12() -> PeakRecord {
        PeakRecord {
            chrom: "chr1".into(),
            start: 100,
            end: 200,
            name: Some("tx".into()),
            score: None,
            strand: Some("+"),
            signal_value: None,
            p_value: None,
            q_value: None,
            summit: Some(10),
            thick_start: Some(110),
            thick_end: Some(190),
            item_rgb: None,
            block_sizes: Some(vec![20, 30]),
            block_starts: Some(vec![0, 70]),
        }
    }

    #[test]
    fn a_lifted_peak_carries_its_summit_thick_part_and_blocks() {
        let mut forward = bed12();
        forward.move_to(Lifted {
            chrom: "chr1".into(),
            start: 1100,
            end: 1200,
            reverse: false,
        });
        assert_eq!((forward.start, forward.summit), (1100, Some(10)));
        assert_eq!(
            (forward.thick_start, forward.thick_end),
            (Some(1110), Some(1190))
        );
        assert_eq!(forward.block_starts, Some(vec![0, 70]));

        // On the reverse strand base i of the peak is base 99 - i.
        let mut reverse = bed12();
        reverse.move_to(Lifted {
            chrom: "chr2".into(),
            start: 500,
            end: 600,
            reverse: true,
        });
        assert_eq!(
            (reverse.chrom.as_str(), reverse.strand),
            ("chr2", Some("-"))
        );
        assert_eq!(reverse.summit, Some(89));
        assert_eq!(
            (reverse.thick_start, reverse.thick_end),
            (Some(510), Some(590))
        );
        // Blocks [0,20) and [70,100) become [0,30) and [80,100), in order.
        assert_eq!(reverse.block_sizes, Some(vec![30, 20]));
        assert_eq!(reverse.block_starts, Some(vec![0, 80]));
    }
}
