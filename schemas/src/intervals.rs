//! Interval tables: `peaks`, `signal` and `methylation`. Rows of one track are
//! stored sorted by (chrom, start), so joins over them can stream.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, SchemaRef};

fn interval_fields() -> Vec<Field> {
    vec![
        Field::new("track_id", DataType::Int32, false),
        Field::new("chrom", DataType::Utf8, false),
        Field::new("start", DataType::Int64, false),
        Field::new("end", DataType::Int64, false),
    ]
}

fn int64_list() -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::Int64, true)))
}

/// A BED3–BED12, narrowPeak or broadPeak interval; columns a format lacks are
/// NULL. `summit` is narrowPeak's peak offset from `start` (NULL for -1).
pub fn peaks_schema() -> SchemaRef {
    let mut fields = interval_fields();
    fields.extend([
        Field::new("name", DataType::Utf8, true),
        Field::new("score", DataType::Float64, true),
        Field::new("strand", DataType::Utf8, true),
        Field::new("signal_value", DataType::Float64, true),
        Field::new("p_value", DataType::Float64, true),
        Field::new("q_value", DataType::Float64, true),
        Field::new("summit", DataType::Int64, true),
        Field::new("thick_start", DataType::Int64, true),
        Field::new("thick_end", DataType::Int64, true),
        Field::new("item_rgb", DataType::Utf8, true),
        Field::new("block_sizes", int64_list(), true),
        Field::new("block_starts", int64_list(), true),
    ]);
    Arc::new(Schema::new(fields))
}

/// A run of equal value of a bigWig or bedGraph.
pub fn signal_schema() -> SchemaRef {
    let mut fields = interval_fields();
    fields.push(Field::new("value", DataType::Float32, false));
    Arc::new(Schema::new(fields))
}

/// A CpG call of an ENCODE bedMethyl file: `coverage` reads, of which
/// `methylated` (= round(coverage × percent / 100)); `fraction` = percent / 100.
pub fn methylation_schema() -> SchemaRef {
    let mut fields = interval_fields();
    fields.extend([
        Field::new("strand", DataType::Utf8, false),
        Field::new("coverage", DataType::Int32, false),
        Field::new("methylated", DataType::Int32, false),
        Field::new("fraction", DataType::Float64, false),
    ]);
    Arc::new(Schema::new(fields))
}
