//! Arrow schemas of the dnabench tables, and the conventions they share.
//!
//! Coordinates are 0-based and half-open (`[start, end)`, as in BED) in every
//! table; 1-based formats are converted once, at ingest. Sequence is upper-case
//! ASCII `ACGTN`.

mod annotation;
mod examples;
mod genome;
mod intervals;
mod runs;
mod tracks;
mod validate;
mod variants;

pub use annotation::{expression_schema, genes_schema};
pub use examples::{examples_schema, REQUIRED_EXAMPLE_COLUMNS, SPLITS};
pub use genome::{chroms_schema, genome_schema, GENOME_CHUNK_LEN};
pub use intervals::{methylation_schema, peaks_schema, signal_schema};
pub use runs::{metrics_schema, predictions_schema, runs_schema};
pub use tracks::{tracks_schema, TRACK_KINDS};
pub use validate::{validate_batch, SchemaMismatch};
pub use variants::{eqtl_schema, mpra_schema, variants_schema};

/// The names of the tables a store may hold, in the order `dnabench tables` lists them.
pub const TABLE_NAMES: &[&str] = &[
    "chroms",
    "genome",
    "tracks",
    "peaks",
    "signal",
    "methylation",
    "genes",
    "expression",
    "variants",
    "eqtl",
    "mpra",
    "examples",
    "predictions",
    "runs",
    "metrics",
];
