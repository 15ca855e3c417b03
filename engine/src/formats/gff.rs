//! GTF and GFF3 (via noodles): gene and transcript records with their
//! strand-aware transcription start sites. 1-based closed coordinates become
//! 0-based half-open here, once.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use noodles::gff::feature::record::Strand;

use crate::error::{Error, Location, Result};
use crate::formats::lines::{read_failed, Compression, InputFile, LineCounter, LineReader};

/// A gene or transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneRecord {
    pub gene_id: String,
    pub name: Option<String>,
    pub chrom: String,
    pub start: i64,
    pub end: i64,
    /// `+`, `-`, or `.` when the file gives none.
    pub strand: &'static str,
    /// `gene` or `transcript`.
    pub feature: &'static str,
    pub biotype: Option<String>,
}

impl GeneRecord {
    /// The first base on the record's own strand (`start` when unstranded).
    pub fn tss(&self) -> i64 {
        if self.strand == "-" {
            self.end - 1
        } else {
            self.start
        }
    }
}

fn strand_of(s: Strand) -> &'static str {
    match s {
        Strand::Forward => "+",
        Strand::Reverse => "-",
        _ => ".",
    }
}

/// The feature kinds kept, and how they are stored.
fn feature_of(ty: &[u8]) -> Option<&'static str> {
    match ty {
        b"gene" => Some("gene"),
        b"transcript" | b"mRNA" => Some("transcript"),
        _ => None,
    }
}

/// 0-based half-open coordinates and strand from a record's 1-based fields.
fn interval(
    path: &Path,
    line: u64,
    start: std::io::Result<noodles::core::Position>,
    end: std::io::Result<noodles::core::Position>,
    strand: std::io::Result<Strand>,
) -> Result<(i64, i64, &'static str)> {
    let start = start.map_err(|e| {
        bad(
            path,
            line,
            format!("column 4 (start): {e}, expected a 1-based position"),
        )
    })?;
    let end = end.map_err(|e| {
        bad(
            path,
            line,
            format!("column 5 (end): {e}, expected a 1-based position"),
        )
    })?;
    let strand = strand.map_err(|e| {
        bad(
            path,
            line,
            format!("column 7 (strand): {e}, expected '+', '-' or '.'"),
        )
    })?;
    Ok((start.get() as i64 - 1, end.get() as i64, strand_of(strand)))
}

fn bad(path: &Path, line: u64, message: impl std::fmt::Display) -> Error {
    Error::parse(Location::line(path, line), message.to_string())
}

/// A GTF or GFF3 reader's common state: the line reader's name and
/// compression, for errors.
struct Source {
    path: PathBuf,
    compression: Compression,
}

macro_rules! reader_constructors {
    ($reader:ident, $noodles:path) => {
        impl $reader {
            pub fn open(path: &Path) -> Result<Self> {
                Ok($reader::from_lines(InputFile::open(path)?))
            }
        }

        impl<R: BufRead> $reader<R> {
            /// Records of `inner`, which errors call `name`.
            pub fn new(inner: R, name: impl Into<PathBuf>) -> Self {
                $reader::from_lines(LineReader::new(inner, name))
            }

            fn from_lines(input: LineReader<R>) -> Self {
                $reader {
                    source: Source {
                        path: input.path,
                        compression: input.compression,
                    },
                    inner: <$noodles>::new(input.reader),
                    line: Default::default(),
                }
            }
        }

        impl<R: BufRead> $reader<R> {
            /// Reads the next line into `self.line`: its number, or `None`
            /// at the end.
            fn next_line(&mut self) -> Result<Option<u64>> {
                let number = self.inner.get_ref().line();
                match self.inner.read_line(&mut self.line) {
                    Ok(0) => Ok(None),
                    Ok(_) => Ok(Some(number)),
                    Err(e) => Err(read_failed(
                        Location::line(&self.source.path, number),
                        self.source.compression,
                        e,
                    )),
                }
            }
        }

        records_iterator!($reader<R>, GeneRecord);
    };
}

/// Reads the gene and transcript records of a GTF file (`gene_id`,
/// `gene_name`, `gene_type` or `gene_biotype` attributes); other features
/// are passed over.
pub struct GtfReader<R = Box<dyn BufRead + Send>> {
    source: Source,
    inner: noodles::gtf::io::Reader<LineCounter<R>>,
    line: noodles::gtf::Line,
}

reader_constructors!(GtfReader, noodles::gtf::io::Reader<LineCounter<R>>);

impl<R: BufRead> GtfReader<R> {
    /// The next gene or transcript and its line, or `None` at the end.
    pub fn read_record(&mut self) -> Result<Option<(u64, GeneRecord)>> {
        while let Some(number) = self.next_line()? {
            let (path, line) = (self.source.path.as_path(), &self.line);
            let Some(record) = line.as_record() else {
                continue;
            };
            let record =
                record.map_err(|e| bad(path, number, format!("malformed GTF record: {e}")))?;
            let Some(feature) = feature_of(record.ty()) else {
                continue;
            };
            let (start, end, strand) =
                interval(path, number, record.start(), record.end(), record.strand())?;
            let attributes = record
                .attributes()
                .map_err(|e| bad(path, number, format!("column 9 (attributes): {e}")))?;
            let attr = |key: &[u8]| -> Option<String> {
                match attributes.get(key)? {
                    Ok(v) => v.iter().next().map(|s| s.to_string()),
                    Err(_) => None,
                }
            };
            let gene_id = attr(b"gene_id").ok_or_else(|| {
                bad(
                    path,
                    number,
                    "the record has no gene_id attribute, which GTF requires",
                )
            })?;
            return Ok(Some((
                number,
                GeneRecord {
                    gene_id,
                    name: attr(b"gene_name"),
                    chrom: record.reference_sequence_name().to_string(),
                    start,
                    end,
                    strand,
                    feature,
                    biotype: attr(b"gene_type").or_else(|| attr(b"gene_biotype")),
                },
            )));
        }
        Ok(None)
    }
}

/// Reads the gene and mRNA/transcript records of a GFF3 file; a
/// transcript's gene is its `Parent`. `##FASTA` ends the features.
pub struct Gff3Reader<R = Box<dyn BufRead + Send>> {
    source: Source,
    inner: noodles::gff::io::Reader<LineCounter<R>>,
    line: noodles::gff::Line,
}

reader_constructors!(Gff3Reader, noodles::gff::io::Reader<LineCounter<R>>);

impl<R: BufRead> Gff3Reader<R> {
    /// The next gene or transcript and its line, or `None` at the end.
    pub fn read_record(&mut self) -> Result<Option<(u64, GeneRecord)>> {
        while let Some(number) = self.next_line()? {
            let (path, line) = (self.source.path.as_path(), &self.line);
            if line.as_ref().starts_with(b"##FASTA") {
                break;
            }
            let Some(record) = line.as_record() else {
                continue;
            };
            let record =
                record.map_err(|e| bad(path, number, format!("malformed GFF3 record: {e}")))?;
            let Some(feature) = feature_of(record.ty().as_ref()) else {
                continue;
            };
            let (start, end, strand) =
                interval(path, number, record.start(), record.end(), record.strand())?;
            let attributes = record.attributes();
            let attr = |key: &[u8]| -> Option<String> {
                // A multi-valued attribute reads as its raw text ("a,b").
                attributes.get(key)?.ok().map(|v| v.as_ref().to_string())
            };
            let own_id = match feature {
                "gene" => attr(b"gene_id").or_else(|| attr(b"ID")),
                _ => attr(b"gene_id").or_else(|| attr(b"Parent")),
            };
            let gene_id = own_id.ok_or_else(|| {
                bad(
                    path,
                    number,
                    format!("the {feature} has no ID (or Parent) attribute"),
                )
            })?;
            let gene_id = gene_id
                .strip_prefix("gene:")
                .unwrap_or(&gene_id)
                .to_string();
            return Ok(Some((
                number,
                GeneRecord {
                    gene_id,
                    name: attr(b"gene_name").or_else(|| attr(b"Name")),
                    chrom: record.reference_sequence_name().to_string(),
                    start,
                    end,
                    strand,
                    feature,
                    biotype: attr(b"gene_type")
                        .or_else(|| attr(b"gene_biotype"))
                        .or_else(|| attr(b"biotype")),
                },
            )));
        }
        Ok(None)
    }
}
