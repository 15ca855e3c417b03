//! The chromosome names sources use, read before anything is ingested, so
//! a build can reconcile every source's names with the genome's at once
//! (`22` ↔ `chr22`, `MT` ↔ `chrM`) and name every one it cannot match, with
//! the file it came from, in one error.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::chrom_names::{ChromNames, Resolved};
use crate::error::{Error, Location, Result};
use crate::formats::lines::InputFile;

/// Where a file's chromosome names are.
#[derive(Debug, Clone, Copy)]
pub enum ChromColumn {
    /// The first tab-separated column of every record line (BED, narrowPeak,
    /// bedMethyl, GTF, GFF3).
    First,
    /// A column of a table with a header line (tab- or comma-separated),
    /// found by any of these names.
    Named(&'static [&'static str]),
    /// GTEx variant ids (`chr1_13550_G_A_b38`) in a column found by name: the
    /// chromosome is the id's first part.
    VariantIds(&'static [&'static str]),
    /// FASTA headers (`>chr1 …`).
    Fasta,
    /// A UCSC chain file's source chromosomes (its `tName`s).
    ChainFrom,
    /// A UCSC chain file's destination chromosomes (its `qName`s).
    ChainTo,
}

/// The distinct chromosome names `path` uses.
pub fn chroms_in(path: &Path, column: ChromColumn) -> Result<BTreeSet<String>> {
    let mut input = InputFile::open(path)?;
    let mut buf = Vec::new();
    let mut names = BTreeSet::new();
    let mut index: Option<(usize, char)> = None;
    while let Some((number, line)) = input.read_line(&mut buf)? {
        let t = line.trim_start();
        let name = match column {
            ChromColumn::Fasta => t
                .strip_prefix('>')
                .and_then(|h| h.split_whitespace().next()),
            ChromColumn::ChainFrom | ChromColumn::ChainTo if t.starts_with("chain") => {
                let field = if matches!(column, ChromColumn::ChainFrom) {
                    2
                } else {
                    7
                };
                t.split_whitespace().nth(field)
            }
            ChromColumn::ChainFrom | ChromColumn::ChainTo => None,
            ChromColumn::First => {
                let header = t.is_empty()
                    || t.starts_with('#')
                    || t.starts_with("track")
                    || t.starts_with("browser");
                (!header).then(|| t.split('\t').next().unwrap_or(""))
            }
            ChromColumn::Named(wanted) | ChromColumn::VariantIds(wanted) => {
                if t.is_empty() || t.starts_with('#') {
                    continue;
                }
                let Some((i, separator)) = index else {
                    index = Some(header_index(line, wanted).ok_or_else(|| {
                        Error::parse(
                            Location::line(path, number),
                            format!("the header has no column {}", wanted.join(" or ")),
                        )
                    })?);
                    continue;
                };
                let value = line
                    .split(separator)
                    .nth(i)
                    .map(|v| v.trim().trim_matches('"'));
                match (column, value) {
                    (ChromColumn::VariantIds(_), Some(id)) => id.split('_').next(),
                    (_, value) => value,
                }
            }
        };
        if let Some(name) = name.filter(|n| !n.is_empty()) {
            if !names.contains(name) {
                names.insert(name.to_string());
            }
        }
    }
    Ok(names)
}

/// [`chroms_in`] of each file, read on every core; the results in order.
pub fn chroms_in_files(files: &[(PathBuf, ChromColumn)]) -> Vec<Result<BTreeSet<String>>> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    super::track_files::map_in_order(files, threads, |(path, column)| chroms_in(path, *column))
}

/// The position of the first of `wanted` in a header line, and its separator.
fn header_index(line: &str, wanted: &[&str]) -> Option<(usize, char)> {
    let separator = if line.contains('\t') { '\t' } else { ',' };
    let columns: Vec<String> = line
        .split(separator)
        .map(|c| c.trim().trim_matches('"').to_ascii_lowercase())
        .collect();
    wanted
        .iter()
        .find_map(|w| columns.iter().position(|c| c == w))
        .map(|i| (i, separator))
}

/// Names no spelling of which the genome (or a chain's other side) has,
/// each with the files that use it.
#[derive(Debug, Default)]
pub struct UnmatchedChroms {
    by_name: BTreeMap<String, Vec<PathBuf>>,
}

impl UnmatchedChroms {
    /// Records `names` of `file` that `known` cannot resolve.
    pub fn check(&mut self, known: &ChromNames, names: &BTreeSet<String>, file: &Path) {
        for name in names {
            if known.resolve(name) == Resolved::Unknown {
                self.by_name
                    .entry(name.clone())
                    .or_default()
                    .push(file.to_path_buf());
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// One line a name: `chrUn_gl000220 (a.bed.gz and 3 more files)`.
    pub fn lines(&self) -> Vec<String> {
        self.by_name
            .iter()
            .map(|(name, files)| {
                let more = match files.len() {
                    1 => String::new(),
                    n => format!(" and {} more file{}", n - 1, if n == 2 { "" } else { "s" }),
                };
                format!("{name} ({}{more})", files[0].display())
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_read_from_each_layout_and_unmatched_ones_listed_with_their_files() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            p
        };
        let bed = write(
            "a.bed",
            "track name=x\n#c\n1\t0\t10\nchrUn_x\t5\t9\n1\t20\t30\n",
        );
        let csv = write(
            "g.csv",
            "id,symbol,CHROM,strand\nG1,S,chr2,+\nG2,S,\"MT\",-\n",
        );
        let dapg = write(
            "d.tsv",
            "tissue\tvariant_id\tpip\nLiver\tchr3_10_A_G_b38\t0.5\n",
        );
        let fasta = write("g.fa", ">chr1 first\nACGT\n>chr2\nAC\n>chrM\nA\n");
        let chain = write("c.chain", "chain 1 chr1 100 + 0 100 1 90 + 0 90 1\n90\n\n");
        let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        assert_eq!(
            chroms_in(&bed, ChromColumn::First).unwrap(),
            set(&["1", "chrUn_x"])
        );
        let chrom = ChromColumn::Named(&["chrom", "chr"]);
        assert_eq!(chroms_in(&csv, chrom).unwrap(), set(&["MT", "chr2"]));
        let ids = ChromColumn::VariantIds(&["variant_id"]);
        assert_eq!(chroms_in(&dapg, ids).unwrap(), set(&["chr3"]));
        let genome = chroms_in(&fasta, ChromColumn::Fasta).unwrap();
        assert_eq!(genome, set(&["chr1", "chr2", "chrM"]));
        assert_eq!(
            chroms_in(&chain, ChromColumn::ChainFrom).unwrap(),
            set(&["chr1"])
        );
        assert_eq!(
            chroms_in(&chain, ChromColumn::ChainTo).unwrap(),
            set(&["1"])
        );
        let err = chroms_in(&csv, ChromColumn::Named(&["contig"])).unwrap_err();
        assert!(
            err.to_string()
                .contains("g.csv:1: the header has no column contig"),
            "{err}"
        );

        let known = ChromNames::new(genome.into_iter().map(|n| (n, 1)));
        let mut unmatched = UnmatchedChroms::default();
        for (file, column) in [(&bed, ChromColumn::First), (&csv, chrom), (&dapg, ids)] {
            unmatched.check(&known, &chroms_in(file, column).unwrap(), file);
        }
        let other = write("b.bed", "chrUn_x\t1\t2\n");
        unmatched.check(
            &known,
            &chroms_in(&other, ChromColumn::First).unwrap(),
            &other,
        );
        let lines = unmatched.lines();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(
            lines[0].starts_with("chr3 (") && lines[0].ends_with("d.tsv)"),
            "{lines:?}"
        );
        assert!(
            lines[1].starts_with("chrUn_x (") && lines[1].ends_with("a.bed and 1 more file)"),
            "{lines:?}"
        );
    }
}
