//! The SQL of dnabench: task definitions and metric reports, embedded in the
//! binary, and the named-parameter templating every query goes through.
//!
//! A query file declares its parameters in comment lines:
//!
//! ```sql
//! -- @param width 500 Window width in bp
//! SELECT chrom, start, start + $width AS end FROM tiles($width)
//! ```
//!
//! and a caller fills them with `--param width=1000`.

mod metrics;
mod tasks;
mod template;
mod variants;

pub use metrics::{MetricQuery, METRIC_QUERIES};
pub use tasks::{Downstream, Headline, Prediction, Task, TASKS};

pub use template::{parse_assignment, render, ParamError, ParamSpec, SqlTemplate};
pub use variants::{Variant, VARIANTS};
