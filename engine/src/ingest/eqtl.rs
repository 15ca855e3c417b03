//! `dnabench ingest eqtl`: GTEx v8 fine-mapping (DAPG) tables into `eqtl`,
//! and their variants (`chrN_POS_REF_ALT_b38`) into `variants`.
//!
//! Columns are found by header name: tissue (`tissue`, `tissue_id`), gene
//! (`gene_id`, `gene`), variant (`variant_id`, `variant`), PIP (`pip`,
//! `variant_pip`, `posterior`), and optionally `cluster_id`, `cluster_pip`.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{Float64Array, RecordBatch, StringArray};

use super::sources::{append_file_rows, FileIngest, FileIngestReport};
use super::tracks::{IntervalRecord, OnInvalid};
use super::variants::{new_variants, variants_batch};
use crate::error::{Location, Result};
use crate::formats::lines::InputFile;
use crate::formats::lines::{Fields, Header};
use crate::formats::vcf::VariantRecord;
use crate::store::Store;

/// One fine-mapped variant–gene pair in one tissue.
#[derive(Debug, Clone)]
pub struct EqtlRecord {
    pub variant: VariantRecord,
    pub gene_id: String,
    pub tissue: String,
    pub pip: f64,
    pub cluster_id: Option<String>,
    pub cluster_pip: Option<f64>,
}

impl IntervalRecord for EqtlRecord {
    fn chrom(&self) -> &str {
        self.variant.chrom()
    }
    fn set_chrom(&mut self, chrom: String) {
        self.variant.set_chrom(chrom)
    }
    fn start(&self) -> i64 {
        self.variant.start()
    }
    fn end(&self) -> i64 {
        self.variant.end()
    }
}

/// Parses a GTEx variant id, `chr1_13550_G_A_b38`, into an allele (0-based).
pub fn parse_gtex_variant(id: &str) -> Option<VariantRecord> {
    let id = id
        .strip_suffix("_b38")
        .or_else(|| id.strip_suffix("_b37"))
        .unwrap_or(id);
    let mut parts = id.rsplitn(4, '_');
    let alt = parts.next()?;
    let reference = parts.next()?;
    let pos: i64 = parts.next()?.parse().ok()?;
    let chrom = parts.next()?;
    let bases = |s: &str| !s.is_empty() && s.bytes().all(|b| b"ACGTN".contains(&b));
    if pos < 1 || chrom.is_empty() || !bases(reference) || !bases(alt) {
        return None;
    }
    Some(VariantRecord::new(
        None,
        chrom.to_string(),
        pos - 1,
        reference.to_string(),
        alt.to_string(),
    ))
}

/// Where each field is in a fine-mapping table.
struct EqtlColumns {
    count: usize,
    tissue: usize,
    gene: usize,
    variant: usize,
    pip: usize,
    cluster: Option<usize>,
    cluster_pip: Option<usize>,
}

/// Reads a fine-mapping table (tab-separated, header first).
pub fn read_eqtl(path: &Path) -> Result<Vec<(u64, EqtlRecord)>> {
    let mut input = InputFile::open(path)?;
    let mut buf = Vec::new();
    let mut out = Vec::new();
    let mut columns = None;
    while let Some((number, line)) = input.read_line(&mut buf)? {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let location = Location::line(path, number);
        let Some(c) = &columns else {
            let header = Header::parse(line, '\t', location);
            columns = Some(EqtlColumns {
                count: header.len(),
                tissue: header.require("tissue", &["tissue", "tissue_id"])?,
                gene: header.require("gene", &["gene_id", "gene"])?,
                variant: header.require("variant", &["variant_id", "variant"])?,
                pip: header.require("PIP", &["pip", "variant_pip", "posterior"])?,
                cluster: header.find(&["cluster_id", "cluster"]),
                cluster_pip: header.find(&["cluster_pip"]),
            });
            continue;
        };
        let f = Fields::split(line, path, number, &[]);
        if f.len() != c.count {
            return Err(f.error(format!(
                "{} tab-separated columns, expected {} as in the header",
                f.len(),
                c.count
            )));
        }
        let id = f.required(c.variant)?;
        let v = parse_gtex_variant(id).ok_or_else(|| {
            f.error(format!(
                "variant id '{id}' is not of the form chrN_POS_REF_ALT_b38"
            ))
        })?;
        let pip_value = f.float(c.pip)?;
        if !(0.0..=1.0).contains(&pip_value) {
            return Err(f.error(format!("PIP {pip_value} is not a probability (0 to 1)")));
        }
        out.push((
            number,
            EqtlRecord {
                variant: v,
                gene_id: f.required(c.gene)?.to_string(),
                tissue: f.required(c.tissue)?.to_string(),
                pip: pip_value,
                cluster_id: match c.cluster {
                    Some(i) => f.optional(i)?.map(str::to_string),
                    None => None,
                },
                cluster_pip: match c.cluster_pip {
                    Some(i) => f.optional_float(i)?,
                    None => None,
                },
            },
        ));
    }
    if columns.is_none() {
        return Err(crate::Error::parse(
            Location::file(path),
            "the file is empty, expected a header line (tissue, gene_id, variant_id, pip)",
        ));
    }
    Ok(out)
}

/// Ingests a fine-mapping table: new variants first, then the eQTL rows.
pub async fn ingest_eqtl(
    store: &Store,
    path: &Path,
    on_invalid: OnInvalid,
) -> Result<FileIngestReport> {
    let mut ingest = match FileIngest::begin(
        store,
        path,
        vec!["eqtl", "variants"],
        "variant positions",
    )
    .await?
    {
        Ok(ingest) => ingest,
        Err(done) => return Ok(done),
    };
    let mut records = read_eqtl(path)?;
    ingest.check(&mut records, on_invalid)?;
    let rows: Vec<EqtlRecord> = records.into_iter().map(|(_, r)| r).collect();
    let variants = new_variants(
        store,
        rows.iter().map(|r| r.variant.clone()),
        &mut ingest.report,
    )
    .await?;
    // Variants seen again within the file are not news.
    ingest.report.skipped.remove("already in variants");
    if !variants.is_empty() {
        append_file_rows(
            store,
            "variants",
            dnabench_schemas::variants_schema(),
            vec![variants_batch(&variants, &path.display().to_string())?],
            path,
            &ingest.md5,
        )
        .await?;
    }
    ingest.report.rows = rows.len() as u64;
    if !rows.is_empty() {
        let batch = RecordBatch::try_new(
            dnabench_schemas::eqtl_schema(),
            vec![
                Arc::new(StringArray::from_iter_values(
                    rows.iter().map(|r| r.variant.variant_id.as_str()),
                )),
                Arc::new(StringArray::from_iter_values(
                    rows.iter().map(|r| r.gene_id.as_str()),
                )),
                Arc::new(StringArray::from_iter_values(
                    rows.iter().map(|r| r.tissue.as_str()),
                )),
                Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.pip))),
                Arc::new(
                    rows.iter()
                        .map(|r| r.cluster_id.as_deref())
                        .collect::<StringArray>(),
                ),
                Arc::new(rows.iter().map(|r| r.cluster_pip).collect::<Float64Array>()),
            ],
        )?;
        append_file_rows(
            store,
            "eqtl",
            dnabench_schemas::eqtl_schema(),
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
    fn gtex_ids_become_0_based_alleles() {
        let v = parse_gtex_variant("chr1_13550_G_A_b38").unwrap();
        assert_eq!(
            (
                v.chrom.as_str(),
                v.pos,
                v.reference.as_str(),
                v.alt.as_str()
            ),
            ("chr1", 13549, "G", "A")
        );
        assert_eq!(v.variant_id, "chr1_13550_G_A");
        assert!(parse_gtex_variant("chr1_x_G_A_b38").is_none());
        assert!(parse_gtex_variant("rs123").is_none());
    }

    #[test]
    fn bad_tables_say_where() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.txt");
        let write_and_read = |text: &str| {
            std::fs::write(&p, text).unwrap();
            read_eqtl(&p).map(|r| r.len()).map_err(|e| e.to_string())
        };
        let head = "tissue_id\tgene_id\tcluster_id\tcluster_pip\tvariant_id\tvariant_pip\n";
        assert_eq!(
            write_and_read(&format!(
                "{head}Liver\tENSG1\t1\t0.9\tchr1_5_A_G_b38\t0.95\n"
            )),
            Ok(1)
        );
        let e = write_and_read(&format!(
            "{head}Liver\tENSG1\t1\t0.9\tchr1_5_A_G_b38\t1.5\n"
        ))
        .unwrap_err();
        assert!(
            e.ends_with("f.txt:2: PIP 1.5 is not a probability (0 to 1)"),
            "{e}"
        );
        let e = write_and_read(&format!("{head}Liver\tENSG1\t1\t0.9\trs5\t0.5\n")).unwrap_err();
        assert!(
            e.contains("f.txt:2: variant id 'rs5' is not of the form"),
            "{e}"
        );
        let e = write_and_read("tissue\tgene\tpip\n").unwrap_err();
        assert!(
            e.contains("f.txt:1: the header has no variant column"),
            "{e}"
        );
        let e = write_and_read(&format!("{head}Liver\tENSG1\n")).unwrap_err();
        assert!(
            e.contains("f.txt:2: 2 tab-separated columns, expected 6"),
            "{e}"
        );
    }
}
