//! The `tracks` table: one row per experiment (a peak file, a signal track, a
//! methylation sample, an expression sample).

use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, SchemaRef};

/// Kinds of track, as stored in `tracks.kind`.
pub const TRACK_KINDS: &[&str] = &["peaks", "signal", "methylation", "expression"];

/// `content_md5` is the MD5 of the file's bytes as read from disk: the same
/// file ingested twice is recognised by it and skipped.
pub fn tracks_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("track_id", DataType::Int32, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("kind", DataType::Utf8, false),
        Field::new("assay", DataType::Utf8, true),
        Field::new("biosample", DataType::Utf8, true),
        Field::new("format", DataType::Utf8, false),
        Field::new("source", DataType::Utf8, false),
        Field::new("content_md5", DataType::Utf8, false),
        Field::new("rows", DataType::Int64, false),
    ]))
}
