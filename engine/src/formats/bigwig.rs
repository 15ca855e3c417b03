//! bigWig (via bigtools): every interval of every chromosome as a signal
//! record. The file is binary and indexed, so the reader seeks in a file
//! rather than reading a `BufRead`.

use std::collections::VecDeque;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use bigtools::BigWigRead;

use crate::error::{Error, Location, Result};
use crate::formats::bedgraph::SignalRecord;

/// The magic number at the start of a bigWig file, either byte order.
const BIGWIG_MAGIC: u32 = 0x888F_FC26;

/// True when `path` starts with the bigWig magic number.
pub fn is_bigwig(path: &Path) -> Result<bool> {
    let mut head = [0u8; 4];
    let mut file = File::open(path).map_err(|source| Error::Open {
        path: path.to_path_buf(),
        source,
    })?;
    match file.read_exact(&mut head) {
        Ok(()) => Ok(
            u32::from_le_bytes(head) == BIGWIG_MAGIC || u32::from_be_bytes(head) == BIGWIG_MAGIC
        ),
        Err(_) => Ok(false),
    }
}

/// Reads a bigWig file interval by interval, chromosome by chromosome in
/// the file's order; each record's position is its ordinal in the file. It
/// holds one chromosome's intervals at a time (bigtools reads a block
/// range per query, so a query per chromosome keeps the reads large).
pub struct BigWigReader {
    path: PathBuf,
    inner: BigWigRead<File>,
    chroms: VecDeque<(String, u32)>,
    pending: VecDeque<SignalRecord>,
    count: u64,
}

impl BigWigReader {
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|source| Error::Open {
            path: path.to_path_buf(),
            source,
        })?;
        let inner = BigWigRead::open(file).map_err(|e| {
            Error::parse(
                Location::file(path),
                format!("not a readable bigWig file: {e}"),
            )
        })?;
        let chroms = inner
            .chroms()
            .iter()
            .map(|c| (c.name.clone(), c.length))
            .collect();
        Ok(BigWigReader {
            path: path.to_path_buf(),
            inner,
            chroms,
            pending: VecDeque::new(),
            count: 0,
        })
    }

    /// The next interval and its ordinal (from 1), or `None` at the end.
    pub fn read_record(&mut self) -> Result<Option<(u64, SignalRecord)>> {
        while self.pending.is_empty() {
            let Some((chrom, length)) = self.chroms.pop_front() else {
                return Ok(None);
            };
            let bad = |message: String| Error::parse(Location::file(&self.path), message);
            let values = self
                .inner
                .get_interval(&chrom, 0, length)
                .map_err(|e| bad(format!("cannot read chromosome '{chrom}': {e}")))?;
            for v in values {
                let v = v.map_err(|e| bad(format!("corrupt data in chromosome '{chrom}': {e}")))?;
                self.pending.push_back(SignalRecord {
                    chrom: chrom.clone(),
                    start: i64::from(v.start),
                    end: i64::from(v.end),
                    value: v.value,
                });
            }
        }
        self.count += 1;
        Ok(self.pending.pop_front().map(|r| (self.count, r)))
    }
}

records_iterator!(BigWigReader, SignalRecord);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bigwig_is_told_by_magic_and_read_whole() {
        let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/tracks");
        assert!(is_bigwig(&data.join("sample.bw")).unwrap());
        assert!(!is_bigwig(&data.join("sample.bedgraph")).unwrap());
        let rows: Vec<(u64, SignalRecord)> = BigWigReader::open(&data.join("sample.bw"))
            .unwrap()
            .collect::<Result<_>>()
            .unwrap();
        // Runs tile each 30 kb chromosome of the file with no gap.
        for chrom in ["chr1", "chr2"] {
            let runs: Vec<&SignalRecord> = rows
                .iter()
                .map(|(_, r)| r)
                .filter(|r| r.chrom == chrom)
                .collect();
            assert_eq!(runs.first().unwrap().start, 0);
            assert_eq!(runs.last().unwrap().end, 30_000);
            assert!(runs.windows(2).all(|w| w[0].end == w[1].start));
        }
    }
}
