//! An index of half-open intervals for overlap queries, used by the
//! interval join and by `random_windows`' exclusion table.
//!
//! It wraps `rust-lapper` (sorted starts plus the longest interval's length,
//! so a query is a binary search and a short scan). Lapper takes unsigned
//! coordinates; `i64` positions are mapped onto `u64` by flipping the sign
//! bit, which keeps their order, so negative coordinates are answered too.
//! Intervals whose end lies before their start are kept aside and offered
//! as candidates to every query, because a predicate such as
//! `a.start < b.end AND b.start < a.end` can still hold for them.

use rust_lapper::{Interval, Lapper};

fn key(x: i64) -> u64 {
    (x as u64) ^ (1 << 63)
}

/// Intervals `[start, end)` each carrying a row number.
pub struct IntervalIndex {
    lapper: Lapper<u64, u32>,
    reversed: Vec<u32>,
}

impl IntervalIndex {
    /// Indexes `(start, end, row)` triples.
    pub fn new(intervals: impl IntoIterator<Item = (i64, i64, u32)>) -> Self {
        let mut sorted = Vec::new();
        let mut reversed = Vec::new();
        for (start, end, row) in intervals {
            if end < start {
                reversed.push(row);
            } else {
                sorted.push(Interval {
                    start: key(start),
                    stop: key(end),
                    val: row,
                });
            }
        }
        IntervalIndex {
            lapper: Lapper::new(sorted),
            reversed,
        }
    }

    /// Calls `found(row)` for every interval with `start < query_end` and
    /// `end > query_start`, plus every reversed interval (a superset the
    /// caller filters when it indexed any).
    pub fn for_each_overlap(&self, query_start: i64, query_end: i64, mut found: impl FnMut(u32)) {
        for iv in self.lapper.find(key(query_start), key(query_end)) {
            found(iv.val);
        }
        for &row in &self.reversed {
            found(row);
        }
    }

    /// Whether any indexed interval overlaps `[start, end)`.
    pub fn overlaps(&self, start: i64, end: i64) -> bool {
        self.lapper.find(key(start), key(end)).next().is_some()
    }

    pub fn len(&self) -> usize {
        self.lapper.len() + self.reversed.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_exactly_the_overlapping_intervals() {
        let intervals: Vec<(i64, i64, u32)> = (0..300)
            .map(|i| {
                let start = (i * 37 % 1000) as i64 - 50;
                (start, start + (i % 23) as i64 * 5, i)
            })
            .collect();
        let index = IntervalIndex::new(intervals.clone());
        for qs in (-100..1100).step_by(13) {
            for width in [0, 1, 7, 60, 400] {
                let qe = qs + width;
                let mut got = Vec::new();
                index.for_each_overlap(qs, qe, |r| got.push(r));
                got.sort();
                let want: Vec<u32> = intervals
                    .iter()
                    .filter(|(s, e, _)| *s < qe && *e > qs)
                    .map(|t| t.2)
                    .collect();
                assert_eq!(got, want, "query [{qs}, {qe})");
                assert_eq!(index.overlaps(qs, qe), !want.is_empty());
            }
        }
    }

    #[test]
    fn reversed_intervals_are_always_candidates() {
        let index = IntervalIndex::new([(10, 5, 0), (0, 3, 1)]);
        let mut got = Vec::new();
        index.for_each_overlap(100, 200, |r| got.push(r));
        assert_eq!(got, vec![0]);
    }
}
