//! FASTA: a reader that yields a genome as typed chunks of normalized bases.
//!
//! Bases are folded to upper case (soft-masking is counted, not kept), IUPAC
//! ambiguity codes other than ACGTN become `N` (and are counted), spaces and
//! tabs inside sequence lines are ignored, and anything else is an error that
//! names the file, the line and the record.

use std::collections::HashMap;
use std::io::BufRead;
use std::sync::Arc;

use md5::{Digest, Md5};
use noodles::fasta;

use crate::error::{Error, Location, Result};
use crate::formats::lines::{InputFile, LineReader};

/// Up to `chunk_len` bases of one chromosome, starting at `start` (0-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SequenceChunk {
    pub chrom: Arc<str>,
    pub start: u64,
    pub bases: Vec<u8>,
}

/// What a whole FASTA record held, once it has been read to its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChromSummary {
    pub name: String,
    pub length: u64,
    /// Hex MD5 of the upper-cased sequence with IUPAC codes kept (SAM `M5`).
    pub md5: String,
    /// Order of the record in the file, from 0.
    pub rank: u32,
    pub n_bases: u64,
    pub iupac_bases: u64,
    pub masked_bases: u64,
    /// Line of the header, for later errors about this record.
    pub header_line: u64,
}

/// Byte classes of sequence text.
const INVALID: u8 = 0;
const BASE: u8 = 1;
const MASKED: u8 = 2;
const IUPAC: u8 = 3;
const MASKED_IUPAC: u8 = 4;
const SKIP: u8 = 5;

/// For every byte: its class and the base stored for it.
const fn byte_table() -> ([u8; 256], [u8; 256]) {
    let mut class = [INVALID; 256];
    let mut stored = [0u8; 256];
    let bases = b"ACGTN";
    let mut i = 0;
    while i < bases.len() {
        let b = bases[i];
        class[b as usize] = BASE;
        stored[b as usize] = b;
        class[(b | 0x20) as usize] = MASKED;
        stored[(b | 0x20) as usize] = b;
        i += 1;
    }
    let iupac = b"RYSWKMBDHVU";
    let mut i = 0;
    while i < iupac.len() {
        let b = iupac[i];
        class[b as usize] = IUPAC;
        stored[b as usize] = b'N';
        class[(b | 0x20) as usize] = MASKED_IUPAC;
        stored[(b | 0x20) as usize] = b'N';
        i += 1;
    }
    class[b' ' as usize] = SKIP;
    class[b'\t' as usize] = SKIP;
    (class, stored)
}

const TABLES: ([u8; 256], [u8; 256]) = byte_table();

struct OpenRecord {
    name: Arc<str>,
    header_line: u64,
    next_start: u64,
    md5: Md5,
    n_bases: u64,
    iupac_bases: u64,
    masked_bases: u64,
}

/// Reads a FASTA file (plain, gzip, BGZF or zstd) as chunks of normalized bases.
pub struct FastaReader<R = Box<dyn BufRead + Send>> {
    path: std::path::PathBuf,
    compression: crate::formats::lines::Compression,
    inner: fasta::io::Reader<crate::formats::lines::LineCounter<R>>,
    chunk_len: usize,
    open: Option<OpenRecord>,
    seen: HashMap<Arc<str>, u64>,
    finished: Vec<ChromSummary>,
    upper: Vec<u8>,
    at_end: bool,
}

impl FastaReader {
    /// Opens `path`; chunks hold up to `chunk_len` bases.
    pub fn open(path: &std::path::Path, chunk_len: usize) -> Result<Self> {
        Ok(FastaReader::from_lines(InputFile::open(path)?, chunk_len))
    }
}

impl<R: BufRead> FastaReader<R> {
    /// Chunks of `inner`, which errors call `name`.
    pub fn new(inner: R, name: impl Into<std::path::PathBuf>, chunk_len: usize) -> Self {
        FastaReader::from_lines(LineReader::new(inner, name), chunk_len)
    }

    fn from_lines(input: LineReader<R>, chunk_len: usize) -> Self {
        FastaReader {
            path: input.path,
            compression: input.compression,
            inner: fasta::io::Reader::new(input.reader),
            chunk_len: chunk_len.max(1),
            open: None,
            seen: HashMap::new(),
            finished: Vec::new(),
            upper: Vec::new(),
            at_end: false,
        }
    }

    /// Records read to their end so far, in file order.
    pub fn summaries(&self) -> &[ChromSummary] {
        &self.finished
    }

    pub fn into_summaries(self) -> Vec<ChromSummary> {
        self.finished
    }

    fn line(&self) -> u64 {
        self.inner.get_ref().line()
    }

    fn here(&self) -> Location {
        let loc = Location::line(&self.path, self.line());
        match &self.open {
            Some(r) => loc.with_record(r.name.to_string()),
            None => loc,
        }
    }

    fn read_error(&self, source: std::io::Error) -> Error {
        crate::formats::lines::read_failed(self.here(), self.compression, source)
    }

    /// The next chunk, or `None` at the end of the file.
    pub fn next_chunk(&mut self) -> Result<Option<SequenceChunk>> {
        loop {
            if self.at_end {
                return Ok(None);
            }
            if self.open.is_none() && !self.start_record()? {
                self.at_end = true;
                if self.finished.is_empty() {
                    return Err(Error::parse(
                        Location::file(&self.path),
                        "no FASTA records: the file is empty, expected a '>' header line",
                    ));
                }
                return Ok(None);
            }
            let mut bases = Vec::with_capacity(self.chunk_len);
            self.fill(&mut bases)?;
            let record = self.open.as_mut().expect("a record is open");
            if bases.is_empty() {
                self.finish_record()?;
                continue;
            }
            let chunk = SequenceChunk {
                chrom: record.name.clone(),
                start: record.next_start,
                bases,
            };
            record.next_start += chunk.bases.len() as u64;
            return Ok(Some(chunk));
        }
    }

    /// Reads the next header line; false at the end of the file.
    fn start_record(&mut self) -> Result<bool> {
        // Skip blank lines between records.
        loop {
            enum Next {
                End,
                Blank(usize),
                Header,
                Other(String),
                Failed(std::io::Error),
            }
            let next = match self.inner.get_mut().fill_buf() {
                Err(e) => Next::Failed(e),
                Ok(buf) => match buf.first() {
                    None => Next::End,
                    Some(b'\n') | Some(b'\r') => Next::Blank(
                        buf.iter()
                            .take_while(|&&b| b == b'\n' || b == b'\r')
                            .count(),
                    ),
                    Some(b'>') => Next::Header,
                    Some(_) => Next::Other(describe_line(buf)),
                },
            };
            match next {
                Next::End => return Ok(false),
                Next::Blank(n) => self.inner.get_mut().consume(n),
                Next::Header => break,
                Next::Failed(e) => return Err(self.read_error(e)),
                Next::Other(preview) => {
                    let what = if self.finished.is_empty() {
                        "expected a FASTA header line starting with '>'"
                    } else {
                        "expected a '>' header line"
                    };
                    return Err(Error::parse(
                        self.here(),
                        format!("{what}, found {preview}"),
                    ));
                }
            }
        }
        let header_line = self.line();
        let mut definition = fasta::record::Definition::default();
        self.inner
            .read_definition(&mut definition)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::InvalidData => Error::parse(
                    Location::line(&self.path, header_line),
                    format!("malformed header line: {e}, expected '>NAME [DESCRIPTION]'"),
                ),
                _ => self.read_error(e),
            })?;
        let name = std::str::from_utf8(definition.name().as_ref())
            .map_err(|_| {
                Error::parse(
                    Location::line(&self.path, header_line),
                    "the sequence name is not valid UTF-8",
                )
            })?
            .to_string();
        if name.is_empty() {
            return Err(Error::parse(
                Location::line(&self.path, header_line),
                "empty sequence name, expected '>NAME'",
            ));
        }
        let name: Arc<str> = Arc::from(name);
        if let Some(first) = self.seen.get(&name) {
            return Err(Error::parse(
                Location::line(&self.path, header_line).with_record(name.to_string()),
                format!(
                    "a second record named '{name}' (the first is at line {first}); sequence names must be unique"
                ),
            ));
        }
        self.seen.insert(name.clone(), header_line);
        self.open = Some(OpenRecord {
            name,
            header_line,
            next_start: 0,
            md5: Md5::new(),
            n_bases: 0,
            iupac_bases: 0,
            masked_bases: 0,
        });
        Ok(true)
    }

    /// Appends up to `chunk_len` normalized bases of the open record to `out`;
    /// leaves `out` empty at the end of the record.
    fn fill(&mut self, out: &mut Vec<u8>) -> Result<()> {
        let (class, stored) = &TABLES;
        while out.len() < self.chunk_len {
            let (taken, bad) = {
                let mut sequence = self.inner.sequence_reader();
                let buf = match sequence.fill_buf() {
                    Ok(buf) => buf,
                    Err(e) => return Err(self.read_error(e)),
                };
                if buf.is_empty() {
                    break;
                }
                let take = buf.len().min(self.chunk_len - out.len());
                let record = self.open.as_mut().expect("a record is open");
                self.upper.clear();
                let mut bad = None;
                for (i, &b) in buf[..take].iter().enumerate() {
                    match class[b as usize] {
                        BASE => {
                            out.push(b);
                            self.upper.push(b);
                            record.n_bases += u64::from(b == b'N');
                        }
                        MASKED => {
                            let s = stored[b as usize];
                            out.push(s);
                            self.upper.push(s);
                            record.masked_bases += 1;
                            record.n_bases += u64::from(s == b'N');
                        }
                        IUPAC | MASKED_IUPAC => {
                            out.push(b'N');
                            self.upper.push(b & !0x20);
                            record.iupac_bases += 1;
                            record.n_bases += 1;
                            record.masked_bases += u64::from(class[b as usize] == MASKED_IUPAC);
                        }
                        SKIP => {}
                        _ => {
                            bad = Some((i, b));
                            break;
                        }
                    }
                }
                record.md5.update(&self.upper);
                let taken = bad.map_or(take, |(i, _)| i);
                sequence.consume(taken);
                (taken, bad)
            };
            if let Some((_, b)) = bad {
                let shown = if b.is_ascii_graphic() {
                    format!("'{}'", b as char)
                } else {
                    format!("byte 0x{b:02x}")
                };
                let what = if b == 0 || !b.is_ascii() {
                    " (binary data?)"
                } else {
                    ""
                };
                return Err(Error::parse(
                    self.here(),
                    format!(
                        "invalid base {shown}{what} at sequence offset {}; expected A, C, G, T, N or an IUPAC code",
                        self.open.as_ref().map_or(0, |r| r.next_start) + out.len() as u64
                    ),
                ));
            }
            let _ = taken;
        }
        Ok(())
    }

    fn finish_record(&mut self) -> Result<()> {
        let record = self.open.take().expect("a record is open");
        if record.next_start == 0 {
            return Err(Error::parse(
                Location::line(&self.path, record.header_line).with_record(record.name.to_string()),
                "the record has no sequence, expected sequence lines after the header",
            ));
        }
        let digest = record.md5.finalize();
        self.finished.push(ChromSummary {
            name: record.name.to_string(),
            length: record.next_start,
            md5: digest.iter().map(|b| format!("{b:02x}")).collect(),
            rank: self.finished.len() as u32,
            n_bases: record.n_bases,
            iupac_bases: record.iupac_bases,
            masked_bases: record.masked_bases,
            header_line: record.header_line,
        });
        Ok(())
    }
}

/// A short, printable account of a line that should have been a header.
fn describe_line(buf: &[u8]) -> String {
    let line = &buf[..buf
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(buf.len())
        .min(40)];
    if line
        .iter()
        .any(|&b| b == 0 || (!b.is_ascii_graphic() && !b" \t\r".contains(&b)))
    {
        "binary data, not FASTA text".to_string()
    } else {
        format!("'{}'", String::from_utf8_lossy(line).trim_end())
    }
}

impl<R: BufRead> Iterator for FastaReader<R> {
    type Item = Result<SequenceChunk>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_chunk().transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(text: &[u8], chunk_len: usize) -> Result<(Vec<SequenceChunk>, Vec<ChromSummary>)> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.fa");
        std::fs::write(&path, text).unwrap();
        let mut reader = FastaReader::open(&path, chunk_len)?;
        let mut chunks = Vec::new();
        while let Some(c) = reader.next_chunk()? {
            chunks.push(c);
        }
        Ok((chunks, reader.into_summaries()))
    }

    fn error_of(text: &[u8]) -> String {
        read_all(text, 8).unwrap_err().to_string()
    }

    #[test]
    fn records_are_chunked_folded_and_counted() {
        let (chunks, sums) =
            read_all(b">chr1 desc\nACGTacgt\nNNRY\n\n>chr2\r\nGGCC\r\n", 5).unwrap();
        let seqs: Vec<(&str, u64, &[u8])> = chunks
            .iter()
            .map(|c| (&*c.chrom, c.start, c.bases.as_slice()))
            .collect();
        assert_eq!(
            seqs,
            vec![
                ("chr1", 0, &b"ACGTA"[..]),
                ("chr1", 5, &b"CGTNN"[..]),
                ("chr1", 10, &b"NN"[..]),
                ("chr2", 0, &b"GGCC"[..]),
            ]
        );
        assert_eq!(sums.len(), 2);
        assert_eq!(sums[0].name, "chr1");
        assert_eq!(sums[0].length, 12);
        assert_eq!(sums[0].n_bases, 4);
        assert_eq!(sums[0].iupac_bases, 2);
        assert_eq!(sums[0].masked_bases, 4);
        assert_eq!(sums[0].header_line, 1);
        assert_eq!(sums[1].header_line, 5);
        // md5 of "ACGTACGTNNRY", the SAM M5 convention.
        let want: String = Md5::digest(b"ACGTACGTNNRY")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(sums[0].md5, want);
    }

    #[test]
    fn malformed_files_say_where() {
        let e = error_of(b"ACGT\n>a\nACGT\n");
        assert!(
            e.ends_with("t.fa:1: expected a FASTA header line starting with '>', found 'ACGT'"),
            "{e}"
        );
        let e = error_of(b">a\nACGT\n>b\nAC\n>a\nGG\n");
        assert!(e.ends_with(":5 (record 'a'): a second record named 'a' (the first is at line 1); sequence names must be unique"), "{e}");
        let e = error_of(b">a\nACGT\nAC*T\n");
        assert!(
            e.contains(":3 (record 'a'): invalid base '*' at sequence offset 6"),
            "{e}"
        );
        let e = error_of(b"");
        assert!(
            e.ends_with("no FASTA records: the file is empty, expected a '>' header line"),
            "{e}"
        );
        let e = error_of(b"\x00\x01\x02binary\xff");
        assert!(e.ends_with(":1: expected a FASTA header line starting with '>', found binary data, not FASTA text"), "{e}");
        let e = error_of(b">a\nAC\x00T\n");
        assert!(e.contains("invalid base byte 0x00 (binary data?)"), "{e}");
        let e = error_of(b">a\n>b\nACGT\n");
        assert!(e.ends_with(":1 (record 'a'): the record has no sequence, expected sequence lines after the header"), "{e}");
    }
}
