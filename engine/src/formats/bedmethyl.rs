//! ENCODE bedMethyl: BED9 + coverage (reads) + percent methylated (0–100),
//! a reader that yields typed methylation calls.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::formats::lines::{Fields, InputFile, LineReader};

/// One CpG call.
#[derive(Debug, Clone, PartialEq)]
pub struct MethylationRecord {
    pub chrom: String,
    pub start: i64,
    pub end: i64,
    pub strand: &'static str,
    pub coverage: i32,
    pub methylated: i32,
    pub fraction: f64,
}

const COLUMNS: [&str; 11] = [
    "chrom",
    "start",
    "end",
    "name",
    "score",
    "strand",
    "thickStart",
    "thickEnd",
    "itemRgb",
    "coverage",
    "percentMethylated",
];

/// Reads a bedMethyl file record by record.
pub struct BedMethylReader<R = Box<dyn BufRead + Send>> {
    input: LineReader<R>,
    buf: Vec<u8>,
}

impl BedMethylReader {
    pub fn open(path: &Path) -> Result<Self> {
        Ok(BedMethylReader {
            input: InputFile::open(path)?,
            buf: Vec::new(),
        })
    }
}

impl<R: BufRead> BedMethylReader<R> {
    /// Records of `inner`, which errors call `name`.
    pub fn new(inner: R, name: impl Into<PathBuf>) -> Self {
        BedMethylReader {
            input: LineReader::new(inner, name),
            buf: Vec::new(),
        }
    }

    /// The next call and its line number, or `None` at the end.
    pub fn read_record(&mut self) -> Result<Option<(u64, MethylationRecord)>> {
        let Some((number, line)) = self.input.read_record_line(&mut self.buf)? else {
            return Ok(None);
        };
        let f = Fields::split(line, &self.input.path, number, &COLUMNS);
        if f.len() != 11 {
            return Err(f.error(format!(
                "{} tab-separated columns, expected 11 (BED9 + coverage + percent methylated)",
                f.len()
            )));
        }
        let coverage = f.coordinate(9)?;
        let percent = f.float(10)?;
        if !(0.0..=100.0).contains(&percent) {
            return Err(f.error(format!(
                "column 11 (percentMethylated): {percent} is not a percentage (0 to 100)"
            )));
        }
        let coverage = i32::try_from(coverage).map_err(|_| {
            f.error(format!(
                "column 10 (coverage): {coverage} reads is too many"
            ))
        })?;
        let record = MethylationRecord {
            chrom: f.required(0)?.to_string(),
            start: f.coordinate(1)?,
            end: f.coordinate(2)?,
            strand: f.strand(5)?.unwrap_or("."),
            coverage,
            methylated: (f64::from(coverage) * percent / 100.0).round() as i32,
            fraction: percent / 100.0,
        };
        Ok(Some((number, record)))
    }
}

records_iterator!(BedMethylReader<R>, MethylationRecord);

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Vec<MethylationRecord>> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.bed");
        std::fs::write(&p, text).unwrap();
        let mut r = BedMethylReader::open(&p)?;
        let mut out = Vec::new();
        while let Some((_, rec)) = r.read_record()? {
            out.push(rec);
        }
        Ok(out)
    }

    #[test]
    fn calls_are_typed_and_bad_ones_named() {
        let rows =
            read("track name=x\nchr1\t10\t11\t.\t1000\t+\t10\t11\t0,255,0\t20\t25\n").unwrap();
        assert_eq!(rows[0].coverage, 20);
        assert_eq!(rows[0].methylated, 5);
        assert_eq!(rows[0].fraction, 0.25);
        assert_eq!(rows[0].strand, "+");
        let e = read("chr1\t10\t11\t.\t1000\t+\t10\t11\t0\t20\n")
            .unwrap_err()
            .to_string();
        assert!(e.ends_with("m.bed:1: 10 tab-separated columns, expected 11 (BED9 + coverage + percent methylated)"), "{e}");
        let e = read("chr1\t10\t11\t.\t1000\t+\t10\t11\t0\t20\t150\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("150 is not a percentage"), "{e}");
        let e = read("chr1\t10\t11\t.\t1000\t+\t10\t11\t0\t-2\t50\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("column 10 (coverage): expected a non-negative integer, found '-2'"),
            "{e}"
        );
    }
}
