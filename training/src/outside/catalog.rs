//! The examples an outside import may name: a dataset's example ids in the
//! splits taken, each with its split and whether a row gave it already.

use std::collections::HashMap;

use anyhow::{bail, Context, Result};
use arrow::array::{AsArray, RecordBatch};
use dnabench_engine::Store;
use futures::TryStreamExt;

/// How much of a split an import gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitCoverage {
    pub split: String,
    /// Examples with a row.
    pub given: usize,
    /// Examples of the split.
    pub examples: usize,
}

impl SplitCoverage {
    pub fn is_complete(&self) -> bool {
        self.given == self.examples
    }
}

impl std::fmt::Display for SplitCoverage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} of {}", self.split, self.given, self.examples)
    }
}

/// See the module's text.
pub struct ExampleCatalog {
    store: Store,
    dataset: String,
    splits: Vec<String>,
    /// example id → (index into `splits`, given already).
    ids: HashMap<String, (usize, bool)>,
    given: Vec<usize>,
    examples: Vec<usize>,
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

impl ExampleCatalog {
    /// The ids of `dataset`'s examples in `splits` (every split when empty).
    pub async fn read(store: &Store, dataset: &str, splits: &[String]) -> Result<ExampleCatalog> {
        let ds = store
            .dataset("examples")
            .await
            .context("the store has no examples: materialize a task first")?;
        let mut filter = format!("dataset = {}", quote(dataset));
        if !splits.is_empty() {
            let list: Vec<String> = splits.iter().map(|s| quote(s)).collect();
            filter.push_str(&format!(" AND split IN ({})", list.join(", ")));
        }
        let mut scan = ds.scan();
        scan.filter(&filter)?.project(&["example_id", "split"])?;
        let batches: Vec<RecordBatch> = scan.try_into_stream().await?.try_collect().await?;
        let mut catalog = ExampleCatalog {
            store: store.clone(),
            dataset: dataset.to_string(),
            splits: splits.to_vec(),
            ids: HashMap::new(),
            given: vec![0; splits.len()],
            examples: vec![0; splits.len()],
        };
        for b in &batches {
            let ids = arrow::compute::cast(b.column(0), &arrow::datatypes::DataType::Utf8)?;
            let split = arrow::compute::cast(b.column(1), &arrow::datatypes::DataType::Utf8)?;
            let (ids, split) = (ids.as_string::<i32>(), split.as_string::<i32>());
            for i in 0..b.num_rows() {
                let s = match catalog.splits.iter().position(|s| s == split.value(i)) {
                    Some(s) => s,
                    None => {
                        catalog.splits.push(split.value(i).to_string());
                        catalog.given.push(0);
                        catalog.examples.push(0);
                        catalog.splits.len() - 1
                    }
                };
                catalog.examples[s] += 1;
                catalog.ids.insert(ids.value(i).to_string(), (s, false));
            }
        }
        if catalog.ids.is_empty() {
            let any = ds
                .count_rows(Some(format!("dataset = {}", quote(dataset))))
                .await?;
            if any == 0 {
                bail!("examples has no dataset '{dataset}'; see 'dnabench tasks' for what is materialized");
            }
            bail!(
                "dataset '{dataset}' has no examples in split {}",
                splits.join(" or ")
            );
        }
        Ok(catalog)
    }

    pub fn dataset(&self) -> &str {
        &self.dataset
    }

    /// Checks `ids` and gives each one's split; takes none of them (see
    /// [`ExampleCatalog::take`]). `row_of(i)` names row i for messages.
    pub async fn check(
        &self,
        ids: &[String],
        row_of: &dyn Fn(usize) -> String,
    ) -> Result<Vec<usize>> {
        let mut in_batch: HashMap<&str, usize> = HashMap::new();
        let mut splits = Vec::with_capacity(ids.len());
        for (i, id) in ids.iter().enumerate() {
            let Some(&(split, given)) = self.ids.get(id) else {
                bail!("{} (example '{id}'): {}", row_of(i), self.stray(id).await?);
            };
            if given {
                bail!(
                    "{} (example '{id}'): the example was given already; each example is given once",
                    row_of(i)
                );
            }
            if let Some(first) = in_batch.insert(id, i) {
                bail!(
                    "{} (example '{id}'): the example was given already, at {}; each example is given once",
                    row_of(i),
                    row_of(first)
                );
            }
            splits.push(split);
        }
        Ok(splits)
    }

    /// Marks `ids` (checked) as given.
    pub fn take(&mut self, ids: &[String]) {
        for id in ids {
            if let Some((split, given)) = self.ids.get_mut(id) {
                if !*given {
                    *given = true;
                    self.given[*split] += 1;
                }
            }
        }
    }

    /// The split named by index `i` of [`ExampleCatalog::check`].
    pub fn split_name(&self, i: usize) -> &str {
        &self.splits[i]
    }

    /// How much of each split was given.
    pub fn coverage(&self) -> Vec<SplitCoverage> {
        (0..self.splits.len())
            .map(|i| SplitCoverage {
                split: self.splits[i].clone(),
                given: self.given[i],
                examples: self.examples[i],
            })
            .collect()
    }

    /// Why `id` is not one of the catalog's: another split, another
    /// dataset, or no example at all. Read only when a row fails.
    async fn stray(&self, id: &str) -> Result<String> {
        let ds = self.store.dataset("examples").await?;
        let first = |filter: String| {
            let ds = &ds;
            async move {
                let mut scan = ds.scan();
                scan.filter(&filter)?
                    .project(&["dataset", "split"])?
                    .limit(Some(1), None)?;
                let found: Vec<RecordBatch> = scan.try_into_stream().await?.try_collect().await?;
                let Some(b) = found.into_iter().find(|b| b.num_rows() > 0) else {
                    return Ok::<_, anyhow::Error>(None);
                };
                let text = |c: usize| {
                    arrow::compute::cast(b.column(c), &arrow::datatypes::DataType::Utf8)
                        .map(|a| a.as_string::<i32>().value(0).to_string())
                };
                Ok(Some((text(0)?, text(1)?)))
            }
        };
        let id = quote(id);
        let own = format!("example_id = {id} AND dataset = {}", quote(&self.dataset));
        if let Some((_, split)) = first(own).await? {
            return Ok(format!(
                "the example is in split '{split}'; this import takes {}",
                self.splits.join(", ")
            ));
        }
        Ok(match first(format!("example_id = {id}")).await? {
            Some((dataset, _)) => format!(
                "the example is one of dataset '{dataset}', not '{}'",
                self.dataset
            ),
            None => format!(
                "no example of dataset '{}' (nor of any dataset) has this id",
                self.dataset
            ),
        })
    }
}
