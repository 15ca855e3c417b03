//! The metric query of each task (`queries/metrics/TASK.sql`): the paper's
//! metrics over one run's predictions, as rows of (metric, group, value).

use crate::template::{ParamError, SqlTemplate};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricQuery {
    pub task: &'static str,
    pub sql: &'static str,
}

pub const METRIC_QUERIES: &[MetricQuery] = &[
    MetricQuery {
        task: "promoter",
        sql: include_str!("../metrics/promoter.sql"),
    },
    MetricQuery {
        task: "methylation",
        sql: include_str!("../metrics/methylation.sql"),
    },
    MetricQuery {
        task: "chromatin",
        sql: include_str!("../metrics/chromatin.sql"),
    },
    MetricQuery {
        task: "expression",
        sql: include_str!("../metrics/expression.sql"),
    },
    MetricQuery {
        task: "causal_snp",
        sql: include_str!("../metrics/causal_snp.sql"),
    },
    MetricQuery {
        task: "mpra",
        sql: include_str!("../metrics/mpra.sql"),
    },
];

impl MetricQuery {
    /// The metric query of `task`.
    pub fn for_task(task: &str) -> Option<MetricQuery> {
        METRIC_QUERIES.iter().copied().find(|m| m.task == task)
    }

    pub fn template(&self) -> Result<SqlTemplate, ParamError> {
        SqlTemplate::parse(format!("queries/metrics/{}.sql", self.task), self.sql)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_task_has_a_metric_query_that_declares_run_and_split() {
        for task in crate::TASKS {
            let m = MetricQuery::for_task(task.name).unwrap();
            let t = m.template().unwrap();
            let names: Vec<&str> = t.params.iter().map(|p| p.name.as_str()).collect();
            assert_eq!(names, ["run", "split"], "{}", task.name);
            let sql = t.render(&Default::default()).unwrap();
            assert!(!sql.contains('$'), "{}", task.name);
        }
    }
}
