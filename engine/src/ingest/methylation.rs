//! `dnabench ingest methylation`: ENCODE bedMethyl files into `tracks` + `methylation`.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{Float64Array, Int32Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::SchemaRef;

use super::tracks::{interval_record, Positioned, TrackFormat};
use crate::error::Result;
use crate::formats::bedmethyl::{BedMethylReader, MethylationRecord};
use crate::liftover::{Liftable, Lifted};

/// Methylation samples as tracks.
pub struct Methylation;

interval_record!(MethylationRecord);

impl Liftable for MethylationRecord {
    /// On the reverse strand a call of one strand's C is the other's.
    fn move_to(&mut self, to: Lifted) {
        if to.reverse {
            self.strand = match self.strand {
                "+" => "-",
                "-" => "+",
                other => other,
            };
        }
        self.chrom = to.chrom;
        self.start = to.start;
        self.end = to.end;
    }
}

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

    /// Replicates' calls of one CpG position and strand are summed: reads
    /// and methylated reads add up, and the fraction is theirs.
    fn pool(mut records: Vec<MethylationRecord>) -> Option<Vec<MethylationRecord>> {
        records.sort_unstable_by(|a, b| {
            (&a.chrom, a.start, a.end, a.strand).cmp(&(&b.chrom, b.start, b.end, b.strand))
        });
        let mut pooled: Vec<MethylationRecord> = Vec::with_capacity(records.len());
        for r in records {
            match pooled.last_mut() {
                Some(p)
                    if (&p.chrom, p.start, p.end, p.strand)
                        == (&r.chrom, r.start, r.end, r.strand) =>
                {
                    p.coverage = p.coverage.saturating_add(r.coverage);
                    p.methylated = p.methylated.saturating_add(r.methylated);
                }
                _ => pooled.push(r),
            }
        }
        for p in &mut pooled {
            p.fraction = if p.coverage > 0 {
                f64::from(p.methylated) / f64::from(p.coverage)
            } else {
                0.0
            };
        }
        Some(pooled)
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

#[cfg(test)]
mod tests {
    use arrow::array::AsArray;
    use arrow::datatypes::{Float64Type, Int32Type, Int64Type};
    use futures::TryStreamExt;

    use super::*;
    use crate::ingest::peaks::Peaks;
    use crate::ingest::tracks::{ingest_tracks, OnInvalid, TrackSpec};
    use crate::store::Store;

    fn bedmethyl(rows: &[(i64, &str, i32, u32)]) -> String {
        rows.iter()
            .map(|(start, strand, coverage, percent)| {
                format!(
                    "chr1\t{start}\t{}\t.\t0\t{strand}\t{start}\t{}\t0,0,0\t{coverage}\t{percent}\n",
                    start + 1,
                    start + 1
                )
            })
            .collect()
    }

    #[tokio::test]
    async fn replicates_of_a_sample_pool_their_reads_into_one_track() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(&dir.path().join("s")).unwrap();
        let (a, b) = (dir.path().join("a.bed"), dir.path().join("b.bed"));
        std::fs::write(&a, bedmethyl(&[(10, "+", 10, 50), (11, "-", 2, 0)])).unwrap();
        std::fs::write(&b, bedmethyl(&[(20, "+", 4, 25), (10, "+", 30, 100)])).unwrap();
        let spec = TrackSpec {
            path: a.clone(),
            pooled: vec![b.clone()],
            name: Some("sample".into()),
            ..Default::default()
        };
        let report = ingest_tracks::<Methylation>(
            &store,
            std::slice::from_ref(&spec),
            OnInvalid::Fail,
            &mut |_| {},
        )
        .await
        .unwrap();
        assert_eq!((report.files, report.rows), (1, 3));
        let batches: Vec<RecordBatch> = store
            .dataset("methylation")
            .await
            .unwrap()
            .scan()
            .try_into_stream()
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        let b0 = &batches[0];
        let col = |n: &str| b0.column_by_name(n).unwrap().clone();
        let starts: Vec<i64> = col("start").as_primitive::<Int64Type>().values().to_vec();
        let coverage: Vec<i32> = col("coverage")
            .as_primitive::<Int32Type>()
            .values()
            .to_vec();
        let methylated: Vec<i32> = col("methylated")
            .as_primitive::<Int32Type>()
            .values()
            .to_vec();
        let fraction: Vec<f64> = col("fraction")
            .as_primitive::<Float64Type>()
            .values()
            .to_vec();
        assert_eq!(starts, [10, 11, 20]);
        assert_eq!(coverage, [40, 2, 4]);
        assert_eq!(methylated, [35, 0, 1]);
        assert_eq!(fraction, [35.0 / 40.0, 0.0, 0.25]);
        // The same replicates again are the same track's content.
        let again = ingest_tracks::<Methylation>(&store, &[spec], OnInvalid::Fail, &mut |_| {})
            .await
            .unwrap();
        assert_eq!(again.already_present.len(), 1);
        // Peaks cannot be pooled: the error names the files.
        let (p, q) = (dir.path().join("p.bed"), dir.path().join("q.bed"));
        std::fs::write(&p, "chr1\t1\t10\n").unwrap();
        std::fs::write(&q, "chr1\t5\t20\n").unwrap();
        let peaks = TrackSpec {
            path: p,
            pooled: vec![q],
            ..Default::default()
        };
        let other = Store::create(&dir.path().join("other")).unwrap();
        let err = ingest_tracks::<Peaks>(&other, &[peaks], OnInvalid::Fail, &mut |_| {})
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("p.bed and 1 more") && err.contains("cannot be pooled"),
            "{err}"
        );
    }
}
