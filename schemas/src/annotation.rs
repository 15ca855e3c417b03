//! Gene and expression tables: `genes` and `expression`.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, SchemaRef};

/// A gene or transcript: `tss` is the 0-based position of its first base on
/// its own strand (`start` on `+`, `end - 1` on `-`).
pub fn genes_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("gene_id", DataType::Utf8, false),
        Field::new("name", DataType::Utf8, true),
        Field::new("chrom", DataType::Utf8, false),
        Field::new("start", DataType::Int64, false),
        Field::new("end", DataType::Int64, false),
        Field::new("strand", DataType::Utf8, false),
        Field::new("tss", DataType::Int64, false),
        Field::new("feature", DataType::Utf8, false),
        Field::new("biotype", DataType::Utf8, true),
    ]))
}

/// One gene in one sample (a track of kind `expression`), e.g. log RPKM.
pub fn expression_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("gene_id", DataType::Utf8, false),
        Field::new("track_id", DataType::Int32, false),
        Field::new("value", DataType::Float64, false),
    ]))
}
