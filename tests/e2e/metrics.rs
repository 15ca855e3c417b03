//! The metric aggregates through `dnabench sql`: against scikit-learn and
//! scipy on random data (`tests/fixtures/metrics/`, made by the script
//! there), and on small cases worked by hand.

use crate::common::{ok, repo};

/// Runs a file of SQL statements without a store; the last result as CSV rows.
fn sql_file(text: &str) -> Vec<Vec<String>> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("metrics.sql");
    std::fs::write(&file, text).unwrap();
    let store = dir.path().join("no-store");
    let out = ok(&[
        "sql",
        "-f",
        file.to_str().unwrap(),
        "--format",
        "csv",
        "--store",
        store.to_str().unwrap(),
    ]);
    out.lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

#[test]
fn every_metric_agrees_with_scikit_learn_and_scipy_to_1e_9() {
    let dir = repo("tests/fixtures/metrics");
    let got = sql_file(&format!(
        "CREATE EXTERNAL TABLE pairs STORED AS CSV LOCATION '{}' OPTIONS ('format.has_header' 'true');
         SELECT \"group\", auroc(score, label), auprc(score, label), auprc_trapz(score, label),
                spearman(score, y), pearson(score, y), mse(score, y)
         FROM pairs GROUP BY \"group\" ORDER BY \"group\";",
        dir.join("pairs.csv").display()
    ));
    let expected = std::fs::read_to_string(dir.join("expected.csv")).unwrap();
    let expected: Vec<Vec<f64>> = expected
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    assert_eq!(got.len(), expected.len());
    let names = [
        "auroc",
        "auprc",
        "auprc_trapz",
        "spearman",
        "pearson",
        "mse",
    ];
    for (row, want) in got.iter().zip(&expected) {
        for (i, name) in names.iter().enumerate() {
            let value: f64 = row[i + 1].parse().unwrap();
            assert!(
                (value - want[i + 1]).abs() < 1e-9,
                "group {}: {name} {value} vs {}",
                row[0],
                want[i + 1]
            );
        }
    }
}

#[test]
fn worked_cases_ties_nulls_and_one_class() {
    let rows = sql_file(
        "CREATE TABLE t (g VARCHAR, score DOUBLE, label BOOLEAN) AS VALUES
           ('plain', 0.1, false), ('plain', 0.4, false), ('plain', 0.35, true), ('plain', 0.8, true),
           ('tied', 5, false), ('tied', 5, true), ('tied', 5, false), ('tied', 5, true),
           ('one_class', 0.3, true), ('one_class', 0.9, true),
           ('with_nulls', 0.1, false), ('with_nulls', NULL, true), ('with_nulls', 'NaN', false),
           ('with_nulls', 0.9, true), ('with_nulls', 0.5, NULL);
         SELECT g, auroc(score, label), auprc(score, label), auprc_trapz(score, label),
                spearman(score, score), mse(score, score)
         FROM t GROUP BY g ORDER BY g;",
    );
    let row = |g: &str| rows.iter().find(|r| r[0] == g).unwrap().clone();
    let plain = row("plain");
    assert_eq!(plain[1], "0.75");
    assert!((plain[2].parse::<f64>().unwrap() - 5.0 / 6.0).abs() < 1e-12);
    assert_eq!(row("tied")[1..4], ["0.5", "0.5", "0.75"]);
    // One class: NULL, an empty CSV cell; constant scores: no Spearman.
    assert_eq!(row("one_class")[1..4], ["", "", ""]);
    assert_eq!(row("tied")[4], "");
    // NULL and NaN rows are left out: 0.1 (negative) against 0.9 (positive).
    assert_eq!(row("with_nulls")[1..4], ["1.0", "1.0", "1.0"]);
    assert_eq!(row("with_nulls")[5], "0.0");
}

#[test]
fn list_outputs_are_scored_per_label_through_unnest() {
    let rows = sql_file(
        "CREATE TABLE p (id INT, output FLOAT[], labels FLOAT[]) AS VALUES
           (1, [0.9, 0.1], [1.0, 0.0]), (2, [0.2, 0.8], [0.0, 1.0]),
           (3, [0.7, 0.3], [1.0, 1.0]), (4, [0.1, 0.6], [0.0, 0.0]);
         SELECT i, auroc(score, label) FROM (
           SELECT unnest(range(cardinality(output))) AS i, unnest(output) AS score,
                  unnest(labels) AS label FROM p)
         GROUP BY i ORDER BY i;",
    );
    assert_eq!(rows, vec![vec!["0", "1.0"], vec!["1", "0.75"]]);
}
