//! Ingests a simulated benchmark into a store through the same functions
//! the `dnabench ingest …` commands call, in the order a user would.

use dnabench_engine::error::Result;
use dnabench_engine::ingest::{self, methylation::Methylation, peaks::Peaks, OnInvalid};
use dnabench_engine::store::Store;

use super::SimulatedFiles;

/// Ingests every file of `files`; one line of report per command.
pub async fn ingest_simulated(store: &Store, files: &SimulatedFiles) -> Result<Vec<String>> {
    let fail = OnInvalid::Fail;
    let mut reports = vec![ingest::ingest_genome(store, &files.genome())
        .await?
        .to_string()];
    reports.push(
        ingest::ingest_genes(store, &files.genes(), fail, None, "gene")
            .await?
            .to_string(),
    );
    let peaks = ingest::read_manifest(&files.peaks_manifest())?;
    reports.push(
        ingest::ingest_tracks::<Peaks>(store, &peaks, fail, &mut |_| {})
            .await?
            .to_string(),
    );
    let methylation = ingest::read_manifest(&files.methylation_manifest())?;
    reports.push(
        ingest::ingest_tracks::<Methylation>(store, &methylation, fail, &mut |_| {})
            .await?
            .to_string(),
    );
    reports.push(
        ingest::ingest_expression(store, &files.expression(), None, fail)
            .await?
            .to_string(),
    );
    reports.push(
        ingest::ingest_variants(store, &files.variants(), fail, None)
            .await?
            .to_string(),
    );
    reports.push(
        ingest::ingest_eqtl(store, &files.eqtl(), fail, None)
            .await?
            .to_string(),
    );
    reports.push(
        ingest::ingest_mpra(store, &files.mpra(), fail)
            .await?
            .to_string(),
    );
    Ok(reports)
}
