//! GTF and GFF3 (via noodles): gene and transcript records with their
//! strand-aware transcription start sites. 1-based closed coordinates become
//! 0-based half-open here, once.

use std::path::Path;

use noodles::gff::feature::record::Strand;

use crate::error::{Error, Location, Result};
use crate::input::{read_failed, InputFile};

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

/// Reads the gene and transcript records of a GTF file (`gene_id`,
/// `gene_name`, `gene_type` or `gene_biotype` attributes).
pub fn read_gtf(path: &Path) -> Result<Vec<(u64, GeneRecord)>> {
    let input = InputFile::open(path)?;
    let compression = input.compression;
    let mut reader = noodles::gtf::io::Reader::new(input.reader);
    let mut line = noodles::gtf::Line::default();
    let mut out = Vec::new();
    loop {
        let number = reader.get_ref().line();
        match reader.read_line(&mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => return Err(read_failed(Location::line(path, number), compression, e)),
        }
        let Some(record) = line.as_record() else {
            continue;
        };
        let record = record.map_err(|e| bad(path, number, format!("malformed GTF record: {e}")))?;
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
        out.push((
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
        ));
    }
    Ok(out)
}

/// Reads the gene and mRNA/transcript records of a GFF3 file; a
/// transcript's gene is its `Parent`.
pub fn read_gff3(path: &Path) -> Result<Vec<(u64, GeneRecord)>> {
    let input = InputFile::open(path)?;
    let compression = input.compression;
    let mut reader = noodles::gff::io::Reader::new(input.reader);
    let mut line = noodles::gff::Line::default();
    let mut out = Vec::new();
    loop {
        let number = reader.get_ref().line();
        match reader.read_line(&mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => return Err(read_failed(Location::line(path, number), compression, e)),
        }
        // ##FASTA ends the features of a GFF3 file.
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
        out.push((
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
        ));
    }
    Ok(out)
}
