//! Genomic SQL functions, one file each; `register_all` also registers the
//! table functions of [`crate::table_functions`].

mod args;
pub mod dense_targets;
pub mod gc_content;
pub mod hash_uniform;
pub mod metrics;
pub mod mutate;
pub mod overlap_len;
pub mod revcomp;
pub mod seq;

use std::sync::Arc;

use datafusion::execution::context::SessionContext;
use datafusion::logical_expr::ScalarUDF;

use crate::genome::SessionGenome;

/// Registers every dnabench function with `ctx`; `genome` serves `seq()`,
/// `tiles()` and `random_windows()`.
pub fn register_all(ctx: &SessionContext, genome: impl Into<SessionGenome>) {
    let genome: SessionGenome = genome.into();
    ctx.register_udf(ScalarUDF::from(seq::SeqUdf::new(genome.clone())));
    ctx.register_udtf(
        "tiles",
        Arc::new(crate::table_functions::tiles::TilesFunction::new(
            genome.clone(),
        )),
    );
    ctx.register_udtf(
        "random_windows",
        Arc::new(crate::table_functions::random_windows::RandomWindowsFunction::new(genome)),
    );
    ctx.register_udf(ScalarUDF::from(revcomp::RevcompUdf::new()));
    ctx.register_udf(ScalarUDF::from(gc_content::GcContentUdf::new()));
    ctx.register_udf(ScalarUDF::from(mutate::MutateUdf::new()));
    ctx.register_udf(ScalarUDF::from(hash_uniform::HashUniformUdf::new()));
    ctx.register_udf(ScalarUDF::from(overlap_len::OverlapLenUdf::new()));
    ctx.register_udaf(dense_targets::DenseTargets::udaf());
    for metric in metrics::all() {
        ctx.register_udaf(metric);
    }
}

/// The result of `sql` in `ctx` as a pretty-printed table, for tests.
#[cfg(test)]
pub(crate) async fn pretty_sql(
    ctx: &SessionContext,
    sql: &str,
) -> datafusion::error::Result<String> {
    let batches = ctx.sql(sql).await?.collect().await?;
    Ok(arrow::util::pretty::pretty_format_batches(&batches)?.to_string())
}
