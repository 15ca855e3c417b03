//! SQL over a store: the DataFusion session with dnabench's planner rule
//! and functions ([`session`]), running SQL text with named parameters
//! ([`statements`]), the one memory pool every operator draws from
//! ([`memory`]), where and how much it spills ([`spill`]), the interval
//! join that replaces a hash join on an overlap predicate
//! ([`interval_join`], over [`interval_index`]), the codec that
//! carries our physical plans to another process ([`plan_codec`]), the
//! streaming merge of methylation calls into a CpG matrix ([`cpg_matrix`]),
//! and the functions themselves ([`functions`]).

pub mod cpg_matrix;
pub mod functions;
pub mod interval_index;
pub mod interval_join;
pub mod memory;
pub mod plan_codec;
pub mod session;
pub mod spill;
pub mod statements;

pub use session::{new_context, open_session, open_session_without_store};
pub use statements::{prepare_sql, run_sql, run_sql_stream, QueryResult};
