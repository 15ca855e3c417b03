//! `dnabench ingest eqtl`: GTEx v8 fine-mapping (DAPG) tables into `eqtl`,
//! and their variants (`chrN_POS_REF_ALT_b38`) into `variants`.
//!
//! Columns are found by header name: tissue (`tissue`, `tissue_id`), gene
//! (`gene_id`, `gene`), variant (`variant_id`, `variant`), PIP (`pip`,
//! `variant_pip`, `posterior`), and optionally `cluster_id`, `cluster_pip`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use arrow::array::{Float64Array, RecordBatch, StringArray};

use super::sources::{append_file_stream, FileIngest, FileIngestReport};
use super::tracks::{check_intervals, IntervalRecord, OnInvalid};
use super::variants::{existing_variant_hashes, variant_hash, variants_batch};
use crate::chrom_names::ChromNames;
use crate::error::{Location, Result};
use crate::formats::lines::InputFile;
use crate::formats::lines::{Fields, Header};
use crate::formats::vcf::VariantRecord;
use crate::liftover::{lift_records, Liftable, Lifted, Liftover, UnmappedRows};
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

impl Liftable for EqtlRecord {
    fn move_to(&mut self, to: Lifted) {
        self.variant.move_to(to);
    }
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

/// A fine-mapping table (tab-separated, header first), a record at a time.
pub struct EqtlReader {
    path: std::path::PathBuf,
    input: InputFile,
    buf: Vec<u8>,
    columns: Option<EqtlColumns>,
}

impl EqtlReader {
    pub fn open(path: &Path) -> Result<EqtlReader> {
        Ok(EqtlReader {
            path: path.to_path_buf(),
            input: InputFile::open(path)?,
            buf: Vec::new(),
            columns: None,
        })
    }

    /// The next record and its line, or `None` at the end of the file.
    pub fn read_record(&mut self) -> Result<Option<(u64, EqtlRecord)>> {
        let path = self.path.as_path();
        while let Some((number, line)) = self.input.read_line(&mut self.buf)? {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let location = Location::line(path, number);
            let Some(c) = &self.columns else {
                let header = Header::parse(line, '\t', location);
                self.columns = Some(EqtlColumns {
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
            let record = EqtlRecord {
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
            };
            return Ok(Some((number, record)));
        }
        if self.columns.is_none() {
            return Err(crate::Error::parse(
                Location::file(path),
                "the file is empty, expected a header line (tissue, gene_id, variant_id, pip)",
            ));
        }
        Ok(None)
    }

    /// Up to `rows` records.
    fn read_chunk(&mut self, rows: usize) -> Result<Vec<(u64, EqtlRecord)>> {
        let mut out = Vec::with_capacity(rows.min(1 << 16));
        while out.len() < rows {
            match self.read_record()? {
                Some(r) => out.push(r),
                None => break,
            }
        }
        Ok(out)
    }
}

/// Records read, checked and written at a time: GTEx's table has tens of
/// millions of rows, more than memory holds as records.
const ROWS_PER_CHUNK: usize = 250_000;

/// Ingests a fine-mapping table in two streaming passes, each one commit:
/// its new variants, then its eQTL rows. A crash between the two leaves
/// variants no row names, which the next ingest of the file skips.
pub async fn ingest_eqtl(
    store: &Store,
    path: &Path,
    on_invalid: OnInvalid,
    liftover: Option<Arc<Liftover>>,
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
    let mut seen = existing_variant_hashes(store).await?;
    let names = ingest.names.clone();
    let source = path.display().to_string();
    let lift = liftover.map(|l| (l, Arc::new(Mutex::new(UnmappedRows::default()))));
    let chunks = checked_chunks(
        path,
        ROWS_PER_CHUNK,
        names.clone(),
        on_invalid,
        None,
        lift.as_ref().map(|(l, _)| (l.clone(), None)),
    )?;
    let variants = chunks.filter_map(move |chunk| {
        let new: Vec<VariantRecord> = match chunk {
            Ok(rows) => rows
                .into_iter()
                .filter(|(_, r)| seen.insert(variant_hash(&r.variant.variant_id)))
                .map(|(_, r)| r.variant)
                .collect(),
            Err(e) => return Some(Err(e)),
        };
        (!new.is_empty()).then(|| variants_batch(&new, &source))
    });
    let schema = dnabench_schemas::variants_schema();
    append_file_stream(store, "variants", schema, variants, path, &ingest.md5).await?;
    let skipped = Arc::new(Mutex::new(BTreeMap::new()));
    let chunks = checked_chunks(
        path,
        ROWS_PER_CHUNK,
        names,
        on_invalid,
        Some(skipped.clone()),
        lift.as_ref().map(|(l, u)| (l.clone(), Some(u.clone()))),
    )?;
    let eqtl = chunks.filter_map(|chunk| match chunk {
        Ok(rows) if rows.is_empty() => None,
        Ok(rows) => Some(eqtl_batch(&rows)),
        Err(e) => Some(Err(e)),
    });
    let schema = dnabench_schemas::eqtl_schema();
    ingest.report.rows = append_file_stream(store, "eqtl", schema, eqtl, path, &ingest.md5).await?;
    ingest.report.skipped = std::mem::take(&mut *skipped.lock().unwrap_or_else(|p| p.into_inner()));
    if let Some((_, unmapped)) = &lift {
        let unmapped = std::mem::take(&mut *unmapped.lock().unwrap_or_else(|p| p.into_inner()));
        ingest.record_unmapped(&unmapped)?;
    }
    Ok(ingest.finish())
}

/// Rows moved by a liftover, and where those that do not map are listed
/// (on one of the file's two passes).
type ChunkLift = (Arc<Liftover>, Option<Arc<Mutex<UnmappedRows>>>);

/// The file's records, `chunk_rows` at a time, lifted over when asked, with
/// names and bounds checked (skips counted into `skipped`, when given).
fn checked_chunks(
    path: &Path,
    chunk_rows: usize,
    names: ChromNames,
    on_invalid: OnInvalid,
    skipped: Option<Arc<Mutex<BTreeMap<String, u64>>>>,
    lift: Option<ChunkLift>,
) -> Result<impl Iterator<Item = Result<Vec<(u64, EqtlRecord)>>> + Send + 'static> {
    let mut reader = EqtlReader::open(path)?;
    let path = path.to_path_buf();
    let mut done = false;
    Ok(std::iter::from_fn(move || {
        if done {
            return None;
        }
        let chunk = reader.read_chunk(chunk_rows).and_then(|mut rows| {
            // A chunk whose rows are all skipped is not the end of the file.
            done = rows.len() < chunk_rows;
            if let Some((liftover, listed)) = &lift {
                let mut unmapped = UnmappedRows::default();
                lift_records(&mut rows, liftover, &mut unmapped);
                if let Some(listed) = listed {
                    let mut listed = listed.lock().unwrap_or_else(|p| p.into_inner());
                    listed.rows.append(&mut unmapped.rows);
                }
            }
            let mut counts = BTreeMap::new();
            check_intervals(&mut rows, &names, on_invalid, &mut counts, &|line| {
                Location::line(&path, line)
            })?;
            if let Some(skipped) = &skipped {
                let mut skipped = skipped.lock().unwrap_or_else(|p| p.into_inner());
                for (reason, n) in counts {
                    *skipped.entry(reason).or_default() += n;
                }
            }
            Ok(rows)
        });
        done |= chunk.is_err();
        Some(chunk)
    }))
}

fn eqtl_batch(rows: &[(u64, EqtlRecord)]) -> Result<RecordBatch> {
    let rows = || rows.iter().map(|(_, r)| r);
    Ok(RecordBatch::try_new(
        dnabench_schemas::eqtl_schema(),
        vec![
            Arc::new(StringArray::from_iter_values(
                rows().map(|r| r.variant.variant_id.as_str()),
            )),
            Arc::new(StringArray::from_iter_values(
                rows().map(|r| r.gene_id.as_str()),
            )),
            Arc::new(StringArray::from_iter_values(
                rows().map(|r| r.tissue.as_str()),
            )),
            Arc::new(Float64Array::from_iter_values(rows().map(|r| r.pip))),
            Arc::new(
                rows()
                    .map(|r| r.cluster_id.as_deref())
                    .collect::<StringArray>(),
            ),
            Arc::new(rows().map(|r| r.cluster_pip).collect::<Float64Array>()),
        ],
    )?)
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
    fn chunks_go_on_past_a_chunk_whose_rows_are_all_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.txt");
        let row = |chrom: &str, pos: u32| format!("Liver\tENSG1\t{chrom}_{pos}_A_G_b38\t0.5\n");
        let text = [
            "tissue\tgene_id\tvariant_id\tpip\n".to_string(),
            row("chr1", 5),
            row("chr1", 6),
            row("chrZ", 7),
            row("chrZ", 8),
            row("chr1", 9),
        ]
        .concat();
        std::fs::write(&p, text).unwrap();
        let names = ChromNames::new([("chr1".to_string(), 100)]);
        let skipped = Arc::new(Mutex::new(BTreeMap::new()));
        let chunks =
            checked_chunks(&p, 2, names, OnInvalid::Skip, Some(skipped.clone()), None).unwrap();
        let sizes: Vec<usize> = chunks.map(|c| c.unwrap().len()).collect();
        assert_eq!(sizes, vec![2, 0, 1]);
        assert_eq!(skipped.lock().unwrap().values().sum::<u64>(), 2);
    }

    /// A bad row past the first chunk fails the ingest with its line, and
    /// neither table keeps the chunks written before it.
    #[tokio::test]
    async fn a_bad_row_in_a_later_chunk_leaves_both_tables_as_they_were() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(&dir.path().join("s")).unwrap();
        let p = dir.path().join("dapg.txt");
        let mut text = String::from("tissue\tgene_id\tvariant_id\tpip\n");
        for i in 0..ROWS_PER_CHUNK + 10 {
            text.push_str(&format!("Liver\tENSG1\tchr1_{}_A_G_b38\t0.5\n", i + 1));
        }
        text.push_str("Liver\tENSG1\tchr1_5_A_G_b38\t2.0\n");
        std::fs::write(&p, text).unwrap();
        let err = ingest_eqtl(&store, &p, OnInvalid::Fail, None)
            .await
            .unwrap_err()
            .to_string();
        let line = ROWS_PER_CHUNK + 12;
        assert!(err.contains(&format!("dapg.txt:{line}: PIP 2")), "{err}");
        assert!(!store.has_table("variants") && !store.has_table("eqtl"));
    }

    #[test]
    fn bad_tables_say_where() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.txt");
        let write_and_read = |text: &str| -> std::result::Result<usize, String> {
            std::fs::write(&p, text).unwrap();
            let mut reader = EqtlReader::open(&p).map_err(|e| e.to_string())?;
            let mut rows = 0;
            while reader.read_record().map_err(|e| e.to_string())?.is_some() {
                rows += 1;
            }
            Ok(rows)
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
