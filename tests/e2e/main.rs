//! The end-to-end tests: each module drives the built `dnabench` binary on
//! the bundled data. One test binary, so the whole stack is linked once.

mod common;

mod build;
mod cli;
mod distributed;
mod experiment;
mod fetch;
mod ingest;
mod ingest_errors;
mod interval_join;
mod materialize;
mod methylation;
mod metrics;
mod mirror;
mod object_store;
mod outside;
mod plan_codec;
mod quickstart;
mod spill;
mod tasks;
mod tasks_real;
mod training;
