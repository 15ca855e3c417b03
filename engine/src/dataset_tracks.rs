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
    /// Adds every id of `lists` (a `positive_tracks` column). Only the
    /// elements its valid lists reach count: a sliced or null-bearing list
    /// array's `values()` also holds elements outside them.
    pub fn add(&mut self, lists: &dyn Array) {
        let Some(lists) = lists.as_list_opt::<i32>() else {
            return;
        };
        let values = lists.values().as_primitive::<Int32Type>();
        let offsets = lists.value_offsets();
        if lists.null_count() == 0 && values.null_count() == 0 {
            // No nulls: the lists' elements are one run of the values.
            let (from, to) = (offsets[0] as usize, offsets[lists.len()] as usize);
            for &track in &values.values()[from..to] {
                self.insert(track);
            }
            return;
        }
        for row in (0..lists.len()).filter(|&row| lists.is_valid(row)) {
            for at in offsets[row] as usize..offsets[row + 1] as usize {
                if values.is_valid(at) {
                    self.insert(values.value(at));
                }
            }
        }
    }

    fn insert(&mut self, track: i32) {
        match usize::try_from(track) {
            Ok(t) => {
                if t >= self.seen.len() {
                    self.seen.resize(t + 1, false);
                }
                self.seen[t] = true;
            }
            Err(_) => self.invalid = self.invalid.or(Some(track)),
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Int32Array, ListArray};
    use arrow::buffer::{NullBuffer, OffsetBuffer};
    use arrow::datatypes::{DataType, Field};

    use super::*;

    fn lists(rows: &[Option<Vec<i32>>]) -> ListArray {
        ListArray::from_iter_primitive::<Int32Type, _, _>(
            rows.iter()
                .map(|row| row.as_ref().map(|ids| ids.iter().map(|&t| Some(t)))),
        )
    }

    #[test]
    fn a_sliced_list_array_adds_only_its_own_rows_ids() {
        let all = lists(&[
            Some(vec![7, 9]),
            Some(vec![1, 2]),
            Some(vec![3]),
            Some(vec![40]),
        ]);
        let mut set = TrackSet::default();
        set.add(&all.slice(1, 2));
        assert_eq!(set.ids(), Ok(vec![1, 2, 3]));
    }

    #[test]
    fn a_null_list_adds_nothing_even_where_its_offsets_span_elements() {
        // Arrow allows a null list to span values; they are not its elements.
        let values = Int32Array::from(vec![5, 6, 8]);
        let offsets = OffsetBuffer::new(vec![0, 2, 3].into());
        let field = Arc::new(Field::new("item", DataType::Int32, true));
        let nulls = NullBuffer::from(vec![false, true]);
        let array = ListArray::new(field, offsets, Arc::new(values), Some(nulls));
        let mut set = TrackSet::default();
        set.add(&array);
        assert_eq!(set.ids(), Ok(vec![8]));
    }

    #[test]
    fn a_negative_id_makes_the_set_no_answer() {
        let mut set = TrackSet::default();
        set.add(&lists(&[Some(vec![2]), None, Some(vec![-4, 1])]));
        assert_eq!(set.ids(), Err(-4));
    }
}
