//! The six tasks of the benchmark and every fact about them, in one place:
//! the query that materializes a task (`queries/TASK.sql`), what its model
//! predicts and from which `examples` column, whether an example is a
//! ref/alt pair, the headline metrics a leaderboard shows, and the
//! downstream model the paper fits on a backbone's embeddings. Training's
//! heads, the report, the quickstart and the experiment runner read them
//! from here.

use crate::metrics::MetricQuery;
use crate::template::{ParamError, SqlTemplate};

/// What a task's model predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prediction {
    /// One logit against the 0/1 `label` (BCE).
    Binary,
    /// One logit per track listed in `positive_tracks` (focal loss or BCE).
    MultiLabel,
    /// One value per sample of `targets`, NULL ones masked (Huber or MSE).
    PerSample { huber: bool },
    /// One value against the `label` (MSE).
    Value,
}

/// A model fitted on a backbone's embeddings instead of trained end to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Downstream {
    /// A random forest, one per tissue.
    Forest,
    /// Gradient-boosted regression trees.
    Boosted,
    /// An upper Transformer over the embeddings of a window's segments.
    Upper,
}

/// A metric a leaderboard shows: (metric, group, column label).
pub type Headline = (&'static str, &'static str, &'static str);

/// A task and its facts.
#[derive(Debug, Clone, Copy)]
pub struct Task {
    pub name: &'static str,
    /// The task's query (`queries/NAME.sql`).
    pub sql: &'static str,
    pub prediction: Prediction,
    /// An example is a variant: the model reads `seq` and `alt_seq` and its
    /// output is `f(alt) - f(ref)`.
    pub pair: bool,
    /// The leaderboard's metrics, the first the headline.
    pub headline: &'static [Headline],
    /// How the paper solves the task on a backbone's embeddings, if it does.
    pub downstream: Option<Downstream>,
    /// The paper's values of the headline metric (its Table 6.4: the
    /// baselines on every task), by model, for a leaderboard to show
    /// beside a store's runs. `experiments/table_6_4.toml` holds the same
    /// numbers, and a test keeps the two equal.
    pub paper: &'static [(&'static str, f64)],
}

const BINARY_HEADLINE: &[Headline] = &[
    ("auroc", "all", "AUROC"),
    ("auprc", "all", "AUPRC"),
    ("auprc_paper", "all", "AUPR (paper)"),
];

/// Every task, in the paper's order.
pub const TASKS: &[Task] = &[
    Task {
        name: "promoter",
        sql: include_str!("../promoter.sql"),
        prediction: Prediction::Binary,
        pair: false,
        headline: BINARY_HEADLINE,
        downstream: None,
        paper: &[("attention", 0.954), ("cnn_fc", 0.939), ("cnn_lstm", 0.942)],
    },
    Task {
        name: "methylation",
        sql: include_str!("../methylation.sql"),
        prediction: Prediction::PerSample { huber: false },
        pair: false,
        headline: &[
            ("spearman", "mean", "Spearman"),
            ("spearman_paper", "mean", "Spearman (paper)"),
        ],
        downstream: None,
        paper: &[("attention", 0.607), ("cnn_fc", 0.576), ("cnn_lstm", 0.572)],
    },
    Task {
        name: "chromatin",
        sql: include_str!("../chromatin.sql"),
        prediction: Prediction::MultiLabel,
        pair: false,
        headline: &[
            ("auroc_mean", "all", "AUROC mean"),
            ("auprc_mean", "all", "AUPRC mean"),
            ("auprc_paper_mean", "all", "AUPR mean (paper)"),
        ],
        downstream: None,
        paper: &[("attention", 0.887), ("cnn_fc", 0.87), ("cnn_lstm", 0.874)],
    },
    Task {
        name: "expression",
        sql: include_str!("../expression.sql"),
        prediction: Prediction::PerSample { huber: true },
        pair: false,
        headline: &[
            ("spearman", "mean", "Spearman"),
            ("spearman_paper", "mean", "Spearman (paper)"),
        ],
        downstream: Some(Downstream::Upper),
        paper: &[("attention", 0.843), ("cnn_fc", 0.835), ("cnn_lstm", 0.835)],
    },
    Task {
        name: "causal_snp",
        sql: include_str!("../causal_snp.sql"),
        prediction: Prediction::Binary,
        pair: true,
        headline: BINARY_HEADLINE,
        downstream: Some(Downstream::Forest),
        paper: &[("attention", 0.721), ("cnn_fc", 0.716), ("cnn_lstm", 0.718)],
    },
    Task {
        name: "mpra",
        sql: include_str!("../mpra.sql"),
        prediction: Prediction::Value,
        pair: true,
        headline: &[
            ("spearman", "all", "Spearman"),
            ("spearman_paper", "all", "Spearman (paper)"),
        ],
        downstream: Some(Downstream::Boosted),
        paper: &[("attention", 0.389), ("cnn_fc", 0.377), ("cnn_lstm", 0.37)],
    },
];

impl Task {
    /// The task called `name`.
    pub fn named(name: &str) -> Option<Task> {
        TASKS.iter().copied().find(|t| t.name == name)
    }

    /// The names of every task, for messages.
    pub fn names() -> String {
        TASKS.iter().map(|t| t.name).collect::<Vec<_>>().join(", ")
    }

    /// Its query with the declared parameters; the origin names the file.
    pub fn template(&self) -> Result<SqlTemplate, ParamError> {
        SqlTemplate::parse(format!("queries/{}.sql", self.name), self.sql)
    }

    /// Its metric query (`queries/metrics/NAME.sql`).
    pub fn metrics(&self) -> MetricQuery {
        MetricQuery::for_task(self.name).expect("every task has a metric query")
    }

    /// The headline metric: (metric, group, column label).
    pub fn headline_metric(&self) -> Headline {
        self.headline[0]
    }

    /// Whether its predictions are scores of a binary label (ROC and PR
    /// curves apply).
    pub fn is_binary(&self) -> bool {
        self.prediction == Prediction::Binary
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

    #[test]
    fn every_headline_metric_is_one_its_metric_query_computes() {
        for task in TASKS {
            let sql = task.metrics().sql;
            for (metric, _, _) in task.headline {
                assert!(
                    sql.contains(&format!("'{metric}'")),
                    "{}: {metric}",
                    task.name
                );
            }
            // Pairs are exactly the variant tasks, and every downstream
            // task reads a backbone's embeddings of a window or a pair.
            assert_eq!(task.pair, task.sql.contains("alt"), "{}", task.name);
        }
    }
}
