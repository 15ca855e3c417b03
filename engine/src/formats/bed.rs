//! BED3–BED12, ENCODE narrowPeak and broadPeak: a reader that yields typed
//! peak records. `track`, `browser` and `#` lines are skipped; every record of
//! a file must have the same number of columns.

use std::fmt;
use std::io::BufRead;
use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::formats::lines::{Fields, InputFile, LineReader};

/// The layout of a peak file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeakFormat {
    /// BED with this many columns (3 to 12).
    Bed(usize),
    /// BED6 + signalValue, pValue, qValue, peak.
    NarrowPeak,
    /// BED6 + signalValue, pValue, qValue.
    BroadPeak,
}

impl fmt::Display for PeakFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeakFormat::Bed(n) => write!(f, "bed{n}"),
            PeakFormat::NarrowPeak => f.write_str("narrowPeak"),
            PeakFormat::BroadPeak => f.write_str("broadPeak"),
        }
    }
}

impl PeakFormat {
    pub fn columns(&self) -> usize {
        match self {
            PeakFormat::Bed(n) => *n,
            PeakFormat::NarrowPeak => 10,
            PeakFormat::BroadPeak => 9,
        }
    }

    /// The format a file's name says, if it says one.
    pub fn from_file_name(path: &Path) -> Option<PeakFormat> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        let name = name
            .strip_suffix(".gz")
            .or_else(|| name.strip_suffix(".bgz"))
            .or_else(|| name.strip_suffix(".zst"))
            .unwrap_or(&name);
        if name.ends_with(".narrowpeak") {
            Some(PeakFormat::NarrowPeak)
        } else if name.ends_with(".broadpeak") {
            Some(PeakFormat::BroadPeak)
        } else {
            None
        }
    }
}

const COLUMN_NAMES: [&str; 12] = [
    "chrom",
    "start",
    "end",
    "name",
    "score",
    "strand",
    "thickStart",
    "thickEnd",
    "itemRgb",
    "blockCount",
    "blockSizes",
    "blockStarts",
];

const PEAK_COLUMN_NAMES: [&str; 10] = [
    "chrom",
    "start",
    "end",
    "name",
    "score",
    "strand",
    "signalValue",
    "pValue",
    "qValue",
    "peak",
];

/// One interval of a peak file; coordinates 0-based, half-open.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PeakRecord {
    pub chrom: String,
    pub start: i64,
    pub end: i64,
    pub name: Option<String>,
    pub score: Option<f64>,
    pub strand: Option<&'static str>,
    pub signal_value: Option<f64>,
    pub p_value: Option<f64>,
    pub q_value: Option<f64>,
    /// Summit offset from `start` (narrowPeak's `peak`, -1 made `None`).
    pub summit: Option<i64>,
    pub thick_start: Option<i64>,
    pub thick_end: Option<i64>,
    pub item_rgb: Option<String>,
    pub block_sizes: Option<Vec<i64>>,
    pub block_starts: Option<Vec<i64>>,
}

/// Reads a peak file (plain or compressed) record by record.
pub struct PeakFileReader<R = Box<dyn BufRead + Send>> {
    input: LineReader<R>,
    format: Option<PeakFormat>,
    buf: Vec<u8>,
}

impl PeakFileReader {
    /// Opens `path`; the format comes from the name (`.narrowPeak`,
    /// `.broadPeak`), a `track type=…` line, or the first record's column count.
    pub fn open(path: &Path) -> Result<Self> {
        Ok(PeakFileReader {
            format: PeakFormat::from_file_name(path),
            input: InputFile::open(path)?,
            buf: Vec::new(),
        })
    }
}

impl<R: BufRead> PeakFileReader<R> {
    /// Records of `inner`, which errors call `name`; the format comes from
    /// `name` as for [`PeakFileReader::open`].
    pub fn new(inner: R, name: impl Into<PathBuf>) -> Self {
        let input = LineReader::new(inner, name);
        PeakFileReader {
            format: PeakFormat::from_file_name(&input.path),
            input,
            buf: Vec::new(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.input.path
    }

    /// The format, once known (after the first record at the latest).
    pub fn format(&self) -> Option<PeakFormat> {
        self.format
    }

    /// The next record and its line number, or `None` at the end.
    pub fn read_record(&mut self) -> Result<Option<(u64, PeakRecord)>> {
        loop {
            let Some((number, line)) = self.input.read_line(&mut self.buf)? else {
                return Ok(None);
            };
            let trimmed = line.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with("browser") {
                continue;
            }
            if trimmed.starts_with("track") {
                if self.format.is_none() {
                    if trimmed.contains("type=narrowPeak") {
                        self.format = Some(PeakFormat::NarrowPeak);
                    } else if trimmed.contains("type=broadPeak") {
                        self.format = Some(PeakFormat::BroadPeak);
                    }
                }
                continue;
            }
            let record = parse_record(line, &self.input.path, number, &mut self.format)?;
            return Ok(Some((number, record)));
        }
    }
}

records_iterator!(PeakFileReader<R>, PeakRecord);

fn parse_record(
    line: &str,
    path: &Path,
    number: u64,
    format: &mut Option<PeakFormat>,
) -> Result<PeakRecord> {
    let names: &[&str] = match format {
        Some(PeakFormat::NarrowPeak | PeakFormat::BroadPeak) => &PEAK_COLUMN_NAMES,
        _ => &COLUMN_NAMES,
    };
    let f = Fields::split(line, path, number, names);
    let format = match *format {
        Some(known) => known,
        None => {
            if !(3..=12).contains(&f.len()) {
                return Err(f.error(format!(
                    "{} tab-separated columns, expected BED3 to BED12 (3 to 12)",
                    f.len()
                )));
            }
            // ENCODE names its narrowPeak and broadPeak files `.bed.gz`:
            // ten columns are a narrowPeak (BED10 is no BED), nine whose
            // seventh is not an integer (BED9's thickStart) a broadPeak.
            let detected = match f.len() {
                10 => PeakFormat::NarrowPeak,
                9 if f.int(6).is_err() => PeakFormat::BroadPeak,
                n => PeakFormat::Bed(n),
            };
            *format = Some(detected);
            if matches!(detected, PeakFormat::NarrowPeak | PeakFormat::BroadPeak) {
                return parse_record(line, path, number, format);
            }
            detected
        }
    };
    if f.len() != format.columns() {
        return Err(f.error(format!(
            "{} tab-separated columns, expected {} as in the rest of this {format} file",
            f.len(),
            format.columns()
        )));
    }
    let mut r = PeakRecord {
        chrom: f.required(0)?.to_string(),
        start: f.coordinate(1)?,
        end: f.coordinate(2)?,
        ..Default::default()
    };
    let n = format.columns();
    if n >= 4 {
        r.name = f.optional(3)?.map(str::to_string);
    }
    if n >= 5 {
        r.score = f.optional_float(4)?;
    }
    if n >= 6 {
        r.strand = f.strand(5)?;
    }
    match format {
        PeakFormat::NarrowPeak | PeakFormat::BroadPeak => {
            r.signal_value = f.optional_float(6)?;
            // ENCODE writes -1 for "not computed".
            r.p_value = f.optional_float(7)?.filter(|&v| v != -1.0);
            r.q_value = f.optional_float(8)?.filter(|&v| v != -1.0);
            if format == PeakFormat::NarrowPeak {
                let peak = f.int(9)?;
                if peak < -1 || peak > r.end - r.start {
                    return Err(f.error(format!(
                        "column 10 (peak): summit offset {peak} is outside the peak's {} bp (expected -1 or 0..{})",
                        r.end - r.start,
                        r.end - r.start
                    )));
                }
                r.summit = (peak >= 0).then_some(peak);
            }
        }
        PeakFormat::Bed(_) => {
            if n >= 8 {
                r.thick_start = Some(f.coordinate(6)?);
                r.thick_end = Some(f.coordinate(7)?);
            }
            if n >= 9 {
                r.item_rgb = f.optional(8)?.map(str::to_string);
            }
            if n >= 10 {
                let count = f.coordinate(9)?;
                if n < 12 {
                    return Err(f.error("BED10 and BED11 are not BED: blockCount needs blockSizes and blockStarts (BED12)"));
                }
                let sizes = f.int_list(10)?;
                let starts = f.int_list(11)?;
                if sizes.len() as i64 != count || starts.len() as i64 != count {
                    return Err(f.error(format!(
                        "blockCount is {count} but there are {} blockSizes and {} blockStarts",
                        sizes.len(),
                        starts.len()
                    )));
                }
                r.block_sizes = Some(sizes);
                r.block_starts = Some(starts);
            }
        }
    }
    Ok(r)
}

/// Reads every record of a peak file, for tests and small files.
pub fn read_all(path: &Path) -> Result<Vec<PeakRecord>> {
    let mut reader = PeakFileReader::open(path)?;
    let mut out = Vec::new();
    while let Some((_, r)) = reader.read_record()? {
        out.push(r);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(name: &str, text: &str) -> Result<Vec<PeakRecord>> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        read_all(&p)
    }

    #[test]
    fn a_peak_file_streams_from_any_buffered_reader() {
        let text = b"track type=narrowPeak\nchr1\t10\t20\tp1\t5\t+\t2.5\t-1\t3\t4\nchr1\t30\t2\tp2\t5\t+\t2.5\t-1\t3\t-1\n";
        let mut reader = PeakFileReader::new(&text[..], "<memory>");
        let (line, first) = reader.next().unwrap().unwrap();
        assert_eq!((line, first.start, first.summit), (2, 10, Some(4)));
        assert_eq!(reader.format(), Some(PeakFormat::NarrowPeak));
        let err = reader.next().unwrap().unwrap_err().to_string();
        assert!(err.starts_with("<memory>:3: column 10 (peak)"), "{err}");
    }

    #[test]
    fn narrowpeak_fields_are_typed_and_headers_skipped() {
        let rows = read(
            "x.narrowPeak",
            "track type=narrowPeak name=\"n\"\nbrowser position chr1:1-2\n# note\nchr1\t10\t20\t.\t0\t.\t182\t5.09\t-1\t5\nchr1\t30\t40\tp2\t1000\t+\t3\t-1\t2\t-1\n",
        )
        .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].signal_value, Some(182.0));
        assert_eq!(rows[0].q_value, None);
        assert_eq!(rows[0].summit, Some(5));
        assert_eq!(rows[1].name.as_deref(), Some("p2"));
        assert_eq!(rows[1].strand, Some("+"));
        assert_eq!(rows[1].p_value, None);
        assert_eq!(rows[1].summit, None);
    }

    #[test]
    fn bed12_blocks_are_lists() {
        let rows = read(
            "x.bed",
            "chr1\t0\t100\tg\t0\t-\t10\t90\t0,0,0\t2\t10,20,\t0,80,\n",
        )
        .unwrap();
        assert_eq!(rows[0].block_sizes, Some(vec![10, 20]));
        assert_eq!(rows[0].block_starts, Some(vec![0, 80]));
        assert_eq!(rows[0].thick_end, Some(90));
    }

    #[test]
    fn malformed_peak_files_say_where() {
        let e = read("a.bed", "chr1\t1\t2\nchr1\t1\t2\t.\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.ends_with(
                "a.bed:2: 4 tab-separated columns, expected 3 as in the rest of this bed3 file"
            ),
            "{e}"
        );
        let e = read("a.bed", "chr1\tten\t20\n").unwrap_err().to_string();
        assert!(
            e.ends_with("a.bed:1: column 2 (start): expected a non-negative integer, found 'ten'"),
            "{e}"
        );
        let e = read("a.bed", "chr1\t1\t2\tn\t0\t^\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("a.bed:1: column 6 (strand): expected a strand"),
            "{e}"
        );
        let e = read("a.narrowPeak", "chr1\t1\t20\t.\t0\t.\t1\t1\t1\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("a.narrowPeak:1: 9 tab-separated columns, expected 10"),
            "{e}"
        );
        let e = read("a.narrowPeak", "chr1\t1\t20\t.\t0\t.\t1\t1\t1\t50\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("summit offset 50 is outside"), "{e}");
        let e = read("a.bed", "chr1\n").unwrap_err().to_string();
        assert!(
            e.contains("a.bed:1: 1 tab-separated columns, expected BED3 to BED12"),
            "{e}"
        );
        let e = read("a.bed", "chr1\t1\t2\t.\t0\t+\t1\t2\t0\t2\t1,\t0,\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("blockCount is 2 but there are 1 blockSizes"),
            "{e}"
        );
    }
}
