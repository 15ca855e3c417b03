//! Table functions, one file each: [`tiles`] and [`random_windows`] over
//! the genome, [`cpg_matrix`] over a methylation table, [`read_examples`]
//! over a file of examples made elsewhere. DataFusion's table functions carry no documentation
//! of their own, so each file's `documentation()` is listed beside them.

pub mod cpg_matrix;
pub mod random_windows;
pub mod read_examples;
pub mod tiles;

use std::sync::Arc;

use datafusion::catalog::TableFunctionImpl;
use datafusion::common::{plan_err, Result, ScalarValue};
use datafusion::logical_expr::{DocSection, Documentation, Expr};

use crate::genome::SessionGenome;

pub(crate) const TABLE: DocSection = DocSection {
    include: true,
    label: "dnabench table functions",
    description: None,
};

/// A table function, its name and its documentation.
pub struct TableFunction {
    pub name: &'static str,
    pub function: Arc<dyn TableFunctionImpl>,
    pub documentation: &'static Documentation,
}

/// Every table function; `genome` serves the genome's.
pub fn all(genome: &SessionGenome) -> Vec<TableFunction> {
    vec![
        TableFunction {
            name: "tiles",
            function: Arc::new(tiles::TilesFunction::new(genome.clone())),
            documentation: tiles::documentation(),
        },
        TableFunction {
            name: "random_windows",
            function: Arc::new(random_windows::RandomWindowsFunction::new(genome.clone())),
            documentation: random_windows::documentation(),
        },
        TableFunction {
            name: "cpg_matrix",
            function: Arc::new(cpg_matrix::CpgMatrixFunction),
            documentation: cpg_matrix::documentation(),
        },
        TableFunction {
            name: "read_examples",
            function: Arc::new(read_examples::ReadExamplesFunction),
            documentation: read_examples::documentation(),
        },
    ]
}

/// The integer literal at `args[i]`, named for errors.
pub(crate) fn int_arg(
    function: &str,
    usage: &str,
    args: &[Expr],
    i: usize,
    what: &str,
) -> Result<i64> {
    match args.get(i) {
        Some(Expr::Literal(v, _)) => match v {
            ScalarValue::Int8(Some(x)) => Ok(i64::from(*x)),
            ScalarValue::Int16(Some(x)) => Ok(i64::from(*x)),
            ScalarValue::Int32(Some(x)) => Ok(i64::from(*x)),
            ScalarValue::Int64(Some(x)) => Ok(*x),
            ScalarValue::UInt8(Some(x)) => Ok(i64::from(*x)),
            ScalarValue::UInt16(Some(x)) => Ok(i64::from(*x)),
            ScalarValue::UInt32(Some(x)) => Ok(i64::from(*x)),
            ScalarValue::UInt64(Some(x)) => {
                i64::try_from(*x).or_else(|_| plan_err!("{function}(): {what} {x} is too large"))
            }
            other => plan_err!("{function}(): {what} must be an integer, got {other} ({usage})"),
        },
        Some(other) => {
            plan_err!("{function}(): {what} must be an integer literal, got {other} ({usage})")
        }
        None => plan_err!("{function}(): {what} is missing ({usage})"),
    }
}
