//! `dnabench ingest genes`: GTF, GFF3 or BED (name = gene id, strand in
//! column 6) into `genes`, with the strand-aware TSS.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use arrow::array::{Int64Array, RecordBatch, StringArray};

use super::sources::{append_file_rows, ingested_from, FileIngestReport};
use super::tracks::{
    check_intervals, chrom_names, file_md5, sort_records, IntervalRecord, OnInvalid,
};
use crate::error::{Location, Result};
use crate::fields::Fields;
use crate::gff::{read_gff3, read_gtf, GeneRecord};
use crate::input::InputFile;
use crate::store::Store;

impl IntervalRecord for GeneRecord {
    fn chrom(&self) -> &str {
        &self.chrom
    }
    fn set_chrom(&mut self, chrom: String) {
        self.chrom = chrom;
    }
    fn start(&self) -> i64 {
        self.start
    }
    fn end(&self) -> i64 {
        self.end
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
fn read_bed_genes(path: &Path) -> Result<Vec<(u64, GeneRecord)>> {
    let mut input = InputFile::open(path)?;
    let mut buf = Vec::new();
    let mut out = Vec::new();
    while let Some((number, line)) = input.read_line(&mut buf)? {
        let t = line.trim_start();
        if t.is_empty() || t.starts_with('#') || t.starts_with("track") || t.starts_with("browser")
        {
            continue;
        }
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
                feature: "gene",
                biotype: None,
            },
        ));
    }
    Ok(out)
}

/// Ingests the genes of `path` into `store` in one commit.
pub async fn ingest_genes(
    store: &Store,
    path: &Path,
    on_invalid: OnInvalid,
) -> Result<FileIngestReport> {
    let started = Instant::now();
    let mut report = FileIngestReport {
        tables: vec!["genes"],
        path: path.to_path_buf(),
        ..Default::default()
    };
    let md5 = file_md5(path)?;
    if let Some(from) = ingested_from(store, "genes", &md5).await? {
        report.already_from = Some(from);
        return Ok(report);
    }
    let format = GeneFormat::of(path);
    let mut records = match format {
        GeneFormat::Gtf => read_gtf(path)?,
        GeneFormat::Gff3 => read_gff3(path)?,
        GeneFormat::Bed => read_bed_genes(path)?,
    };
    let names = chrom_names(store).await?;
    if !names.is_checked() {
        report
            .warnings
            .push("the store has no genome: gene chromosomes and bounds were not checked".into());
    }
    let mut skipped = BTreeMap::new();
    report.rows = check_intervals(&mut records, &names, on_invalid, &mut skipped, &|line| {
        Location::line(path, line)
    })?;
    report.skipped = skipped;
    let unstranded = records.iter().filter(|(_, g)| g.strand == ".").count();
    if unstranded > 0 {
        report.warnings.push(format!(
            "{unstranded} genes have no strand; their TSS is taken as their start"
        ));
    }
    sort_records(&mut records, &names);
    let rows: Vec<GeneRecord> = records.into_iter().map(|(_, g)| g).collect();
    if !rows.is_empty() {
        append_file_rows(
            store,
            "genes",
            dnabench_schemas::genes_schema(),
            vec![genes_batch(&rows)?],
            path,
            &md5,
        )
        .await?;
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
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
