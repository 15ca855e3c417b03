//! Opening input files: plain, gzip, BGZF or zstd, told apart by their first
//! bytes rather than their names, with the line count kept for errors.

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

/// An opened input file.
pub struct InputFile {
    pub path: PathBuf,
    pub compression: Compression,
    pub reader: LineCounter<Box<dyn BufRead + Send>>,
}

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
        Ok(InputFile {
            path: path.to_path_buf(),
            compression,
            reader: LineCounter::new(reader),
        })
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
}
