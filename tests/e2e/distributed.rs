//! SQL on two `dnabench worker` processes on 127.0.0.1, started and
//! stopped by the tests: the same rows as one process, stages and tasks in
//! `EXPLAIN`, and a clear error (and no commit) when a worker is dead
//! before a query or dies during one.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use crate::common::{csv, ok, QuickstartCopy};

/// The mini benchmark, data steps only.
fn fixture() -> &'static QuickstartCopy {
    static FIXTURE: OnceLock<QuickstartCopy> = OnceLock::new();
    FIXTURE.get_or_init(QuickstartCopy::new)
}

fn store() -> &'static str {
    fixture().store.to_str().unwrap()
}

/// A worker process, killed when dropped.
struct WorkerProcess {
    child: Child,
    url: String,
}

impl WorkerProcess {
    fn start() -> WorkerProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_dnabench"))
            .args(["worker", "--store", store(), "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the worker starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("worker listening on ")
            .unwrap_or_else(|| panic!("the worker said: {line}"))
            .to_string();
        WorkerProcess { child, url }
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn on_workers(workers: &[&WorkerProcess], args: &[&str]) -> String {
    let urls: Vec<&str> = workers.iter().map(|w| w.url.as_str()).collect();
    let list = urls.join(",");
    let mut all = vec!["--workers", list.as_str()];
    all.extend_from_slice(args);
    ok(&all)
}

fn sorted(text: String) -> Vec<String> {
    let mut rows: Vec<String> = text.lines().skip(1).map(str::to_string).collect();
    rows.sort();
    rows
}

#[test]
fn two_workers_give_the_rows_of_one_process() {
    let (a, b) = (WorkerProcess::start(), WorkerProcess::start());
    for sql in [
        "SELECT track_id, chrom, count(*) AS n, sum(\"end\" - start) AS bp FROM peaks GROUP BY track_id, chrom",
        "SELECT dataset, split, count(*) AS n FROM examples GROUP BY dataset, split",
        // An interval join: its build side is never split across tasks.
        "SELECT g.gene_id, count(*) AS n FROM genes g JOIN peaks p ON p.chrom = g.chrom \
         AND p.start < g.tss + 1000 AND g.tss - 1000 < p.\"end\" GROUP BY g.gene_id",
    ] {
        let local = sorted(ok(&["sql", "--store", store(), "--format", "csv", sql]));
        assert!(!local.is_empty(), "{sql}");
        let remote = sorted(on_workers(
            &[&a, &b],
            &["sql", "--store", store(), "--format", "csv", sql],
        ));
        assert_eq!(remote, local, "{sql}");
    }
    // EXPLAIN as the last statement of a file, after a view it reads.
    let explain = fixture().store.with_file_name("explain.sql");
    std::fs::write(
        &explain,
        "CREATE VIEW by_split AS SELECT dataset, split FROM examples;\n\
         EXPLAIN SELECT dataset, split, count(*) FROM by_split GROUP BY dataset, split;\n",
    )
    .unwrap();
    let plan = on_workers(
        &[&a, &b],
        &["sql", "--store", store(), "-f", explain.to_str().unwrap()],
    );
    // examples holds a fragment per materialized dataset: the scan stage
    // runs as several tasks.
    assert!(plan.contains("Stage") && plan.contains("tasks=2"), "{plan}");
    // Materialize through the workers: the coordinator streams the rows
    // into `examples` and commits once; they are one process's rows.
    for task in ["chromatin", "methylation", "causal_snp"] {
        let name = format!("{task}_on_workers");
        on_workers(
            &[&a, &b],
            &[
                "materialize",
                "--task",
                task,
                "--name",
                &name,
                "--store",
                store(),
            ],
        );
        let columns = "example_id, split, chrom, start, \"end\", pos, alt, context, label, \
             array_to_string(targets, ';'), array_to_string(positive_tracks, ';')";
        for (x, y) in [(name.as_str(), task), (task, name.as_str())] {
            let differ = csv(
                &fixture().store,
                &format!(
                    "SELECT count(*) FROM (SELECT {columns} FROM examples WHERE dataset = '{x}' \
                     EXCEPT SELECT {columns} FROM examples WHERE dataset = '{y}')"
                ),
            );
            assert_eq!(
                differ,
                vec!["0".to_string()],
                "{task}: {x} has rows {y} has not"
            );
        }
    }
    // eval through the workers: the metrics of one process.
    let ids = csv(
        &fixture().store,
        "SELECT example_id, CASE WHEN gc_content(seq(chrom, start, \"end\")) > 0.5 THEN 1.5 ELSE -0.5 END \
         FROM examples WHERE dataset = 'promoter' AND split IN ('valid', 'test')",
    );
    let path = fixture().store.with_file_name("gc.csv");
    std::fs::write(&path, format!("example_id,output_0\n{}\n", ids.join("\n"))).unwrap();
    for run in ["gc-local", "gc-workers"] {
        let args = [
            "eval",
            "--predictions",
            path.to_str().unwrap(),
            "--run",
            run,
            "--dataset",
            "promoter",
            "--store",
            store(),
        ];
        if run == "gc-local" {
            ok(&args);
        } else {
            on_workers(&[&a, &b], &args);
        }
    }
    let metrics = |run: &str| {
        csv(
            &fixture().store,
            &format!(
                "SELECT metric, \"group\", value FROM metrics WHERE run_id = '{run}' ORDER BY metric, \"group\""
            ),
        )
    };
    assert!(!metrics("gc-local").is_empty());
    assert_eq!(metrics("gc-workers"), metrics("gc-local"));
}

/// `materialize` of a chromatin split named `name` on `urls`: it
/// re-splits `examples`, which holds a fragment per dataset, so its scan
/// runs as two tasks.
fn materialize_on(urls: &[String], name: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dnabench"));
    command
        .args(["--workers", &urls.join(",")])
        .args([
            "materialize",
            "--task",
            "chromatin",
            "--variant",
            "chrom_split",
        ])
        .args([
            "--param",
            "valid_chroms=chr12",
            "--param",
            "test_chroms=chr8",
        ])
        .args(["--name", name, "--store", store()])
        .env_remove("DNABENCH_STORE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

fn rows_of(dataset: &str) -> Vec<String> {
    csv(
        &fixture().store,
        &format!("SELECT count(*) FROM examples WHERE dataset = '{dataset}'"),
    )
}

/// The query failed, naming one of `urls`, and committed nothing.
fn failed_by_name(out: std::process::Output, urls: &[String], dataset: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a query on dead workers succeeded");
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        urls.iter().any(|u| err.contains(&format!("on worker {u}"))),
        "the error names a worker of {urls:?}: {err}"
    );
    assert_eq!(rows_of(dataset), vec!["0".to_string()]);
}

#[test]
fn a_dead_worker_fails_the_query_by_name_and_nothing_is_committed() {
    // Both workers die before the query reaches them (which worker a task
    // lands on is the planner's choice).
    let mut workers = [WorkerProcess::start(), WorkerProcess::start()];
    let urls: Vec<String> = workers.iter().map(|w| w.url.clone()).collect();
    for w in &mut workers {
        let _ = w.child.kill();
        let _ = w.child.wait();
    }
    let out = materialize_on(&urls, "split_on_dead_workers")
        .output()
        .unwrap();
    failed_by_name(out, &urls, "split_on_dead_workers");
}

#[test]
fn a_worker_killed_mid_query_fails_it_by_name_and_nothing_is_committed() {
    // The workers are frozen before the query, so it cannot finish before
    // they die: the coordinator connects, sends its stages and waits.
    let mut workers = [WorkerProcess::start(), WorkerProcess::start()];
    let urls: Vec<String> = workers.iter().map(|w| w.url.clone()).collect();
    for w in &workers {
        let pid = w.child.id().to_string();
        let frozen = Command::new("kill").args(["-STOP", &pid]).status();
        assert!(frozen.unwrap().success());
    }
    let mut query = materialize_on(&urls, "split_on_killed_workers")
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(2));
    if query.try_wait().unwrap().is_some() {
        let out = query.wait_with_output().unwrap();
        panic!(
            "the query ended before its workers died: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for w in &mut workers {
        let _ = w.child.kill();
        let _ = w.child.wait();
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while query.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = query.kill();
            panic!("the query did not end within 2 minutes of its workers' death");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    failed_by_name(
        query.wait_with_output().unwrap(),
        &urls,
        "split_on_killed_workers",
    );
}
