//! bigWig (via bigtools): every interval of every chromosome as a signal record.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use bigtools::BigWigRead;

use crate::bedgraph::SignalRecord;
use crate::error::{Error, Location, Result};

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

/// Reads every interval of a bigWig file, chromosome by chromosome in the
/// file's order; each record's position is its ordinal in the file.
pub fn read_bigwig(path: &Path) -> Result<Vec<(u64, SignalRecord)>> {
    let bad = |message: String| Error::parse(Location::file(path), message);
    let file = File::open(path).map_err(|source| Error::Open {
        path: path.to_path_buf(),
        source,
    })?;
    let mut reader =
        BigWigRead::open(file).map_err(|e| bad(format!("not a readable bigWig file: {e}")))?;
    let chroms: Vec<(String, u32)> = reader
        .chroms()
        .iter()
        .map(|c| (c.name.clone(), c.length))
        .collect();
    let mut out = Vec::new();
    for (chrom, length) in chroms {
        let values = reader
            .get_interval(&chrom, 0, length)
            .map_err(|e| bad(format!("cannot read chromosome '{chrom}': {e}")))?;
        for v in values {
            let v = v.map_err(|e| bad(format!("corrupt data in chromosome '{chrom}': {e}")))?;
            out.push((
                out.len() as u64 + 1,
                SignalRecord {
                    chrom: chrom.clone(),
                    start: i64::from(v.start),
                    end: i64::from(v.end),
                    value: v.value,
                },
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bigwig_is_told_by_magic_and_read_whole() {
        let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/tracks");
        assert!(is_bigwig(&data.join("sample.bw")).unwrap());
        assert!(!is_bigwig(&data.join("sample.bedgraph")).unwrap());
        let rows = read_bigwig(&data.join("sample.bw")).unwrap();
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
