//! Ingestion: each input format into its tables, in whole Lance commits.

pub mod genome;

pub use genome::{ingest_genome, GenomeIngest};
