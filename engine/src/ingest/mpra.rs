//! `dnabench ingest mpra`: saturation-mutagenesis tables (Kircher et al. 2019
//! layout) into `mpra`. Tab- or comma-separated with a header; columns found
//! by name: chromosome (`chromosome`, `chrom`, `chr`), 1-based `position`
//! (`pos`), `ref`, `alt`, `tags`, `dna`, `rna`, log2 effect (`value`,
//! `log2_effect`, `log2fc`), `p_value` (`pvalue`), and `element`. SNVs and
//! small indels are kept; a task's SQL chooses SNVs.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{Float64Array, Int32Array, Int64Array, RecordBatch, StringArray};

use super::sources::{append_file_rows, FileIngest, FileIngestReport};
use super::tracks::{IntervalRecord, OnInvalid};
use crate::error::{Error, Location, Result};
use crate::formats::lines::InputFile;
use crate::formats::lines::{Fields, Header};
use crate::store::Store;

/// One measured mutation; `pos` is 0-based. A deletion has `alt` `-`, an
/// insertion `ref` `-`, as the source tables write them.
#[derive(Debug, Clone, PartialEq)]
pub struct MpraRecord {
    pub element: String,
    pub chrom: String,
    pub pos: i64,
    pub reference: String,
    pub alt: String,
    pub tags: Option<i32>,
    pub dna: Option<f64>,
    pub rna: Option<f64>,
    pub log2_effect: f64,
    pub p_value: Option<f64>,
}

impl IntervalRecord for MpraRecord {
    fn chrom(&self) -> &str {
        &self.chrom
    }
    fn set_chrom(&mut self, chrom: String) {
        self.chrom = chrom;
    }
    fn start(&self) -> i64 {
        self.pos
    }
    fn end(&self) -> i64 {
        self.pos + self.reference.trim_matches('-').len().max(1) as i64
    }
}

fn allele(f: &Fields, i: usize) -> Result<String> {
    let s = f.required(i)?.to_ascii_uppercase();
    if s.bytes().all(|b| b"ACGTN-".contains(&b)) {
        Ok(s)
    } else {
        Err(f.error(format!(
            "column {} ({s}): expected bases (ACGTN) or '-'",
            i + 1
        )))
    }
}

/// Where the fields are: chromosome, position, ref, alt, log2 effect
/// (required); element, tags, DNA, RNA, p-value (optional).
struct MpraColumns {
    separator: char,
    count: usize,
    required: [usize; 5],
    optional: [Option<usize>; 5],
}

/// Reads an MPRA table.
pub fn read_mpra(path: &Path) -> Result<Vec<(u64, MpraRecord)>> {
    let mut input = InputFile::open(path)?;
    let mut buf = Vec::new();
    let mut out = Vec::new();
    let mut layout: Option<MpraColumns> = None;
    while let Some((number, line)) = input.read_line(&mut buf)? {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let location = Location::line(path, number);
        let Some(MpraColumns {
            separator: sep,
            count,
            required: req,
            optional: opt,
        }) = &layout
        else {
            let separator = if line.contains('\t') { '\t' } else { ',' };
            let h = Header::parse(line, separator, location);
            layout = Some(MpraColumns {
                separator,
                count: h.len(),
                required: [
                    h.require("chromosome", &["chromosome", "chrom", "chr"])?,
                    h.require("position", &["position", "pos"])?,
                    h.require("ref", &["ref", "reference"])?,
                    h.require("alt", &["alt", "alternative"])?,
                    h.require("log2 effect", &["value", "log2_effect", "log2fc", "log2"])?,
                ],
                optional: [
                    h.find(&["element", "element_id", "name"]),
                    h.find(&["tags", "barcodes"]),
                    h.find(&["dna"]),
                    h.find(&["rna"]),
                    h.find(&["p_value", "pvalue", "p"]),
                ],
            });
            continue;
        };
        let line = if *sep == ',' {
            line.replace(',', "\t")
        } else {
            line.to_string()
        };
        let f = Fields::split(&line, path, number, &[]);
        if f.len() != *count {
            return Err(f.error(format!(
                "{} columns, expected {count} as in the header",
                f.len()
            )));
        }
        let position = f.int(req[1])?;
        if position < 1 {
            return Err(f.error(format!(
                "position {position}: expected a 1-based position (1 or more)"
            )));
        }
        let opt_float = |i: Option<usize>| match i {
            Some(i) => f.optional_float(i),
            None => Ok(None),
        };
        let tags = match opt[1] {
            Some(i) => f.optional_float(i)?.map(|v| v as i32),
            None => None,
        };
        let chrom = f.required(req[0])?;
        out.push((
            number,
            MpraRecord {
                element: match opt[0] {
                    Some(i) => f.required(i)?.to_string(),
                    None => String::from("."),
                },
                chrom: chrom.to_string(),
                pos: position - 1,
                reference: allele(&f, req[2])?,
                alt: allele(&f, req[3])?,
                tags,
                dna: opt_float(opt[2])?,
                rna: opt_float(opt[3])?,
                log2_effect: f.float(req[4])?,
                p_value: opt_float(opt[4])?,
            },
        ));
    }
    if layout.is_none() {
        return Err(Error::parse(
            Location::file(path),
            "the file is empty, expected a header line",
        ));
    }
    Ok(out)
}

/// Ingests an MPRA table in one commit.
pub async fn ingest_mpra(
    store: &Store,
    path: &Path,
    on_invalid: OnInvalid,
) -> Result<FileIngestReport> {
    let mut ingest = match FileIngest::begin(store, path, vec!["mpra"], "MPRA positions").await? {
        Ok(ingest) => ingest,
        Err(done) => return Ok(done),
    };
    let mut records = read_mpra(path)?;
    ingest.report.rows = ingest.check(&mut records, on_invalid)?;
    let rows: Vec<MpraRecord> = records.into_iter().map(|(_, r)| r).collect();
    if !rows.is_empty() {
        let batch = RecordBatch::try_new(
            dnabench_schemas::mpra_schema(),
            vec![
                Arc::new(StringArray::from_iter_values(
                    rows.iter().map(|r| r.element.as_str()),
                )),
                Arc::new(StringArray::from_iter_values(
                    rows.iter().map(|r| r.chrom.as_str()),
                )),
                Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.pos))),
                Arc::new(StringArray::from_iter_values(
                    rows.iter().map(|r| r.reference.as_str()),
                )),
                Arc::new(StringArray::from_iter_values(
                    rows.iter().map(|r| r.alt.as_str()),
                )),
                Arc::new(rows.iter().map(|r| r.tags).collect::<Int32Array>()),
                Arc::new(rows.iter().map(|r| r.dna).collect::<Float64Array>()),
                Arc::new(rows.iter().map(|r| r.rna).collect::<Float64Array>()),
                Arc::new(Float64Array::from_iter_values(
                    rows.iter().map(|r| r.log2_effect),
                )),
                Arc::new(rows.iter().map(|r| r.p_value).collect::<Float64Array>()),
            ],
        )?;
        append_file_rows(
            store,
            "mpra",
            dnabench_schemas::mpra_schema(),
            vec![batch],
            path,
            &ingest.md5,
        )
        .await?;
    }
    Ok(ingest.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_read_by_header_and_bad_rows_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.tsv");
        let head = "Chromosome\tPosition\tRef\tAlt\tTags\tDNA\tRNA\tValue\tP-Value\tElement\n";
        std::fs::write(&p, format!("{head}1\t100\tA\tG\t12\t0.5\t0.7\t-0.3\t0.01\tF9\n1\t101\tC\t-\t3\t1\t1\t0.1\t0.5\tF9\n")).unwrap();
        let rows = read_mpra(&p).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].1.chrom.as_str(), rows[0].1.pos), ("1", 99));
        assert_eq!(rows[1].1.alt, "-");
        assert_eq!(rows[0].1.tags, Some(12));
        std::fs::write(
            &p,
            format!("{head}1\t0\tA\tG\t12\t0.5\t0.7\t-0.3\t0.01\tF9\n"),
        )
        .unwrap();
        let e = read_mpra(&p).unwrap_err().to_string();
        assert!(
            e.ends_with("m.tsv:2: position 0: expected a 1-based position (1 or more)"),
            "{e}"
        );
        std::fs::write(
            &p,
            format!("{head}1\t5\tA\tZ\t12\t0.5\t0.7\t-0.3\t0.01\tF9\n"),
        )
        .unwrap();
        assert!(read_mpra(&p)
            .unwrap_err()
            .to_string()
            .contains("expected bases"));
        std::fs::write(
            &p,
            format!("{head}1\t5\tA\tG\t12\t0.5\t0.7\tbig\t0.01\tF9\n"),
        )
        .unwrap();
        assert!(read_mpra(&p)
            .unwrap_err()
            .to_string()
            .contains("expected a number, found 'big'"));
        std::fs::write(&p, "Chromosome\tRef\tAlt\n").unwrap();
        assert!(read_mpra(&p)
            .unwrap_err()
            .to_string()
            .contains("m.tsv:1: the header has no position column"));
    }
}
