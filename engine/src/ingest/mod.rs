//! Ingestion: each input format into its tables, in whole Lance commits.

pub mod chrom_check;
pub mod eqtl;
pub mod expression;
pub mod genes;
pub mod genome;
pub mod intervals;
pub mod manifest;
pub mod methylation;
pub mod mpra;
pub mod peaks;
pub mod signal;
pub mod sources;
mod track_files;
pub mod tracks;
pub mod variants;

pub use eqtl::ingest_eqtl;
pub use expression::ingest_expression;
pub use genes::{bed_feature, ingest_genes, BED_FEATURES};
pub use genome::{ingest_genome, GenomeIngest};
pub use manifest::read_manifest;
pub use mpra::ingest_mpra;
pub use sources::FileIngestReport;
pub use tracks::{
    ingest_lifted_tracks, ingest_tracks, OnInvalid, Progress, TrackIngestReport, TrackSpec,
};
pub use variants::ingest_variants;
