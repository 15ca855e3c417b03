//! The interval checks every ingest of located records shares: the
//! genome's chromosome names applied (or the record failed or skipped, as
//! `--on-invalid` says), bounds checked, and records sorted by (chrom in
//! genome order, start, end).

use std::collections::{BTreeMap, HashMap};

use super::tracks::OnInvalid;
use crate::chrom_names::{ChromNames, Resolved};
use crate::error::{Error, Location, Result};

/// A record with a genomic interval.
pub trait IntervalRecord {
    fn chrom(&self) -> &str;
    fn set_chrom(&mut self, chrom: String);
    fn start(&self) -> i64;
    fn end(&self) -> i64;
}

/// Implements [`IntervalRecord`] for a record with `chrom`, `start` and `end` fields.
macro_rules! interval_record {
    ($record:ty) => {
        impl $crate::ingest::intervals::IntervalRecord for $record {
            fn chrom(&self) -> &str {
                &self.chrom
            }
            fn set_chrom(&mut self, chrom: String) {
                self.chrom = chrom;
            }
            fn start(&self) -> i64 {
                self.start
            }
            fn end(&self) -> i64 {
                self.end
            }
        }
    };
}
pub(crate) use interval_record;

/// Applies the genome's names and bounds to `records`, failing or dropping
/// invalid ones; returns how many remain.
pub fn check_intervals<R: IntervalRecord>(
    records: &mut Vec<(u64, R)>,
    names: &ChromNames,
    on_invalid: OnInvalid,
    skipped_by_reason: &mut BTreeMap<String, u64>,
    location: &dyn Fn(u64) -> Location,
) -> Result<u64> {
    let mut problem_at = None;
    let mut skipped: BTreeMap<String, u64> = BTreeMap::new();
    records.retain_mut(|(position, r)| {
        if problem_at.is_some() {
            return true;
        }
        let problem = match names.resolve(r.chrom()) {
            Resolved::Known { name, length } => {
                if name != r.chrom() {
                    r.set_chrom(name.to_string());
                }
                if r.end() < r.start() {
                    Some((
                        "with end before start",
                        format!("end {} is before start {}", r.end(), r.start()),
                    ))
                } else if r.end() as u64 > length {
                    Some((
                        "past the chromosome end",
                        format!("end {} is past the end of {} ({length} bp)", r.end(), name),
                    ))
                } else {
                    None
                }
            }
            Resolved::Unchecked if r.end() < r.start() => Some((
                "with end before start",
                format!("end {} is before start {}", r.end(), r.start()),
            )),
            Resolved::Unchecked => None,
            Resolved::Unknown => Some((
                "on chromosomes not in the genome",
                format!(
                    "chromosome '{}' is not in the genome (it has {}{})",
                    r.chrom(),
                    names
                        .names()
                        .iter()
                        .take(5)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", "),
                    if names.names().len() > 5 { ", …" } else { "" }
                ),
            )),
        };
        match (problem, on_invalid) {
            (None, _) => true,
            (Some((reason, _)), OnInvalid::Skip) => {
                *skipped.entry(reason.to_string()).or_default() += 1;
                false
            }
            (Some((_, message)), OnInvalid::Fail) => {
                problem_at = Some((*position, message));
                true
            }
        }
    });
    if let Some((position, message)) = problem_at {
        return Err(Error::parse(
            location(position),
            format!("{message} (use --on-invalid skip to drop such rows)"),
        ));
    }
    for (reason, n) in skipped {
        *skipped_by_reason.entry(reason).or_default() += n;
    }
    Ok(records.len() as u64)
}

/// Sorts by (chrom in genome order, then by name for chroms the genome
/// lacks; start; end), keeping file order among equals. Sorts small keys and
/// moves each record once, since records are wide.
pub fn sort_records<R: IntervalRecord>(records: &mut Vec<(u64, R)>, names: &ChromNames) {
    let mut rank: HashMap<&str, u32> = names
        .names()
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i as u32))
        .collect();
    let mut others: Vec<&str> = records
        .iter()
        .map(|(_, r)| r.chrom())
        .filter(|c| !rank.contains_key(c))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    others.sort_unstable();
    let known = rank.len() as u32;
    for (i, c) in others.into_iter().enumerate() {
        rank.insert(c, known + i as u32);
    }
    let mut keys: Vec<(u32, i64, i64, usize)> = records
        .iter()
        .enumerate()
        .map(|(i, (_, r))| (rank[r.chrom()], r.start(), r.end(), i))
        .collect();
    if keys.windows(2).all(|w| w[0] <= w[1]) {
        return;
    }
    keys.sort_unstable();
    let mut slots: Vec<Option<(u64, R)>> = records.drain(..).map(Some).collect();
    records.extend(keys.iter().filter_map(|k| slots[k.3].take()));
}
