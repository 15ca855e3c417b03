//! Coordinates moved between assemblies at ingest (`--liftover CHAIN`), by
//! the `chainfile` crate's liftover machine over a UCSC chain file (plain or
//! gzip). A row maps only when one chain carries its whole interval in one
//! ungapped block to the same chromosome, so its length is kept; every other
//! row is kept out of the table and listed, with the reason, in
//! `STORE/liftover/FILE.unmapped.tsv`.

use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use chainfile::liftover::machine::{Builder, Machine};
use omics::coordinate::interval::interbase::Interval;
use omics::coordinate::position::interbase::Position;
use omics::coordinate::{Contig, Coordinate, Strand};

use crate::error::{Error, Result};
use crate::ingest::intervals::IntervalRecord;

/// A chain file, ready to map intervals.
pub struct Liftover {
    path: PathBuf,
    machine: Machine,
}

/// Where an interval lands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lifted {
    pub chrom: String,
    pub start: i64,
    pub end: i64,
    /// On the other strand of the new assembly: alleles are complemented,
    /// strands swapped.
    pub reverse: bool,
}

/// Why an interval was not moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unmapped {
    /// No chain covers it (deleted in the new assembly, or its chromosome
    /// has no chain).
    NoChain,
    /// A gap of the chain falls inside it: it would change length.
    Split,
    /// More than one chain covers it.
    Multiple,
    /// Its one block lies on another chromosome.
    OtherChromosome(String),
}

impl fmt::Display for Unmapped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unmapped::NoChain => write!(f, "no chain covers it"),
            Unmapped::Split => write!(
                f,
                "a gap of its chain falls inside it (its length would change)"
            ),
            Unmapped::Multiple => write!(f, "several chains cover it"),
            Unmapped::OtherChromosome(c) => write!(f, "it maps to another chromosome, {c}"),
        }
    }
}

impl Liftover {
    /// Reads the chain file at `path` (`.gz` or plain).
    pub fn open(path: &Path) -> Result<Liftover> {
        let file = std::fs::File::open(path).map_err(|source| Error::Open {
            path: path.to_path_buf(),
            source,
        })?;
        let gz = path.extension().is_some_and(|e| e == "gz");
        let reader: Box<dyn BufRead> = if gz {
            Box::new(BufReader::new(flate2::read::MultiGzDecoder::new(file)))
        } else {
            Box::new(BufReader::new(file))
        };
        Self::from_reader(path, reader)
    }

    fn from_reader(path: &Path, reader: impl Read) -> Result<Liftover> {
        let machine = Builder
            .try_build_from(chainfile::Reader::new(BufReader::new(reader)))
            .map_err(|e| Error::Invalid(format!("{}: not a chain file: {e}", path.display())))?;
        Ok(Liftover {
            path: path.to_path_buf(),
            machine,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Moves `[start, end)` on `chrom` (0-based, half-open).
    pub fn lift(&self, chrom: &str, start: i64, end: i64) -> Result<Lifted, Unmapped> {
        if start < 0 || end <= start {
            return Err(Unmapped::NoChain);
        }
        let coordinate = |p: i64| {
            Coordinate::new(
                Contig::new_unchecked(chrom),
                Strand::Positive,
                Position::new(p as u64),
            )
        };
        let interval =
            Interval::try_new(coordinate(start), coordinate(end)).map_err(|_| Unmapped::NoChain)?;
        let results = self.machine.liftover(interval).ok_or(Unmapped::NoChain)?;
        let [result] = &results[..] else {
            return Err(Unmapped::Multiple);
        };
        let [segment] = result.segments() else {
            return Err(Unmapped::Split);
        };
        let reference = segment.reference();
        let covered = reference.end().position().get() - reference.start().position().get();
        if covered != (end - start) as u64 {
            return Err(Unmapped::Split);
        }
        let query = segment.query();
        let (a, b) = (
            query.start().position().get() as i64,
            query.end().position().get() as i64,
        );
        let reverse = query.strand() == Strand::Negative;
        // A reverse-strand interval counts down: its start is the higher end.
        let (s, e) = if reverse { (b, a) } else { (a, b) };
        let target = query.contig().as_str().to_string();
        if !same_chromosome(chrom, &target) {
            return Err(Unmapped::OtherChromosome(target));
        }
        Ok(Lifted {
            chrom: target,
            start: s,
            end: e,
            reverse,
        })
    }
}

/// `chr1` and `1` are one chromosome; `chr1` and `chr1_gl000191_random` are not.
fn same_chromosome(a: &str, b: &str) -> bool {
    let bare = |s: &str| {
        let s = s.strip_prefix("chr").unwrap_or(s);
        if s == "M" {
            "MT".to_string()
        } else {
            s.to_string()
        }
    };
    bare(a) == bare(b)
}

/// A record whose place can be moved to another assembly.
pub trait Liftable: IntervalRecord {
    /// Puts the record at `to`; on the reverse strand, what has a strand
    /// (alleles, a gene's strand, a summit's offset) turns with it.
    fn move_to(&mut self, to: Lifted);
}

/// Rows a liftover kept out: (where in the file, what, why).
#[derive(Debug, Default)]
pub struct UnmappedRows {
    pub rows: Vec<(u64, String, Unmapped)>,
}

/// Moves every record of `records` (each with its line or row number), and
/// takes out those that do not map.
pub fn lift_records<R: Liftable>(
    records: &mut Vec<(u64, R)>,
    liftover: &Liftover,
    unmapped: &mut UnmappedRows,
) {
    records.retain_mut(
        |(at, r)| match liftover.lift(r.chrom(), r.start(), r.end()) {
            Ok(to) => {
                r.move_to(to);
                true
            }
            Err(why) => {
                let place = format!("{}:{}-{}", r.chrom(), r.start(), r.end());
                unmapped.rows.push((*at, place, why));
                false
            }
        },
    );
}

impl UnmappedRows {
    /// Counts the rows in `skipped` by reason ("not lifted over (why)") and
    /// lists them beside the store (see [`UnmappedRows::write`]).
    pub fn record(
        &self,
        skipped: &mut std::collections::BTreeMap<String, u64>,
        folder: &Path,
        input: &Path,
    ) -> Result<Option<PathBuf>> {
        for (_, _, why) in &self.rows {
            *skipped
                .entry(format!("not lifted over ({why})"))
                .or_default() += 1;
        }
        self.write(folder, input)
    }

    /// Writes the rows (if any) to `STORE/liftover/NAME.unmapped.tsv`, whole
    /// (temporary name, then rename); returns the file.
    pub fn write(&self, folder: &Path, input: &Path) -> Result<Option<PathBuf>> {
        if self.rows.is_empty() {
            return Ok(None);
        }
        let write_error = |path: &Path| {
            let path = path.to_path_buf();
            move |source| Error::Write { path, source }
        };
        std::fs::create_dir_all(folder).map_err(write_error(folder))?;
        let name = input
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "input".into());
        let path = folder.join(format!("{name}.unmapped.tsv"));
        let mut text = String::from("line\tinterval\treason\n");
        for (at, place, why) in &self.rows {
            text.push_str(&format!("{at}\t{place}\t{why}\n"));
        }
        let partial = path.with_extension("tsv.partial");
        std::fs::write(&partial, text)
            .and_then(|_| std::fs::rename(&partial, &path))
            .map_err(write_error(&path))?;
        Ok(Some(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// chr1 (100 bp) onto chr1 (110 bp) in two blocks: [0,40) to [0,40),
    /// then 10 bp deleted in the source and 20 inserted in the target,
    /// [50,100) to [60,110). chr2 (50 bp) onto the reverse strand of chr2,
    /// and chr3 onto chr7.
    const CHAIN: &str = "chain 1000 chr1 100 + 0 100 chr1 110 + 0 110 1\n40\t10\t20\n50\n\n\
chain 900 chr2 50 + 0 50 chr2 50 - 0 50 2\n50\n\n\
chain 800 chr3 30 + 0 30 chr7 30 + 0 30 3\n30\n";

    fn liftover() -> Liftover {
        Liftover::from_reader(Path::new("test.chain"), CHAIN.as_bytes()).unwrap()
    }

    fn at(chrom: &str, start: i64, end: i64, reverse: bool) -> Lifted {
        Lifted {
            chrom: chrom.into(),
            start,
            end,
            reverse,
        }
    }

    #[test]
    fn blocks_gaps_strands_and_chromosomes() {
        let l = liftover();
        assert_eq!(l.lift("chr1", 10, 20), Ok(at("chr1", 10, 20, false)));
        assert_eq!(l.lift("chr1", 55, 56), Ok(at("chr1", 65, 66, false)));
        assert_eq!(l.lift("chr1", 99, 100), Ok(at("chr1", 109, 110, false)));
        assert_eq!(l.lift("chr1", 35, 60), Err(Unmapped::Split));
        assert_eq!(l.lift("chr1", 42, 45), Err(Unmapped::NoChain));
        // [2,4) on the reverse strand of a 50 bp chromosome is [46,48).
        assert_eq!(l.lift("chr2", 2, 4), Ok(at("chr2", 46, 48, true)));
        assert_eq!(
            l.lift("chr3", 0, 5),
            Err(Unmapped::OtherChromosome("chr7".into()))
        );
        assert_eq!(l.lift("chrX", 0, 5), Err(Unmapped::NoChain));
    }

    #[test]
    fn a_bad_chain_file_is_named() {
        let e = Liftover::from_reader(Path::new("x.chain"), &b"chain oops\n"[..])
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("x.chain: not a chain file"), "{e}");
    }
}
