//! Variant tables: `variants`, `eqtl` and `mpra`. Positions are 0-based.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, SchemaRef};

/// One allele of a variant (multi-allelic VCF records are split).
/// `variant_id` is `CHROM_POS_REF_ALT` (1-based POS, as GTEx writes it, so
/// the same allele has the same id from every source); `name` is the file's
/// own id (an rsID) where it gives one.
pub fn variants_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("variant_id", DataType::Utf8, false),
        Field::new("name", DataType::Utf8, true),
        Field::new("chrom", DataType::Utf8, false),
        Field::new("pos", DataType::Int64, false),
        Field::new("ref", DataType::Utf8, false),
        Field::new("alt", DataType::Utf8, false),
        Field::new("source", DataType::Utf8, false),
    ]))
}

/// A fine-mapped variant–gene pair in one tissue (GTEx DAPG): `pip` is the
/// posterior inclusion probability.
pub fn eqtl_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("variant_id", DataType::Utf8, false),
        Field::new("gene_id", DataType::Utf8, false),
        Field::new("tissue", DataType::Utf8, false),
        Field::new("pip", DataType::Float64, false),
        Field::new("cluster_id", DataType::Utf8, true),
        Field::new("cluster_pip", DataType::Float64, true),
    ]))
}

/// A measured mutation of a regulatory element (saturation mutagenesis MPRA).
pub fn mpra_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("element", DataType::Utf8, false),
        Field::new("chrom", DataType::Utf8, false),
        Field::new("pos", DataType::Int64, false),
        Field::new("ref", DataType::Utf8, false),
        Field::new("alt", DataType::Utf8, false),
        Field::new("tags", DataType::Int32, true),
        Field::new("dna", DataType::Float64, true),
        Field::new("rna", DataType::Float64, true),
        Field::new("log2_effect", DataType::Float64, false),
        Field::new("p_value", DataType::Float64, true),
    ]))
}
