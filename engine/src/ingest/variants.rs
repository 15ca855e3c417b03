//! `dnabench ingest variants`: a VCF, or the SNP list layout of `data/`, into `variants`.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Int64Array, RecordBatch, StringArray};
use futures::TryStreamExt;

use super::sources::{append_file_rows, FileIngest, FileIngestReport};
use super::tracks::{IntervalRecord, OnInvalid};
use crate::error::Result;
use crate::formats::vcf::{SnpListReader, VariantRecord, VcfReader};
use crate::genome::{reverse_complement_in_place, Genome};
use crate::ingest::genome::column;
use crate::liftover::{Liftable, Lifted, Liftover};
use crate::store::Store;

impl IntervalRecord for VariantRecord {
    fn chrom(&self) -> &str {
        &self.chrom
    }
    fn set_chrom(&mut self, chrom: String) {
        *self = VariantRecord::new(
            self.name.take(),
            chrom,
            self.pos,
            std::mem::take(&mut self.reference),
            std::mem::take(&mut self.alt),
        );
    }
    fn start(&self) -> i64 {
        self.pos
    }
    fn end(&self) -> i64 {
        self.pos + self.reference.len() as i64
    }
}

impl Liftable for VariantRecord {
    fn move_to(&mut self, to: Lifted) {
        let mut reference = std::mem::take(&mut self.reference).into_bytes();
        let mut alt = std::mem::take(&mut self.alt).into_bytes();
        if to.reverse {
            reverse_complement_in_place(&mut reference);
            reverse_complement_in_place(&mut alt);
        }
        *self = VariantRecord::new(
            self.name.take(),
            to.chrom,
            to.start,
            String::from_utf8_lossy(&reference).into_owned(),
            String::from_utf8_lossy(&alt).into_owned(),
        );
    }
}

fn is_vcf(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    name.ends_with(".vcf") || name.ends_with(".vcf.gz") || name.ends_with(".vcf.bgz")
}

/// Ingests the variants of `path` into `store` in one commit.
pub async fn ingest_variants(
    store: &Store,
    path: &Path,
    on_invalid: OnInvalid,
    liftover: Option<&Liftover>,
) -> Result<FileIngestReport> {
    let mut ingest =
        match FileIngest::begin(store, path, vec!["variants"], "variant positions").await? {
            Ok(ingest) => ingest,
            Err(done) => return Ok(done),
        };
    let mut records = if is_vcf(path) {
        let mut reader = VcfReader::open(path)?;
        let records = reader.by_ref().collect::<Result<Vec<_>>>()?;
        let symbolic = reader.skipped();
        if symbolic > 0 {
            ingest
                .report
                .skipped
                .insert("symbolic or missing ALT alleles".into(), symbolic);
        }
        records
    } else {
        let genome = Genome::load(store).await?;
        let base = |chrom: &str, start: i64, end: i64| {
            let g = genome.as_ref()?;
            let index = g
                .index(chrom)
                .or_else(|| g.suggest(chrom).and_then(|s| g.index(s)))?;
            if start < 0 || end > g.chrom(index).seq.len() as i64 || end < start {
                return None;
            }
            let mut bases = Vec::new();
            g.window_into(index, start, end, false, &mut bases);
            String::from_utf8(bases).ok()
        };
        let mut reader = SnpListReader::open(path)?;
        std::iter::from_fn(|| reader.read_record(&base).transpose()).collect::<Result<Vec<_>>>()?
    };
    ingest.lift(&mut records, liftover)?;
    ingest.check(&mut records, on_invalid)?;
    let rows = new_variants(
        store,
        records.into_iter().map(|(_, v)| v),
        &mut ingest.report,
    )
    .await?;
    ingest.report.rows = rows.len() as u64;
    if !rows.is_empty() {
        append_file_rows(
            store,
            "variants",
            dnabench_schemas::variants_schema(),
            vec![variants_batch(&rows, &path.display().to_string())?],
            path,
            &ingest.md5,
        )
        .await?;
    }
    Ok(ingest.finish())
}

/// The variants not yet in the store (nor earlier in `variants`), once each.
pub async fn new_variants(
    store: &Store,
    variants: impl Iterator<Item = VariantRecord>,
    report: &mut FileIngestReport,
) -> Result<Vec<VariantRecord>> {
    let mut seen = existing_variant_hashes(store).await?;
    let mut out = Vec::new();
    let mut duplicates = 0;
    for v in variants {
        if seen.insert(variant_hash(&v.variant_id)) {
            out.push(v);
        } else {
            duplicates += 1;
        }
    }
    if duplicates > 0 {
        report
            .skipped
            .insert("already in variants".into(), duplicates);
    }
    Ok(out)
}

/// A variant id as 128 bits: the store's tens of millions of ids fit in
/// memory as hashes, where a chance collision (about 1 in 10^22 for 10^8
/// ids) is far below any other error of a benchmark.
pub fn variant_hash(id: &str) -> u128 {
    let half = |seed| u128::from(crate::hash::hash64(id.as_bytes(), seed));
    (half(0x7661_7269) << 64) | half(0x616e_7473)
}

/// The hashes of the variant ids already in the store.
pub async fn existing_variant_hashes(store: &Store) -> Result<HashSet<u128>> {
    let mut ids = HashSet::new();
    if !store.has_table("variants") {
        return Ok(ids);
    }
    let ds = store.dataset("variants").await?;
    let mut stream = ds
        .scan()
        .project(&["variant_id"])?
        .try_into_stream()
        .await?;
    while let Some(b) = stream.try_next().await? {
        let col = column::<StringArray>(&b, 0)?;
        ids.extend(col.iter().flatten().map(variant_hash));
    }
    Ok(ids)
}

pub fn variants_batch(rows: &[VariantRecord], source: &str) -> Result<RecordBatch> {
    Ok(RecordBatch::try_new(
        dnabench_schemas::variants_schema(),
        vec![
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|v| v.variant_id.as_str()),
            )),
            Arc::new(
                rows.iter()
                    .map(|v| v.name.as_deref())
                    .collect::<StringArray>(),
            ),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|v| v.chrom.as_str()),
            )),
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|v| v.pos))),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|v| v.reference.as_str()),
            )),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|v| v.alt.as_str()),
            )),
            Arc::new(StringArray::from_iter_values(rows.iter().map(|_| source))),
        ],
    )?)
}
