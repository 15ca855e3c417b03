//! The six tasks of the benchmark, one SQL file each in `queries/`.

use crate::template::{ParamError, SqlTemplate};

/// A task: its name and the text of its query.
#[derive(Debug, Clone, Copy)]
pub struct Task {
    pub name: &'static str,
    pub sql: &'static str,
}

/// Every task, in the paper's order.
pub const TASKS: &[Task] = &[
    Task {
        name: "promoter",
        sql: include_str!("../promoter.sql"),
    },
    Task {
        name: "methylation",
        sql: include_str!("../methylation.sql"),
    },
    Task {
        name: "chromatin",
        sql: include_str!("../chromatin.sql"),
    },
    Task {
        name: "expression",
        sql: include_str!("../expression.sql"),
    },
    Task {
        name: "causal_snp",
        sql: include_str!("../causal_snp.sql"),
    },
    Task {
        name: "mpra",
        sql: include_str!("../mpra.sql"),
    },
];

impl Task {
    /// The task called `name`.
    pub fn named(name: &str) -> Option<Task> {
        TASKS.iter().copied().find(|t| t.name == name)
    }

    /// Its query with the declared parameters; the origin names the file.
    pub fn template(&self) -> Result<SqlTemplate, ParamError> {
        SqlTemplate::parse(format!("queries/{}.sql", self.name), self.sql)
    }

    /// The first paragraph of the query's leading comment.
    pub fn summary(&self) -> String {
        self.sql
            .lines()
            .map_while(|l| l.strip_prefix("--"))
            .take_while(|l| !l.trim_start().starts_with("@param"))
            .map(str::trim)
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_task_declares_every_parameter_it_uses() {
        for task in TASKS {
            let template = task.template().unwrap();
            // Rendering with defaults only fails if a $name has no declaration.
            let sql = template.render(&Default::default()).unwrap();
            assert!(!sql.contains('$'), "{}: {sql}", task.name);
            assert!(!task.summary().is_empty());
        }
        assert!(Task::named("promoter").is_some() && Task::named("nope").is_none());
    }
}
