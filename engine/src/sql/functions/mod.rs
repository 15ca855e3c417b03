//! dnabench's SQL functions, grouped as DataFusion groups its own:
//! [`scalar`], [`aggregate`] and [`table`], one file a function. Every
//! function's type is named after it (`seq` is [`scalar::seq::SeqFunction`])
//! and carries DataFusion's [`Documentation`]: a description, its syntax,
//! its arguments and a SQL example, which `SHOW FUNCTIONS` and
//! `dnabench sql --functions` print. `tests/sql/*.slt` pins their behaviour.

pub mod aggregate;
mod args;
pub mod scalar;
pub mod table;

use datafusion::execution::context::SessionContext;
use datafusion::logical_expr::Documentation;

use crate::genome::SessionGenome;

/// Registers every dnabench function with `ctx`; `genome` serves `seq()`,
/// `tiles()` and `random_windows()`.
pub fn register_all(ctx: &SessionContext, genome: impl Into<SessionGenome>) {
    let genome: SessionGenome = genome.into();
    for udf in scalar::all(&genome) {
        ctx.register_udf(udf);
    }
    for udaf in aggregate::all() {
        ctx.register_udaf(udaf);
    }
    for udtf in table::all(&genome) {
        ctx.register_udtf(udtf.name, udtf.function);
    }
}

/// What kind of function a [`FunctionDoc`] documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FunctionKind {
    Scalar,
    Aggregate,
    Table,
}

impl std::fmt::Display for FunctionKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FunctionKind::Scalar => "scalar",
            FunctionKind::Aggregate => "aggregate",
            FunctionKind::Table => "table",
        })
    }
}

/// One function's name, kind and documentation.
#[derive(Debug, Clone)]
pub struct FunctionDoc {
    pub name: String,
    pub kind: FunctionKind,
    pub documentation: Documentation,
}

/// Every dnabench function with its documentation: scalar, then aggregate,
/// then table functions, each group in alphabetical order.
pub fn documented() -> Vec<FunctionDoc> {
    let genome = SessionGenome::ready(None);
    let doc = |name: &str, kind, documentation: Option<&Documentation>| FunctionDoc {
        name: name.to_string(),
        kind,
        documentation: documentation
            .cloned()
            .unwrap_or_else(|| panic!("{name}() has no documentation")),
    };
    let mut out: Vec<FunctionDoc> = Vec::new();
    let mut scalars: Vec<_> = scalar::all(&genome)
        .iter()
        .map(|f| doc(f.name(), FunctionKind::Scalar, f.documentation()))
        .collect();
    let mut aggregates: Vec<_> = aggregate::all()
        .iter()
        .map(|f| doc(f.name(), FunctionKind::Aggregate, f.documentation()))
        .collect();
    let mut tables: Vec<_> = table::all(&genome)
        .iter()
        .map(|f| doc(f.name, FunctionKind::Table, Some(f.documentation)))
        .collect();
    for group in [&mut scalars, &mut aggregates, &mut tables] {
        group.sort_by(|a, b| a.name.cmp(&b.name));
        out.append(group);
    }
    out
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::genome::Genome;

    /// Every function is documented, and its SQL example runs on a small
    /// genome and gives rows.
    #[tokio::test]
    async fn every_function_has_documentation_whose_example_runs() {
        let ctx = SessionContext::new();
        let bases = |seed: u64| -> Vec<u8> {
            (0..2_000u64)
                .map(|i| b"ACGT"[(crate::hash::hash64(&i.to_le_bytes(), seed as i64) % 4) as usize])
                .collect()
        };
        let genome = Genome::from_sequences([
            ("chr1".to_string(), bases(1)),
            ("chr2".to_string(), bases(2)),
        ]);
        register_all(&ctx, Some(Arc::new(genome)));
        // cpg_matrix()'s example reads a store's methylation table.
        ctx.sql(
            "CREATE TABLE methylation (track_id INT, chrom VARCHAR, start BIGINT, strand VARCHAR, \
             coverage INT, methylated INT) AS VALUES (1, 'chr1', 10, '+', 4, 1), \
             (2, 'chr1', 11, '-', 6, 6), (2, 'chr2', 5, '+', 1, 0)",
        )
        .await
        .unwrap();
        let docs = documented();
        assert_eq!(
            docs.len(),
            18,
            "{:?}",
            docs.iter().map(|d| &d.name).collect::<Vec<_>>()
        );
        for d in docs {
            let doc = &d.documentation;
            assert!(
                doc.syntax_example.starts_with(&format!("{}(", d.name)),
                "{}",
                d.name
            );
            assert!(
                !doc.description.is_empty() && doc.arguments.is_some(),
                "{}",
                d.name
            );
            let example = doc.sql_example.as_deref().expect("an example");
            assert!(
                example.contains(&format!("{}(", d.name)),
                "{}: {example}",
                d.name
            );
            // read_examples()' example names a file of the repository, from
            // its root, where a user runs it; the test runs in engine/.
            let example = example.replace("'recipes/", "'../recipes/");
            let text = pretty_sql(&ctx, &example)
                .await
                .unwrap_or_else(|e| panic!("{}: {example}: {e}", d.name));
            assert!(text.lines().count() > 4, "{}: no rows\n{text}", d.name);
        }
    }

    /// `SHOW FUNCTIONS` (DataFusion's view of `information_schema`) lists
    /// every aggregate with its description; scalar functions coerce their
    /// own arguments, so they are in `information_schema.routines` only.
    #[tokio::test]
    async fn show_functions_lists_the_aggregates_and_routines_every_function() {
        use datafusion::prelude::SessionConfig;
        let ctx =
            SessionContext::new_with_config(SessionConfig::new().with_information_schema(true));
        register_all(&ctx, SessionGenome::ready(None));
        for d in documented() {
            let routines = pretty_sql(
                &ctx,
                &format!(
                    "SELECT description FROM information_schema.routines WHERE routine_name = '{}'",
                    d.name
                ),
            )
            .await
            .unwrap();
            if d.kind == FunctionKind::Table {
                continue;
            }
            let opening: String = d.documentation.description.chars().take(40).collect();
            assert!(routines.contains(&opening), "{}: {routines}", d.name);
            if d.kind == FunctionKind::Aggregate {
                let shown = pretty_sql(&ctx, &format!("SHOW FUNCTIONS LIKE '{}'", d.name))
                    .await
                    .unwrap();
                assert!(shown.contains(&opening), "{}: {shown}", d.name);
            }
        }
    }
}
