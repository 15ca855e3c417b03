//! The tables of runs: `runs` (one row per training or pre-training run),
//! `predictions` (a model's outputs per example) and `metrics` (the scores
//! `eval` computes from them).

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

fn list_f32() -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::Float32, true)))
}

fn timestamp() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// One row per run. `config` is the run's whole configuration as JSON (the
/// same text as `config.json` beside its checkpoint); `examples_version` is
/// the Lance version of the table it read, so a run names its data exactly.
pub fn runs_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("run_id", DataType::Utf8, false),
        // train, pretrain
        Field::new("kind", DataType::Utf8, false),
        Field::new("task", DataType::Utf8, false),
        Field::new("dataset", DataType::Utf8, false),
        Field::new("model", DataType::Utf8, false),
        Field::new("tokenizer", DataType::Utf8, false),
        Field::new("config", DataType::Utf8, false),
        Field::new("data_table", DataType::Utf8, false),
        Field::new("data_version", DataType::UInt64, false),
        // The checkpoint a fine-tuning run started from.
        Field::new("init", DataType::Utf8, true),
        Field::new("device", DataType::Utf8, false),
        Field::new("parameters", DataType::Int64, false),
        Field::new("started", timestamp(), false),
        Field::new("finished", timestamp(), false),
        Field::new("epochs", DataType::Int32, false),
        Field::new("best_epoch", DataType::Int32, false),
        // Mean loss per epoch.
        Field::new("train_loss", list_f32(), false),
        Field::new("valid_loss", list_f32(), false),
        Field::new("examples_per_s", DataType::Float64, false),
        // Relative to the store.
        Field::new("checkpoint", DataType::Utf8, false),
    ]))
}

/// A model's outputs for one example: logits for classification heads,
/// values for regression, in the order the run's config lists its outputs.
pub fn predictions_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("run_id", DataType::Utf8, false),
        Field::new("dataset", DataType::Utf8, false),
        Field::new("example_id", DataType::Utf8, false),
        Field::new("split", DataType::Utf8, false),
        Field::new("output", list_f32(), false),
    ]))
}

/// One metric of one run: `group` is `all`, a tissue, an element, an assay
/// group or a sample, as the task's metric query names it.
pub fn metrics_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("run_id", DataType::Utf8, false),
        Field::new("task", DataType::Utf8, false),
        Field::new("split", DataType::Utf8, false),
        Field::new("metric", DataType::Utf8, false),
        Field::new("group", DataType::Utf8, false),
        Field::new("value", DataType::Float64, true),
    ]))
}
