//! bedGraph: `chrom start end value`, a reader that yields typed signal records.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::formats::lines::{Fields, InputFile, LineReader};

/// A run of equal signal over `[start, end)`.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalRecord {
    pub chrom: String,
    pub start: i64,
    pub end: i64,
    pub value: f32,
}

const COLUMNS: [&str; 4] = ["chrom", "start", "end", "value"];

/// Reads a bedGraph file record by record; `track`, `browser` and `#` lines are skipped.
pub struct BedGraphReader<R = Box<dyn BufRead + Send>> {
    input: LineReader<R>,
    buf: Vec<u8>,
}

impl BedGraphReader {
    pub fn open(path: &Path) -> Result<Self> {
        Ok(BedGraphReader {
            input: InputFile::open(path)?,
            buf: Vec::new(),
        })
    }
}

impl<R: BufRead> BedGraphReader<R> {
    /// Records of `inner`, which errors call `name`.
    pub fn new(inner: R, name: impl Into<PathBuf>) -> Self {
        BedGraphReader {
            input: LineReader::new(inner, name),
            buf: Vec::new(),
        }
    }

    /// The next record and its line number, or `None` at the end.
    pub fn read_record(&mut self) -> Result<Option<(u64, SignalRecord)>> {
        let Some((number, line)) = self.input.read_record_line(&mut self.buf)? else {
            return Ok(None);
        };
        let f = Fields::split(line, &self.input.path, number, &COLUMNS);
        if f.len() != 4 {
            return Err(f.error(format!(
                "{} tab-separated columns, expected 4 (chrom, start, end, value)",
                f.len()
            )));
        }
        let record = SignalRecord {
            chrom: f.required(0)?.to_string(),
            start: f.coordinate(1)?,
            end: f.coordinate(2)?,
            value: f.float(3)? as f32,
        };
        Ok(Some((number, record)))
    }
}

records_iterator!(BedGraphReader<R>, SignalRecord);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_bundled_bedgraph_and_names_bad_lines() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/tracks/sample.bedgraph");
        let mut r = BedGraphReader::open(&path).unwrap();
        let mut rows = Vec::new();
        while let Some((_, rec)) = r.read_record().unwrap() {
            rows.push(rec);
        }
        assert_eq!(rows.len(), 4);
        assert_eq!(
            rows[1],
            SignalRecord {
                chrom: "chr1".into(),
                start: 15800,
                end: 16000,
                value: 0.5
            }
        );

        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.bedGraph");
        std::fs::write(&p, "chr1\t0\t10\t1\nchr1\t10\t20\thigh\n").unwrap();
        let mut r = BedGraphReader::open(&p).unwrap();
        r.read_record().unwrap();
        let e = r.read_record().unwrap_err().to_string();
        assert!(
            e.ends_with("x.bedGraph:2: column 4 (value): expected a number, found 'high'"),
            "{e}"
        );
    }
}
