//! The dnabench engine: the store of Lance tables, ingestion of every input
//! format, and the DataFusion session with genomic SQL functions.

pub mod bed;
pub mod bedgraph;
pub mod bedmethyl;
pub mod bigwig;
pub mod chrom_names;
pub mod error;
pub mod eval;
pub mod fasta;
pub mod fields;
pub mod genome;
pub mod gff;
pub mod ingest;
pub mod input;
pub mod interval_index;
pub mod interval_join;
pub mod materialize;
pub mod meme;
pub mod memory;
mod object_root;
pub mod output;
pub mod plan_codec;
pub mod report;
pub mod session;
pub mod simulate;
pub mod sql;
pub mod store;
pub mod table_functions;
pub mod udf;
pub mod vcf;

pub use error::{Error, Location, Result};
pub use genome::Genome;
pub use session::open_session;
pub use store::{Store, TableInfo};
