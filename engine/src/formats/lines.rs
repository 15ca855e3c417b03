//! The line plumbing every text format shares: opening a file (plain,
//! gzip, BGZF or zstd, told apart by their first bytes rather than their
//! names), reading it line by line with the line number kept for errors,
//! and splitting a tab-separated line into fields whose errors name the
//! file, the line, the column and what was expected.

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use crate::error::{Error, Location, Result};

/// How an input file is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    /// Blocked gzip (as written by `bgzip`): gzip members with a `BC` extra field.
    Bgzf,
    Zstd,
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Compression::None => "plain",
            Compression::Gzip => "gzip",
            Compression::Bgzf => "BGZF",
            Compression::Zstd => "zstd",
        })
    }
}

impl Compression {
    /// Tells the compression from the first bytes of a file.
    pub fn detect(head: &[u8]) -> Compression {
        const GZIP: [u8; 2] = [0x1f, 0x8b];
        const ZSTD: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
        if head.starts_with(&ZSTD) {
            Compression::Zstd
        } else if head.starts_with(&GZIP) {
            // BGZF sets FEXTRA (flag bit 2) and the first subfield is 'B','C'.
            let fextra = head.get(3).is_some_and(|flags| flags & 0x04 != 0);
            if fextra && head.get(12..14) == Some(b"BC".as_slice()) {
                Compression::Bgzf
            } else {
                Compression::Gzip
            }
        } else {
            Compression::None
        }
    }
}

/// A [`BufRead`] that counts the line feeds it has handed out, so a parser on
/// top of it can say which line it is on.
pub struct LineCounter<R> {
    inner: R,
    line_feeds: u64,
}

impl<R: BufRead> LineCounter<R> {
    pub fn new(inner: R) -> Self {
        LineCounter {
            inner,
            line_feeds: 0,
        }
    }

    /// The 1-based number of the line the next byte belongs to.
    pub fn line(&self) -> u64 {
        self.line_feeds + 1
    }
}

impl<R: BufRead> Read for LineCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = {
            let available = self.fill_buf()?;
            let n = available.len().min(buf.len());
            buf[..n].copy_from_slice(&available[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for LineCounter<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        if let Ok(buf) = self.inner.fill_buf() {
            let n = amt.min(buf.len());
            self.line_feeds += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
        }
        self.inner.consume(amt);
    }
}

/// Lines of a text input: the reader, the name its errors give, and how it
/// was compressed (for the message of a read that fails mid-stream).
pub struct LineReader<R> {
    pub path: PathBuf,
    pub compression: Compression,
    pub reader: LineCounter<R>,
}

/// An input file opened by [`InputFile::open`].
pub type InputFile = LineReader<Box<dyn BufRead + Send>>;

impl InputFile {
    /// Opens `path`, decompressing as its first bytes say.
    pub fn open(path: &Path) -> Result<InputFile> {
        let open_error = |source| Error::Open {
            path: path.to_path_buf(),
            source,
        };
        let metadata = std::fs::metadata(path).map_err(open_error)?;
        if metadata.is_dir() {
            return Err(open_error(io::Error::new(
                io::ErrorKind::InvalidInput,
                "it is a directory, expected a file",
            )));
        }
        let mut file = BufReader::with_capacity(1 << 20, File::open(path).map_err(open_error)?);
        let compression = Compression::detect(file.fill_buf().map_err(open_error)?);
        let reader: Box<dyn BufRead + Send> = match compression {
            Compression::None => Box::new(file),
            Compression::Gzip => Box::new(BufReader::with_capacity(
                1 << 20,
                flate2::bufread::MultiGzDecoder::new(file),
            )),
            Compression::Bgzf => Box::new(noodles::bgzf::io::Reader::new(file)),
            Compression::Zstd => Box::new(BufReader::with_capacity(
                1 << 20,
                zstd::stream::read::Decoder::with_buffer(file).map_err(open_error)?,
            )),
        };
        Ok(LineReader {
            path: path.to_path_buf(),
            compression,
            reader: LineCounter::new(reader),
        })
    }
}

impl<R: BufRead> LineReader<R> {
    /// Lines of `inner`, already decompressed; `name` is what errors call
    /// it (a file name, or `<stdin>`).
    pub fn new(inner: R, name: impl Into<PathBuf>) -> Self {
        LineReader {
            path: name.into(),
            compression: Compression::None,
            reader: LineCounter::new(inner),
        }
    }

    /// Reads the next line into `buf` without its line ending; returns its
    /// 1-based number, or `None` at the end of the file. A line that is not
    /// UTF-8 text is an error naming it.
    pub fn read_line<'b>(&mut self, buf: &'b mut Vec<u8>) -> Result<Option<(u64, &'b str)>> {
        buf.clear();
        let number = self.reader.line();
        match self.reader.read_until(b'\n', buf) {
            Ok(0) => return Ok(None),
            Ok(_) => {}
            Err(e) => return Err(self.read_error(e)),
        }
        while matches!(buf.last(), Some(b'\n' | b'\r')) {
            buf.pop();
        }
        match std::str::from_utf8(buf) {
            Ok(line) => Ok(Some((number, line))),
            Err(_) => Err(Error::parse(
                Location::line(&self.path, number),
                "the line is not UTF-8 text (is this a binary file?)",
            )),
        }
    }

    /// Like [`InputFile::read_line`], skipping blank lines and the header
    /// lines of BED-like files (`#…`, `track …`, `browser …`).
    pub fn read_record_line<'b>(&mut self, buf: &'b mut Vec<u8>) -> Result<Option<(u64, &'b str)>> {
        loop {
            let (number, is_record) = match self.read_line(buf)? {
                None => return Ok(None),
                Some((number, line)) => {
                    let t = line.trim_start();
                    let header = t.is_empty()
                        || t.starts_with('#')
                        || t.starts_with("track")
                        || t.starts_with("browser");
                    (number, !header)
                }
            };
            if is_record {
                // Re-borrow: the line is still in `buf`.
                return Ok(Some((number, std::str::from_utf8(buf).unwrap_or_default())));
            }
        }
    }

    /// The place of the next unread byte.
    pub fn location(&self) -> Location {
        Location::line(&self.path, self.reader.line())
    }

    /// An error for a failed read at the current place.
    pub fn read_error(&self, source: io::Error) -> Error {
        read_failed(self.location(), self.compression, source)
    }
}

/// An error for a read that failed at `location`; a failure inside a
/// compressed stream almost always means the file is truncated or corrupt.
pub fn read_failed(location: Location, compression: Compression, source: io::Error) -> Error {
    let message = match compression {
        Compression::None => format!("read failed: {source}"),
        c => format!("the {c} stream is truncated or corrupt: {source}"),
    };
    Error::parse(location, message)
}

// Fields of a tab-separated line, and header lines.

/// The fields of one line of a tab-separated file, and where it came from.
pub struct Fields<'a> {
    path: &'a Path,
    line: u64,
    fields: Vec<&'a str>,
    names: &'a [&'a str],
}

impl<'a> Fields<'a> {
    /// Splits `text`, line `line` of `path`, on tabs; `names` names the
    /// columns for error messages.
    pub fn split(text: &'a str, path: &'a Path, line: u64, names: &'a [&'a str]) -> Self {
        Fields {
            path,
            line,
            fields: text.split('\t').collect(),
            names,
        }
    }

    /// Where the line is (built only when an error needs it).
    pub fn location(&self) -> Location {
        Location::line(self.path, self.line)
    }

    pub fn len(&self) -> usize {
        self.fields.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    fn name(&self, i: usize) -> String {
        match self.names.get(i) {
            Some(n) => format!("column {} ({n})", i + 1),
            None => format!("column {}", i + 1),
        }
    }

    pub fn error(&self, message: impl Into<String>) -> Error {
        Error::parse(self.location(), message)
    }

    fn bad(&self, i: usize, expected: &str) -> Error {
        self.error(format!(
            "{}: expected {expected}, found '{}'",
            self.name(i),
            self.fields.get(i).copied().unwrap_or("")
        ))
    }

    /// The raw text of field `i`.
    pub fn str(&self, i: usize) -> crate::Result<&'a str> {
        self.fields
            .get(i)
            .copied()
            .ok_or_else(|| self.error(format!("{} is missing", self.name(i))))
    }

    /// A non-empty string.
    pub fn required(&self, i: usize) -> crate::Result<&'a str> {
        let s = self.str(i)?;
        if s.is_empty() {
            return Err(self.bad(i, "a value"));
        }
        Ok(s)
    }

    /// A string, `None` for an empty field or `.`.
    pub fn optional(&self, i: usize) -> crate::Result<Option<&'a str>> {
        let s = self.str(i)?;
        Ok((!s.is_empty() && s != ".").then_some(s))
    }

    /// A non-negative integer coordinate.
    pub fn coordinate(&self, i: usize) -> crate::Result<i64> {
        let s = self.str(i)?;
        match s.trim().parse::<i64>() {
            Ok(v) if v >= 0 => Ok(v),
            _ => Err(self.bad(i, "a non-negative integer")),
        }
    }

    /// An integer.
    pub fn int(&self, i: usize) -> crate::Result<i64> {
        self.str(i)?
            .trim()
            .parse::<i64>()
            .map_err(|_| self.bad(i, "an integer"))
    }

    /// A finite or infinite number (not NaN).
    pub fn float(&self, i: usize) -> crate::Result<f64> {
        match self.str(i)?.trim().parse::<f64>() {
            Ok(v) if !v.is_nan() => Ok(v),
            _ => Err(self.bad(i, "a number")),
        }
    }

    /// A number, `None` for `.`, an empty field or `NA`.
    pub fn optional_float(&self, i: usize) -> crate::Result<Option<f64>> {
        let s = self.str(i)?.trim();
        if s.is_empty() || s == "." || s.eq_ignore_ascii_case("na") || s.eq_ignore_ascii_case("nan")
        {
            return Ok(None);
        }
        self.float(i).map(Some)
    }

    /// `+` or `-`; `None` for `.`.
    pub fn strand(&self, i: usize) -> crate::Result<Option<&'static str>> {
        match self.str(i)?.trim() {
            "+" => Ok(Some("+")),
            "-" => Ok(Some("-")),
            "." | "" => Ok(None),
            _ => Err(self.bad(i, "a strand: '+', '-' or '.'")),
        }
    }

    /// A comma-separated list of integers (a trailing comma is allowed, as UCSC writes it).
    pub fn int_list(&self, i: usize) -> crate::Result<Vec<i64>> {
        let s = self.str(i)?.trim().trim_end_matches(',');
        if s.is_empty() {
            return Ok(Vec::new());
        }
        s.split(',')
            .map(|v| v.trim().parse::<i64>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| self.bad(i, "a comma-separated list of integers"))
    }
}

/// The columns of a header line, found by any of their accepted names.
pub struct Header {
    pub location: Location,
    /// As written, for sample names.
    names: Vec<String>,
    /// Lower-cased, for matching.
    keys: Vec<String>,
}

impl Header {
    /// Splits a tab- or comma-separated header; names compare case-insensitively.
    pub fn parse(line: &str, separator: char, location: Location) -> Header {
        let names: Vec<String> = line
            .split(separator)
            .map(|n| n.trim().trim_matches('"').to_string())
            .collect();
        Header {
            location,
            keys: names.iter().map(|n| n.to_ascii_lowercase()).collect(),
            names,
        }
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The index of the first column called any of `accepted`.
    pub fn find(&self, accepted: &[&str]) -> Option<usize> {
        accepted
            .iter()
            .find_map(|a| self.keys.iter().position(|n| n == a))
    }

    /// Like [`Header::find`], but a missing column is an error naming what was expected.
    pub fn require(&self, what: &str, accepted: &[&str]) -> crate::Result<usize> {
        self.find(accepted).ok_or_else(|| {
            Error::parse(
                self.location.clone(),
                format!(
                    "the header has no {what} column (expected one named {}; found {})",
                    accepted.join(" or "),
                    self.names.join(", ")
                ),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn the_line_counter_follows_consumed_line_feeds() {
        let mut r = LineCounter::new(&b"a\nbb\n\nccc"[..]);
        assert_eq!(r.line(), 1);
        let mut s = String::new();
        r.read_line(&mut s).unwrap();
        assert_eq!(r.line(), 2);
        r.read_line(&mut s).unwrap();
        r.read_line(&mut s).unwrap();
        assert_eq!(r.line(), 4);
    }

    #[test]
    fn compression_is_told_by_content_not_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let text = b">a\nACGT\n";

        let plain = dir.path().join("x.gz");
        std::fs::write(&plain, text).unwrap();

        let gz = dir.path().join("x.fa");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(text).unwrap();
        std::fs::write(&gz, enc.finish().unwrap()).unwrap();

        let bgzf = dir.path().join("x.bgz");
        let mut w = noodles::bgzf::io::Writer::new(Vec::new());
        w.write_all(text).unwrap();
        std::fs::write(&bgzf, w.finish().unwrap()).unwrap();

        let zst = dir.path().join("x.zst");
        std::fs::write(&zst, zstd::encode_all(&text[..], 1).unwrap()).unwrap();

        for (path, want) in [
            (&plain, Compression::None),
            (&gz, Compression::Gzip),
            (&bgzf, Compression::Bgzf),
            (&zst, Compression::Zstd),
        ] {
            let mut input = InputFile::open(path).unwrap();
            assert_eq!(input.compression, want, "{}", path.display());
            let mut back = Vec::new();
            input.reader.read_to_end(&mut back).unwrap();
            assert_eq!(back, text);
        }
    }

    #[test]
    fn a_missing_file_is_named() {
        let err = InputFile::open(Path::new("/no/such/file.fa"))
            .err()
            .unwrap();
        assert!(
            err.to_string().starts_with("cannot open /no/such/file.fa:"),
            "{err}"
        );
    }

    #[test]
    fn each_kind_of_bad_field_names_line_column_and_expectation() {
        let names = ["chrom", "start", "end", "name", "score", "strand"];
        let f = Fields::split("chr1\t-5\tx\t.\tNA\t*", Path::new("p.bed"), 7, &names);
        assert_eq!(
            f.coordinate(1).unwrap_err().to_string(),
            "p.bed:7: column 2 (start): expected a non-negative integer, found '-5'"
        );
        assert!(f
            .coordinate(2)
            .unwrap_err()
            .to_string()
            .contains("found 'x'"));
        assert_eq!(f.optional(3).unwrap(), None);
        assert_eq!(f.optional_float(4).unwrap(), None);
        assert!(f
            .strand(5)
            .unwrap_err()
            .to_string()
            .contains("expected a strand"));
        assert!(f
            .str(9)
            .unwrap_err()
            .to_string()
            .contains("column 10 is missing"));
        let f = Fields::split("10,20,\t1,x", Path::new("p.bed"), 1, &[]);
        assert_eq!(f.int_list(0).unwrap(), vec![10, 20]);
        assert!(f.int_list(1).is_err());
    }
}
