//! The `chroms` and `genome` tables.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, SchemaRef};

/// Bases per row of the `genome` table. Small enough that a scan for one
/// region reads little, large enough that a chromosome is a few thousand rows.
pub const GENOME_CHUNK_LEN: usize = 1 << 16;

/// One row per chromosome, in the order of the FASTA file.
///
/// `md5` is the hex MD5 of the upper-cased sequence as written in the file
/// (IUPAC codes kept), the convention of the SAM `M5` tag, so it can be checked
/// against a sequence dictionary. `n_bases` counts `N` after IUPAC codes other
/// than ACGT became `N`; `iupac_bases` counts those codes; `masked_bases` counts
/// soft-masked (lower-case) bases before they were folded to upper case.
pub fn chroms_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("chrom", DataType::Utf8, false),
        Field::new("length", DataType::Int64, false),
        Field::new("md5", DataType::Utf8, false),
        Field::new("rank", DataType::Int32, false),
        Field::new("n_bases", DataType::Int64, false),
        Field::new("iupac_bases", DataType::Int64, false),
        Field::new("masked_bases", DataType::Int64, false),
    ]))
}

/// One row per chunk of [`GENOME_CHUNK_LEN`] bases (the last chunk of a
/// chromosome may be shorter): `seq` covers `[start, end)` of `chrom`.
pub fn genome_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("chrom", DataType::Utf8, false),
        Field::new("start", DataType::Int64, false),
        Field::new("end", DataType::Int64, false),
        Field::new("seq", DataType::Utf8, false),
    ]))
}
