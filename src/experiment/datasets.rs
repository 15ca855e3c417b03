//! The experiment file's `[datasets]`: variants materialized before any
//! training, the tasks' own first, since a variant reads what they made.

use std::time::Instant;

use anyhow::{bail, Context, Result};
use dnabench_engine::{materialize, open_session};
use dnabench_queries::{Task, Variant};

use super::plan::DatasetSpec;
use super::Runner;

impl Runner<'_> {
    /// Materializes the file's dataset variants that `examples` lacks.
    pub(super) fn materialize_datasets(&mut self) -> Result<()> {
        let ctx = self.runtime.block_on(open_session(self.store))?;
        // A variant reads datasets already materialized: the tasks' own first.
        let mut order: Vec<(&String, &DatasetSpec)> = self.file.datasets.iter().collect();
        order.sort_by_key(|(_, spec)| spec.variant.is_some());
        for (name, spec) in order {
            if self.state.datasets.contains_key(name) {
                continue;
            }
            let task = Task::named(&spec.task)
                .with_context(|| format!("dataset '{name}': no task '{}'", spec.task))?;
            let variant = match &spec.variant {
                Some(v) => Some(Variant::named(v).with_context(|| {
                    format!("dataset '{name}': no variant '{v}' (see queries/variants/)")
                })?),
                None => None,
            };
            if let (Some(_), Some(toml::Value::String(source))) =
                (variant, spec.params.get("source"))
            {
                if !self.state.datasets.contains_key(source) {
                    bail!("dataset '{name}' samples dataset '{source}', which is neither materialized nor in the file's [datasets]");
                }
            }
            let params = crate::toml_params(&spec.params);
            let clock = Instant::now();
            let m = self.runtime.block_on(async {
                let spec = match variant {
                    Some(v) => {
                        materialize::Materialization::of_variant(v, task.name, name, &params)?
                    }
                    None => materialize::Materialization::of_task(&task, name, &params)?,
                };
                Ok::<_, anyhow::Error>(materialize::materialize(&ctx, self.store, &spec).await?)
            })?;
            self.steps.line(
                "materialize",
                name,
                &format!("{} examples ({})", m.rows(), crate::split_counts(&m)),
                clock.elapsed(),
            );
            self.state.datasets.insert(name.clone(), spec.task.clone());
        }
        Ok(())
    }
}
