//! The `examples` table: the rows of materialized task variants.
//!
//! One schema serves every task. A row holds its model input as a window
//! of the genome (chrom, start, end, strand; for a variant also pos, ref
//! and alt), not as bases, so an example takes tens of bytes, not
//! thousands; the loader cuts the sequence when it reads a batch. A task's SQL returns the columns it needs
//! and `materialize` fills the rest with NULL: a single `label` for
//! promoter, causal SNP and MPRA; dense `targets` (one value per sample, in
//! `track_id` order) for methylation and expression; the sparse list of
//! `positive_tracks` for chromatin, whose 7878 labels are mostly zero.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

/// Columns every task query must return.
pub const REQUIRED_EXAMPLE_COLUMNS: &[&str] = &["example_id", "split", "chrom", "start", "end"];

/// The splits, in the order reports list them.
pub const SPLITS: &[&str] = &["train", "valid", "test"];

pub fn examples_schema() -> SchemaRef {
    let list = |item: DataType| DataType::List(Arc::new(Field::new("item", item, true)));
    Arc::new(Schema::new(vec![
        Field::new("dataset", DataType::Utf8, false),
        Field::new("task", DataType::Utf8, false),
        Field::new("example_id", DataType::Utf8, false),
        Field::new("split", DataType::Utf8, false),
        Field::new("chrom", DataType::Utf8, false),
        Field::new("start", DataType::Int64, false),
        Field::new("end", DataType::Int64, false),
        Field::new("strand", DataType::Utf8, true),
        // The tissue of a causal-SNP example, the element of an MPRA one.
        Field::new("context", DataType::Utf8, true),
        Field::new("variant_id", DataType::Utf8, true),
        Field::new("pos", DataType::Int64, true),
        Field::new("ref", DataType::Utf8, true),
        Field::new("alt", DataType::Utf8, true),
        // NULL unless materialized `--with-seq`: the loader and `seq()` cut
        // the bases of [start, end) on `strand` from the genome instead.
        Field::new("seq", DataType::Utf8, true),
        Field::new("alt_seq", DataType::Utf8, true),
        Field::new("label", DataType::Float32, true),
        Field::new("targets", list(DataType::Float32), true),
        Field::new("positive_tracks", list(DataType::Int32), true),
    ]))
}
