//! The tracks a chromatin dataset's head predicts: every track id positive
//! in some example of it. Finding them scans every label of every split
//! (tens of millions of lists at full size, seconds), so the answer is kept
//! beside the store (`_cache/tracks-DATASET-vVERSION.txt`, DATASET in hex)
//! for the `examples` version it was read from; a later materialization
//! makes a new version, and the scan runs again.

use std::path::PathBuf;

use anyhow::{Context, Result};
use arrow::array::AsArray;
use arrow::datatypes::Int32Type;
use dnabench_engine::Store;
use futures::TryStreamExt;

/// The track ids, ascending, that `filter` (one dataset's rows) has as positives.
pub async fn positive_tracks(
    store: &Store,
    ds: &lance::Dataset,
    dataset: &str,
    filter: &str,
) -> Result<Vec<i32>> {
    let cache = cache_path(store, dataset, ds.version_id());
    if let Some(tracks) = std::fs::read_to_string(&cache)
        .ok()
        .and_then(|text| text.split_whitespace().map(|t| t.parse().ok()).collect())
    {
        return Ok(tracks);
    }
    // Flags by id: the scan visits every label of the dataset.
    let mut seen: Vec<bool> = Vec::new();
    let mut scan = ds.scan();
    scan.filter(filter)?.project(&["positive_tracks"])?;
    let mut stream = scan.try_into_stream().await?;
    while let Some(b) = stream.try_next().await? {
        let lists = b.column(0).as_list::<i32>();
        for &t in lists.values().as_primitive::<Int32Type>().values() {
            let t = usize::try_from(t)
                .with_context(|| format!("positive_tracks holds track id {t}"))?;
            if t >= seen.len() {
                seen.resize(t + 1, false);
            }
            seen[t] = true;
        }
    }
    let tracks: Vec<i32> = (0..seen.len())
        .filter(|&t| seen[t])
        .map(|t| t as i32)
        .collect();
    // Written whole or not at all; a store that cannot take it is only slower.
    let text: Vec<String> = tracks.iter().map(i32::to_string).collect();
    let partial = cache.with_extension("partial");
    if let Some(folder) = cache.parent() {
        let _ = std::fs::create_dir_all(folder)
            .and_then(|_| std::fs::write(&partial, text.join(" ")))
            .and_then(|_| std::fs::rename(&partial, &cache));
    }
    Ok(tracks)
}

fn cache_path(store: &Store, dataset: &str, version: u64) -> PathBuf {
    let hex: String = dataset.bytes().map(|b| format!("{b:02x}")).collect();
    store
        .folder("_cache")
        .join(format!("tracks-{hex}-v{version}.txt"))
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
        let cache = cache_path(&store, "a", ds.version_id());
        std::fs::write(&cache, "2 4").unwrap();
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
