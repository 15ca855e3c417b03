//! An outside model's embeddings of a dataset's examples into a table of
//! the shape `dnabench embed` writes (run_id, dataset, example_id, split,
//! vector), so `fit` trains the paper's downstream models (forest, boosted
//! trees, upper Transformer) on them exactly as on a candle backbone's.
//!
//! A vector is an example's features; for the upper Transformer (the
//! expression task) it must be its segments' features in order, as the
//! paper's backbones give them: one per 200 bp segment of the window, each
//! of the same width, concatenated. Variant tasks take the reference's,
//! then the alternative's.

use std::collections::HashMap;

use anyhow::{bail, Context, Result};
use arrow::array::ArrayRef;
use dnabench_engine::table_writer::TableWriter;
use dnabench_engine::Store;

use super::{check_run_id, first_not_finite, rows_of, ExampleCatalog, SplitCoverage, Vectors};
use crate::embed::{embedding_batch, embeddings_schema, index_vectors};

/// The table of run `run_id`'s embeddings of `dataset`:
/// `embeddings_DATASET_RUN` with the run id's `-` and `.` as `_`, a name
/// SQL reads unquoted.
pub fn outside_embeddings_table(dataset: &str, run_id: &str) -> String {
    let run: String = run_id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("embeddings_{dataset}_{run}")
}

/// What a committed import wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddingSummary {
    pub table: String,
    pub rows: usize,
    pub dim: usize,
    pub coverage: Vec<SplitCoverage>,
}

/// An import under way: the table is written as rows come and committed
/// once, at [`EmbeddingImport::commit`].
pub struct EmbeddingImport {
    store: Store,
    run_id: String,
    table: String,
    catalog: ExampleCatalog,
    dim: Option<usize>,
    writer: Option<TableWriter>,
    rt: tokio::runtime::Runtime,
}

impl EmbeddingImport {
    /// Starts run `run_id`'s embeddings of every split of `dataset`, into
    /// `table` (default [`outside_embeddings_table`]), which must not exist.
    pub fn start(
        store: &Store,
        run_id: &str,
        dataset: &str,
        table: Option<&str>,
    ) -> Result<EmbeddingImport> {
        check_run_id(run_id)?;
        let table = table
            .map(str::to_string)
            .unwrap_or_else(|| outside_embeddings_table(dataset, run_id));
        if store.has_table(&table) {
            bail!(
                "table '{table}' exists already: run '{run_id}' embedded '{dataset}' before; give another run id, or remove {}",
                store.table_path(&table).display()
            );
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let catalog = rt.block_on(ExampleCatalog::read(store, dataset, &[]))?;
        Ok(EmbeddingImport {
            store: store.clone(),
            run_id: run_id.to_string(),
            table,
            catalog,
            dim: None,
            writer: None,
            rt,
        })
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Takes a batch of `ids` and `vectors` (a list or fixed-size list of
    /// numbers a row, all of one width), all checked before any is taken.
    pub fn write(
        &mut self,
        ids: &ArrayRef,
        vectors: &ArrayRef,
        row_of: &dyn Fn(usize) -> String,
    ) -> Result<usize> {
        let (ids, v) = rows_of(ids, vectors, "embedding", row_of)?;
        self.write_rows(ids, v, row_of)
    }

    /// [`EmbeddingImport::write`] of rows already read.
    pub fn write_rows(
        &mut self,
        ids: Vec<String>,
        v: Vectors,
        row_of: &dyn Fn(usize) -> String,
    ) -> Result<usize> {
        if ids.is_empty() {
            return Ok(0);
        }
        let dim = *self.dim.get_or_insert(v.width);
        if v.width != dim || dim == 0 {
            bail!(
                "{}: the embedding has {} values where the import's first row has {dim}; every example of a dataset gives one width",
                row_of(0),
                v.width
            );
        }
        if let Some((row, column, value)) = first_not_finite(&v) {
            bail!(
                "{} (example '{}'): feature {column} is {value}; embeddings must be finite",
                row_of(row),
                ids[row]
            );
        }
        let splits = self.rt.block_on(self.catalog.check(&ids, row_of))?;
        let n = ids.len();
        let batch = embedding_batch(
            &self.run_id,
            self.catalog.dataset(),
            &ids,
            splits.iter().map(|&s| self.catalog.split_name(s)),
            dim,
            v.values,
        )?;
        if self.writer.is_none() {
            self.writer = Some(self.store.table_writer(
                &self.table,
                embeddings_schema(dim),
                HashMap::new(),
            )?);
        }
        self.writer.as_mut().expect("started above").write(batch)?;
        self.catalog.take(&ids);
        Ok(n)
    }

    /// How much of each split the rows so far cover.
    pub fn coverage(&self) -> Vec<SplitCoverage> {
        self.catalog.coverage()
    }

    /// Commits the table and indexes its vectors (for `dnabench similar`).
    pub fn commit(self) -> Result<EmbeddingSummary> {
        let (Some(writer), Some(dim)) = (self.writer, self.dim) else {
            bail!(
                "run '{}' has no embeddings of '{}' to commit; write some first",
                self.run_id,
                self.catalog.dataset()
            );
        };
        let rows = writer.rows();
        let mut ds = writer
            .finish()
            .with_context(|| format!("writing {}", self.table))?;
        self.rt
            .block_on(index_vectors(&mut ds, rows, dim))
            .with_context(|| format!("indexing {}", self.table))?;
        Ok(EmbeddingSummary {
            table: self.table,
            rows,
            dim,
            coverage: self.catalog.coverage(),
        })
    }
}
