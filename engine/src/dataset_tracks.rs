//! The tracks a chromatin dataset's head predicts: every track id positive
//! in some example of it. Finding them from the table scans every label of
//! every split (tens of millions of lists at full size, seconds), so the
//! answer is kept beside the store, `_cache/tracks-DATASET-vVERSION.txt`
//! (DATASET in hex), for the `examples` version it holds. A materialization
//! records its dataset's tracks as its rows pass; a reader that finds no
//! record for the current version (another dataset was materialized since)
//! scans once and records them.

use std::path::PathBuf;

use arrow::array::{Array, AsArray};
use arrow::datatypes::Int32Type;

use crate::Store;

/// The recorded track ids of `dataset` at `examples` version `version`.
pub fn recorded(store: &Store, dataset: &str, version: u64) -> Option<Vec<i32>> {
    std::fs::read_to_string(record_path(store, dataset, version))
        .ok()
        .and_then(|text| text.split_whitespace().map(|t| t.parse().ok()).collect())
}

/// Records `tracks` for `dataset` at `version`, whole or not at all: a
/// store that cannot take the file is only slower to open.
pub fn record(store: &Store, dataset: &str, version: u64, tracks: &[i32]) {
    let path = record_path(store, dataset, version);
    let text: Vec<String> = tracks.iter().map(i32::to_string).collect();
    let partial = path.with_extension("partial");
    if let Some(folder) = path.parent() {
        let _ = std::fs::create_dir_all(folder)
            .and_then(|_| std::fs::write(&partial, text.join(" ")))
            .and_then(|_| std::fs::rename(&partial, &path));
    }
}

fn record_path(store: &Store, dataset: &str, version: u64) -> PathBuf {
    let hex: String = dataset.bytes().map(|b| format!("{b:02x}")).collect();
    store
        .folder("_cache")
        .join(format!("tracks-{hex}-v{version}.txt"))
}

/// The track ids seen in `positive_tracks` lists, as batches pass.
#[derive(Debug, Default)]
pub struct TrackSet {
    seen: Vec<bool>,
    /// A negative id, which no head has: the set is then no answer.
    invalid: Option<i32>,
}

impl TrackSet {
    /// Adds every id of `lists` (a `positive_tracks` column).
    pub fn add(&mut self, lists: &dyn Array) {
        let Some(lists) = lists.as_list_opt::<i32>() else {
            return;
        };
        for &t in lists.values().as_primitive::<Int32Type>().values() {
            match usize::try_from(t) {
                Ok(t) => {
                    if t >= self.seen.len() {
                        self.seen.resize(t + 1, false);
                    }
                    self.seen[t] = true;
                }
                Err(_) => self.invalid = self.invalid.or(Some(t)),
            }
        }
    }

    /// The ids seen, ascending; `Err` with the first negative id if any.
    pub fn ids(&self) -> Result<Vec<i32>, i32> {
        if let Some(t) = self.invalid {
            return Err(t);
        }
        Ok((0..self.seen.len())
            .filter(|&t| self.seen[t])
            .map(|t| t as i32)
            .collect())
    }
}
