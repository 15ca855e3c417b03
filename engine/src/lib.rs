//! The dnabench engine: the store of Lance tables, the input formats and
//! their ingestion, and the DataFusion session with genomic SQL functions.
//!
//! | module | owns |
//! | --- | --- |
//! | [`store`] | Lance datasets in one folder or object-store prefix |
//! | [`table_writer`] | a table streamed in from synchronous code, committed once |
//! | [`formats`] | one reader per input format |
//! | [`ingest`] | files into tables, one commit a file |
//! | [`genome`] | the 2-bit genome a session's functions read |
//! | [`liftover`] | rows moved between assemblies by a chain file at ingest |
//! | [`sql`] | the session, statements, memory pool, interval join, plan codec and functions |
//! | [`materialize`], [`eval`] | a task's query into `examples`, a run's metrics into `metrics` |
//! | [`hash`] | the seeded hash behind every random choice |

pub mod chrom_names;
pub mod dataset_tracks;
pub mod error;
pub mod eval;
pub mod formats;
pub mod genome;
pub mod hash;
pub mod ingest;
pub mod leaderboard;
pub mod liftover;
pub mod materialize;
mod object_root;
pub mod row_file;
pub mod sql;
pub mod store;
pub mod table_writer;

pub use error::{Error, Location, Result};
pub use genome::Genome;
pub use sql::open_session;
pub use store::{Store, TableInfo};
