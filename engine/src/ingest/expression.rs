//! `dnabench ingest expression`: ExPecto's layout, a gene annotation table
//! (id, symbol, chrom, strand, TSS) and an expression matrix (one row per gene,
//! one column per sample, log RPKM), CSV or TSV; or both in one wide table.
//! Each sample becomes a track of kind `expression`; values go to
//! `expression` (long: gene, track, value) and the annotation to `genes`.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use arrow::array::{Float64Array, Int32Array, RecordBatch, StringArray};

use super::genes::genes_batch;
use super::sources::{append_file_rows, ingested_from, FileIngestReport};
use super::tracks::{
    check_intervals, chrom_names, existing_tracks, file_md5, remove_orphans, tracks_batch,
    OnInvalid, TrackRow,
};
use crate::error::{Error, Location, Result};
use crate::formats::gff::GeneRecord;
use crate::formats::lines::InputFile;
use crate::formats::lines::{Fields, Header};
use crate::store::Store;

const ID: &[&str] = &["gene_id", "id", "ensembl_id", "gene"];
const SYMBOL: &[&str] = &["symbol", "gene_name", "name"];
const CHROM: &[&str] = &["chrom", "chr", "chromosome"];
const STRAND: &[&str] = &["strand"];
const TSS: &[&str] = &["tss", "cage_representative_tss", "tss_position"];

/// A parsed table: its header and rows of fields, with line numbers.
struct Table {
    header: Header,
    separator: char,
    rows: Vec<(u64, String)>,
}

fn read_table(path: &Path) -> Result<Table> {
    let mut input = InputFile::open(path)?;
    let mut buf = Vec::new();
    let mut header = None;
    let mut rows = Vec::new();
    let mut separator = '\t';
    while let Some((number, line)) = input.read_line(&mut buf)? {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        if header.is_none() {
            separator = if line.contains('\t') { '\t' } else { ',' };
            header = Some(Header::parse(line, separator, Location::line(path, number)));
        } else {
            rows.push((number, line.to_string()));
        }
    }
    let header = header.ok_or_else(|| {
        Error::parse(
            Location::file(path),
            "the file is empty, expected a header line",
        )
    })?;
    Ok(Table {
        header,
        separator,
        rows,
    })
}

fn fields<'a>(
    table: &Table,
    path: &'a Path,
    number: u64,
    line: &'a str,
    owned: &'a mut String,
) -> Result<Fields<'a>> {
    let text: &'a str = if table.separator == ',' {
        *owned = line.replace(',', "\t");
        owned.as_str()
    } else {
        line
    };
    let f = Fields::split(text, path, number, &[]);
    if f.len() != table.header.len() {
        return Err(f.error(format!(
            "{} columns, expected {} as in the header",
            f.len(),
            table.header.len()
        )));
    }
    Ok(f)
}

/// Reads gene annotation rows (id, symbol, chrom, strand, TSS 1-based as ExPecto writes it).
fn read_annotation(path: &Path, table: &Table) -> Result<Vec<(u64, GeneRecord)>> {
    let h = &table.header;
    let (id, chrom, strand, tss) = (
        h.require("gene id", ID)?,
        h.require("chromosome", CHROM)?,
        h.require("strand", STRAND)?,
        h.require("TSS", TSS)?,
    );
    let symbol = h.find(SYMBOL);
    let mut out = Vec::new();
    for (number, line) in &table.rows {
        let mut owned = String::new();
        let f = fields(table, path, *number, line, &mut owned)?;
        let position = f.int(tss)?;
        if position < 1 {
            return Err(f.error(format!("TSS {position}: expected a 1-based position")));
        }
        let strand = f
            .strand(strand)?
            .ok_or_else(|| f.error("the strand is '.', expected '+' or '-' for a TSS"))?;
        out.push((
            *number,
            GeneRecord {
                gene_id: f.required(id)?.to_string(),
                name: match symbol {
                    Some(i) => f.optional(i)?.map(str::to_string),
                    None => None,
                },
                chrom: f.required(chrom)?.to_string(),
                start: position - 1,
                end: position,
                strand,
                feature: "gene",
                biotype: None,
            },
        ));
    }
    Ok(out)
}

/// Ingests an expression matrix (with its annotation from `genes`, or from
/// its own columns when it is one wide table).
pub async fn ingest_expression(
    store: &Store,
    matrix_path: &Path,
    genes_path: Option<&Path>,
    on_invalid: OnInvalid,
) -> Result<FileIngestReport> {
    let started = Instant::now();
    let mut report = FileIngestReport {
        tables: vec!["tracks", "expression", "genes"],
        path: matrix_path.to_path_buf(),
        ..Default::default()
    };
    let md5 = file_md5(matrix_path)?;
    let known = existing_tracks(store).await?;
    if let Some((_, name)) = known.get(&md5) {
        report.already_from = Some(format!("track '{name}'"));
        return Ok(report);
    }
    let matrix = read_table(matrix_path)?;
    let annotation_columns = [ID, SYMBOL, CHROM, STRAND, TSS];
    let (genes, genes_source) = match genes_path {
        Some(g) => (read_annotation(g, &read_table(g)?)?, Some(g)),
        None if matrix.header.find(TSS).is_some() => {
            (read_annotation(matrix_path, &matrix)?, Some(matrix_path))
        }
        None => (Vec::new(), None),
    };
    let id_column = matrix.header.require("gene id", ID)?;
    let is_annotation = |i: usize| {
        i == id_column
            || (genes_path.is_none()
                && annotation_columns
                    .iter()
                    .any(|names| matrix.header.find(names) == Some(i)))
    };
    let samples: Vec<(usize, String)> = matrix
        .header
        .names()
        .iter()
        .enumerate()
        .filter(|(i, _)| !is_annotation(*i))
        .map(|(i, n)| (i, n.clone()))
        .collect();
    if samples.is_empty() {
        return Err(Error::parse(
            Location::line(matrix_path, 1),
            "no sample columns: expected a gene id column followed by one column per sample",
        ));
    }

    remove_orphans(store, known.max_id).await?;
    let track_ids: Vec<i32> = (1..=samples.len() as i32)
        .map(|i| known.max_id + i)
        .collect();
    let mut gene_ids = Vec::new();
    let mut sample_ids = Vec::new();
    let mut values = Vec::new();
    let mut per_track: HashMap<i32, i64> = HashMap::new();
    let mut missing = 0u64;
    for (number, line) in &matrix.rows {
        let mut owned = String::new();
        let f = fields(&matrix, matrix_path, *number, line, &mut owned)?;
        let gene = f.required(id_column)?;
        for ((column, _), track) in samples.iter().zip(&track_ids) {
            match f.optional_float(*column)? {
                Some(v) => {
                    gene_ids.push(gene.to_string());
                    sample_ids.push(*track);
                    values.push(v);
                    *per_track.entry(*track).or_default() += 1;
                }
                None => missing += 1,
            }
        }
    }
    if missing > 0 {
        report
            .skipped
            .insert("missing values (NA or empty)".into(), missing);
    }
    report.rows = values.len() as u64;

    let mut genes = genes;
    if let Some(source) = genes_source {
        let names = chrom_names(store).await?;
        let mut skipped = BTreeMap::new();
        check_intervals(&mut genes, &names, on_invalid, &mut skipped, &|line| {
            Location::line(source, line)
        })?;
        report.skipped.extend(skipped);
    }
    let expression = RecordBatch::try_new(
        dnabench_schemas::expression_schema(),
        vec![
            Arc::new(StringArray::from(gene_ids)),
            Arc::new(Int32Array::from(sample_ids)),
            Arc::new(Float64Array::from(values)),
        ],
    )?;
    let tracks: Vec<TrackRow> = samples
        .iter()
        .zip(&track_ids)
        .map(|((_, name), id)| TrackRow {
            track_id: *id,
            name: name.clone(),
            kind: "expression",
            assay: Some("RNA-seq".to_string()),
            biosample: Some(name.clone()),
            format: "expression matrix".to_string(),
            source: matrix_path.display().to_string(),
            content_md5: md5.clone(),
            rows: per_track.get(id).copied().unwrap_or(0),
        })
        .collect();
    // Genes first (recorded by content), then values, then the tracks that own them.
    if let Some(source) = genes_source {
        let genes_md5 = file_md5(source)?;
        if ingested_from(store, "genes", &genes_md5).await?.is_none() && !genes.is_empty() {
            let rows: Vec<GeneRecord> = genes.into_iter().map(|(_, g)| g).collect();
            append_file_rows(
                store,
                "genes",
                dnabench_schemas::genes_schema(),
                vec![genes_batch(&rows)?],
                source,
                &genes_md5,
            )
            .await?;
        }
    }
    store
        .append(
            "expression",
            dnabench_schemas::expression_schema(),
            vec![expression],
        )
        .await?;
    store
        .append(
            "tracks",
            dnabench_schemas::tracks_schema(),
            vec![tracks_batch(&tracks)?],
        )
        .await?;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}
