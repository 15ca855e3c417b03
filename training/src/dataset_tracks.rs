//! The tracks a chromatin dataset's head predicts, as the materialization
//! recorded them ([`dnabench_engine::dataset_tracks`]), or found by one scan
//! of its labels and recorded for the next reader.

use anyhow::{bail, Result};
use dnabench_engine::dataset_tracks::{record, recorded, TrackSet};
use dnabench_engine::Store;
use futures::TryStreamExt;

/// The track ids, ascending, that `filter` (one dataset's rows) has as positives.
pub async fn positive_tracks(
    store: &Store,
    ds: &lance::Dataset,
    dataset: &str,
    filter: &str,
) -> Result<Vec<i32>> {
    if let Some(tracks) = recorded(store, dataset, ds.version_id()) {
        return Ok(tracks);
    }
    let mut seen = TrackSet::default();
    let mut scan = ds.scan();
    scan.filter(filter)?.project(&["positive_tracks"])?;
    let mut stream = scan.try_into_stream().await?;
    while let Some(b) = stream.try_next().await? {
        seen.add(b.column(0).as_ref());
    }
    match seen.ids() {
        Ok(tracks) => {
            record(store, dataset, ds.version_id(), &tracks);
            Ok(tracks)
        }
        Err(t) => bail!("positive_tracks holds track id {t}"),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{new_null_array, ArrayRef, Int32Builder, ListBuilder, RecordBatch};
    use arrow::array::{Int64Array, StringArray};

    use super::*;

    /// `examples` rows of one chromatin dataset with these positive tracks.
    fn batch(dataset: &str, positives: &[&[i32]]) -> RecordBatch {
        let schema = dnabench_schemas::examples_schema();
        let n = positives.len();
        let mut lists = ListBuilder::new(Int32Builder::new());
        for p in positives {
            lists.values().append_slice(p);
            lists.append(true);
        }
        let text = |f: &dyn Fn(usize) -> String| {
            Arc::new(StringArray::from_iter_values((0..n).map(f))) as ArrayRef
        };
        let columns: Vec<ArrayRef> = schema
            .fields()
            .iter()
            .map(|field| match field.name().as_str() {
                "dataset" => text(&|_| dataset.to_string()),
                "task" => text(&|_| "chromatin".to_string()),
                "example_id" => text(&|i| format!("{dataset}{i}")),
                "split" => text(&|_| "train".to_string()),
                "chrom" => text(&|_| "chr1".to_string()),
                "start" => Arc::new(Int64Array::from_iter_values((0..n as i64).map(|i| i * 10))),
                "end" => Arc::new(Int64Array::from_iter_values(
                    (0..n as i64).map(|i| i * 10 + 5),
                )),
                "positive_tracks" => Arc::new(lists.finish()) as ArrayRef,
                _ => new_null_array(field.data_type(), n),
            })
            .collect();
        RecordBatch::try_new(schema, columns).unwrap()
    }

    #[tokio::test]
    async fn the_tracks_are_read_once_per_examples_version() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(&dir.path().join("store")).unwrap();
        let schema = dnabench_schemas::examples_schema();
        store
            .append(
                "examples",
                schema.clone(),
                vec![batch("a", &[&[3, 1], &[], &[7]])],
            )
            .await
            .unwrap();
        let ds = store.dataset("examples").await.unwrap();
        let filter = "dataset = 'a'";
        assert_eq!(
            positive_tracks(&store, &ds, "a", filter).await.unwrap(),
            [1, 3, 7]
        );
        // The second read is the kept answer, not a scan.
        dnabench_engine::dataset_tracks::record(&store, "a", ds.version_id(), &[2, 4]);
        assert_eq!(
            positive_tracks(&store, &ds, "a", filter).await.unwrap(),
            [2, 4]
        );
        // Another version of `examples` is scanned again.
        store
            .append("examples", schema, vec![batch("b", &[&[9]])])
            .await
            .unwrap();
        let ds = store.dataset("examples").await.unwrap();
        assert_eq!(
            positive_tracks(&store, &ds, "a", filter).await.unwrap(),
            [1, 3, 7]
        );
    }
}
