//! `dnabench ingest genes`: GTF, GFF3 or BED (name = gene id, strand in
//! column 6) into `genes`, with the strand-aware TSS.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{Int64Array, RecordBatch, StringArray};

use super::sources::{append_file_rows, FileIngest, FileIngestReport};
use super::tracks::{interval_record, OnInvalid};
use crate::error::{Error, Result};
use crate::formats::gff::{GeneRecord, Gff3Reader, GtfReader};
use crate::formats::lines::{Fields, InputFile};
use crate::liftover::{Liftable, Lifted, Liftover};
use crate::store::Store;

interval_record!(GeneRecord);

impl Liftable for GeneRecord {
    fn move_to(&mut self, to: Lifted) {
        self.chrom = to.chrom;
        self.start = to.start;
        self.end = to.end;
        if to.reverse {
            self.strand = match self.strand {
                "+" => "-",
                "-" => "+",
                other => other,
            };
        }
    }
}

/// Gene annotation layouts, told by the file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeneFormat {
    Gtf,
    Gff3,
    Bed,
}

impl GeneFormat {
    pub fn of(path: &Path) -> GeneFormat {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        let name = name.trim_end_matches(".gz").trim_end_matches(".bgz");
        if name.ends_with(".gtf") {
            GeneFormat::Gtf
        } else if name.ends_with(".gff") || name.ends_with(".gff3") {
            GeneFormat::Gff3
        } else {
            GeneFormat::Bed
        }
    }
}

const BED_COLUMNS: [&str; 6] = ["chrom", "start", "end", "name", "score", "strand"];

/// Reads genes from BED: chrom, start, end, name, [score], [strand]. The gene
/// id is the name (column 4, or column 5 when column 4 is `.` and column 5 is
/// not a score, as in Selene's GENCODE file); no strand column means `.`.
fn read_bed_genes(path: &Path, feature: &'static str) -> Result<Vec<(u64, GeneRecord)>> {
    let mut input = InputFile::open(path)?;
    let mut buf = Vec::new();
    let mut out = Vec::new();
    while let Some((number, line)) = input.read_record_line(&mut buf)? {
        let f = Fields::split(line, path, number, &BED_COLUMNS);
        if f.len() < 4 {
            return Err(f.error(format!(
                "{} tab-separated columns, expected at least 4 (chrom, start, end, name)",
                f.len()
            )));
        }
        let mut name = f.optional(3)?;
        if name.is_none() && f.len() >= 5 && f.optional_float(4).is_err() {
            name = f.optional(4)?;
        }
        let strand = if f.len() >= 6 {
            f.strand(5)?.unwrap_or(".")
        } else {
            "."
        };
        let (chrom, start, end) = (f.required(0)?, f.coordinate(1)?, f.coordinate(2)?);
        out.push((
            number,
            GeneRecord {
                gene_id: name.map_or_else(|| format!("{chrom}:{start}-{end}"), str::to_string),
                name: name.map(str::to_string),
                chrom: chrom.to_string(),
                start,
                end,
                strand,
                feature,
                biotype: None,
            },
        ));
    }
    Ok(out)
}

/// The `feature` a BED's rows can be given: `gene` (the default), or `tss`
/// for a list of transcription start sites (EPD's promoters), so a task can
/// read one source of the `genes` table and not another.
pub const BED_FEATURES: &[&str] = &["gene", "tss"];

/// `name` as one of [`BED_FEATURES`].
pub fn bed_feature(name: &str) -> Result<&'static str> {
    BED_FEATURES
        .iter()
        .copied()
        .find(|f| *f == name)
        .ok_or_else(|| {
            Error::Invalid(format!(
                "a BED's genes can be given feature {}, not '{name}'",
                BED_FEATURES.join(" or ")
            ))
        })
}

/// Ingests the genes of `path` into `store` in one commit.
pub async fn ingest_genes(
    store: &Store,
    path: &Path,
    on_invalid: OnInvalid,
    liftover: Option<&Liftover>,
    bed_feature: &'static str,
) -> Result<FileIngestReport> {
    let mut ingest =
        match FileIngest::begin(store, path, vec!["genes"], "gene chromosomes and bounds").await? {
            Ok(ingest) => ingest,
            Err(done) => return Ok(done),
        };
    let mut records = match GeneFormat::of(path) {
        GeneFormat::Gtf => GtfReader::open(path)?.collect::<Result<_>>()?,
        GeneFormat::Gff3 => Gff3Reader::open(path)?.collect::<Result<_>>()?,
        GeneFormat::Bed => read_bed_genes(path, bed_feature)?,
    };
    ingest.lift(&mut records, liftover)?;
    ingest.report.rows = ingest.check(&mut records, on_invalid)?;
    let unstranded = records.iter().filter(|(_, g)| g.strand == ".").count();
    if unstranded > 0 {
        ingest.report.warnings.push(format!(
            "{unstranded} genes have no strand; their TSS is taken as their start"
        ));
    }
    let rows: Vec<GeneRecord> = records.into_iter().map(|(_, g)| g).collect();
    if !rows.is_empty() {
        append_file_rows(
            store,
            "genes",
            dnabench_schemas::genes_schema(),
            vec![genes_batch(&rows)?],
            path,
            &ingest.md5,
        )
        .await?;
    }
    Ok(ingest.finish())
}

pub fn genes_batch(rows: &[GeneRecord]) -> Result<RecordBatch> {
    Ok(RecordBatch::try_new(
        dnabench_schemas::genes_schema(),
        vec![
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|g| g.gene_id.as_str()),
            )),
            Arc::new(
                rows.iter()
                    .map(|g| g.name.as_deref())
                    .collect::<StringArray>(),
            ),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|g| g.chrom.as_str()),
            )),
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|g| g.start))),
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|g| g.end))),
            Arc::new(StringArray::from_iter_values(rows.iter().map(|g| g.strand))),
            Arc::new(Int64Array::from_iter_values(
                rows.iter().map(GeneRecord::tss),
            )),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|g| g.feature),
            )),
            Arc::new(
                rows.iter()
                    .map(|g| g.biotype.as_deref())
                    .collect::<StringArray>(),
            ),
        ],
    )?)
}
