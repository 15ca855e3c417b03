//! `dnabench quickstart`: the whole benchmark on the bundled data, from
//! simulation to the report.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use dnabench_engine::{materialize, open_session, sql::run_sql, Store};
use dnabench_queries::{Task, TASKS};
use dnabench_training as training;
use std::collections::BTreeMap;

use crate::embedding_commands::{fit_with, FitConfig};
use crate::training_commands::print_run;
use crate::{data_dir, eval, materialized_line, print_result, print_tables, simulate};
use training::downstream::DownstreamModel;

/// The quickstart's configs, embedded so that it runs from any folder.
const QUICKSTART_CNN: &str = include_str!("../training/configs/quickstart_cnn.toml");
const QUICKSTART_TRANSFORMER: &str =
    include_str!("../training/configs/quickstart_transformer.toml");

/// Optimizer steps at most, for the tasks whose examples cost most: the 40 kb
/// expression windows (one epoch) and the ref + alt pairs of the variant
/// tasks. The others take the config's `max_steps`.
const STEP_BUDGETS: [(&str, usize); 3] = [("expression", 5), ("causal_snp", 100), ("mpra", 100)];

/// Tasks the quickstart's Transformer leaves out.
const TRANSFORMER_SKIPS: [&str; 2] = ["expression", "mpra"];

/// The backbone of the downstream tasks: a CNN on the chromatin task's
/// 200 bp bins alone (`flank = 0`), the segment length it embeds. On the
/// 1000 bp inputs a max over positions cannot tell a motif in the bin from
/// one in the flanks; on the bins alone it learns the TF motifs, and at 5×
/// fewer bases per example it trains 5× the steps in the same time.
const BACKBONE_DATASET: &str = "chromatin_bins";
const QUICKSTART_BACKBONE: &str = include_str!("../training/configs/quickstart_backbone.toml");

/// The downstream models on the backbone's embeddings, as the paper
/// solves its last three tasks.
const DOWNSTREAM: [(&str, DownstreamModel); 3] = [
    ("causal_snp", DownstreamModel::Forest),
    ("mpra", DownstreamModel::Boosted),
    ("expression", DownstreamModel::Upper),
];
const QUICKSTART_DOWNSTREAM: &str = include_str!("../training/configs/quickstart_downstream.toml");

/// The quickstart: data steps in the async runtime, training outside it.
pub(crate) fn quickstart(
    store_path: &Path,
    data: Option<PathBuf>,
    models: &str,
    epochs: Option<usize>,
) -> Result<()> {
    let started = std::time::Instant::now();
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(quickstart_data(store_path, data))?;
    let models: Vec<&str> = models
        .split(',')
        .map(str::trim)
        .filter(|m| !m.is_empty() && *m != "none")
        .collect();
    for m in &models {
        if !matches!(*m, "cnn" | "transformer") {
            bail!("--models takes cnn and transformer, not '{m}'");
        }
    }
    if models.is_empty() {
        return Ok(());
    }
    let store = Store::open(store_path)?;
    let scored = |dataset: &str, model: &str, config| {
        let (mut config, kind, tokenizer): (training::config::ConfigFile, _, _) = config;
        if let Some(e) = epochs {
            config.train.epochs = e;
        }
        train_and_score(
            &store,
            store_path,
            &runtime,
            dataset,
            model,
            (config, kind, tokenizer),
        )
    };
    let mut runs = Vec::new();
    for task in TASKS {
        for model in &models {
            // 40 kb is 10,000 patches, and MPRA's 1400 bp ref + alt pairs
            // train at 4 examples/s: beyond a CPU quickstart's minutes.
            if *model == "transformer" && TRANSFORMER_SKIPS.contains(&task.name) {
                continue;
            }
            let (text, kind, tokenizer) = match *model {
                "cnn" => (
                    QUICKSTART_CNN,
                    training::config::ModelKind::Cnn,
                    training::config::TokenizerKind::OneHot,
                ),
                _ => (
                    QUICKSTART_TRANSFORMER,
                    training::config::ModelKind::Transformer,
                    training::config::TokenizerKind::Kpatch,
                ),
            };
            let mut config = training::config::ConfigFile::parse(text)?;
            if let Some((_, steps)) = STEP_BUDGETS.iter().find(|(t, _)| *t == task.name) {
                config.train.max_steps = config.train.max_steps.min(*steps);
            }
            runs.push(scored(task.name, model, (config, kind, tokenizer))?);
        }
    }
    if models.contains(&"cnn") {
        let backbone = scored(
            BACKBONE_DATASET,
            "backbone",
            (
                training::config::ConfigFile::parse(QUICKSTART_BACKBONE)?,
                training::config::ModelKind::Cnn,
                training::config::TokenizerKind::OneHot,
            ),
        )?;
        runs.extend(downstream(&store, store_path, &runtime, &backbone)?);
        runs.push(backbone);
    }
    let out = store_path.with_file_name(format!(
        "{}-report",
        store_path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("quickstart")
    ));
    if out.exists() {
        std::fs::remove_dir_all(&out)
            .with_context(|| format!("cannot replace {}", out.display()))?;
    }
    println!(
        "\n$ dnabench report --store {} --out {}",
        store_path.display(),
        out.display()
    );
    let report = runtime.block_on(dnabench_engine::report::report(&store, &runs, &out))?;
    println!("{}", report.leaderboard);
    println!(
        "quickstart done in {:.0} s; the report is {} ({} figures)",
        started.elapsed().as_secs_f64(),
        report.markdown.display(),
        report.figures.len()
    );
    Ok(())
}

/// Trains on `dataset` with the quickstart config named `config_name`,
/// predicts valid and test, and scores test; the run id.
fn train_and_score(
    store: &Store,
    store_path: &Path,
    runtime: &tokio::runtime::Runtime,
    dataset: &str,
    config_name: &str,
    (config, kind, tokenizer): (
        training::config::ConfigFile,
        training::config::ModelKind,
        training::config::TokenizerKind,
    ),
) -> Result<String> {
    println!(
        "\n$ dnabench train --task {dataset} --model {kind} --config training/configs/quickstart_{config_name}.toml --store {}",
        store_path.display()
    );
    let record = training::train::train(
        store,
        training::train::TrainRequest {
            dataset: dataset.to_string(),
            model: kind,
            tokenizer,
            positions: training::models::Positions::Rotary,
            config,
            device: training::Device::Cpu,
            init: None,
            run_id: None,
            progress: std::io::stderr().is_terminal(),
        },
    )?;
    print_run(&record, store_path);
    let run_id = record.config.run_id.clone();
    let summary = training::predict::predict(
        store,
        &training::predict::PredictRequest {
            run_id: run_id.clone(),
            splits: vec!["valid".into(), "test".into()],
            device: training::Device::Cpu,
            batch_size: 256,
            progress: false,
        },
    )?;
    println!(
        "$ dnabench predict --run {run_id} --split valid,test: {} examples",
        summary.rows
    );
    runtime.block_on(eval(store, &run_id, "test"))?;
    Ok(run_id)
}

/// Embeds the downstream tasks with the backbone run and fits their
/// models; the run ids, scored.
fn downstream(
    store: &Store,
    store_path: &Path,
    runtime: &tokio::runtime::Runtime,
    backbone: &str,
) -> Result<Vec<String>> {
    let config = FitConfig::parse(QUICKSTART_DOWNSTREAM)?;
    let mut runs = Vec::new();
    for (task, model) in DOWNSTREAM {
        println!(
            "\n$ dnabench embed --run {backbone} --task {task} --store {}",
            store_path.display()
        );
        let summary = training::embed::embed(
            store,
            &training::embed::EmbedRequest {
                run_id: backbone.to_string(),
                dataset: task.to_string(),
                table: None,
                device: training::Device::Cpu,
                batch_size: 256,
                progress: false,
            },
        )?;
        println!(
            "embedded {} examples into {} ({} features each, {:.0} segments/s)",
            summary.rows, summary.table, summary.dim, summary.segments_per_s
        );
        println!(
            "$ dnabench fit --task {task} --model {model} --config training/configs/quickstart_downstream.toml --store {}",
            store_path.display()
        );
        let row = fit_with(store, task, model, None, config.clone(), None)?;
        println!("run {}: {} on {} embeddings", row.run_id, row.model, task);
        runtime.block_on(eval(store, &row.run_id, "test"))?;
        runs.push(row.run_id);
    }
    Ok(runs)
}

async fn quickstart_data(store_path: &Path, data: Option<PathBuf>) -> Result<()> {
    let data = data_dir(data)?;
    let out = store_path.with_file_name(format!(
        "{}-sources",
        store_path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("quickstart")
    ));
    for dir in [store_path, out.as_path()] {
        if dir.exists() {
            std::fs::remove_dir_all(dir)
                .with_context(|| format!("cannot replace {}", dir.display()))?;
        }
    }
    println!(
        "$ dnabench simulate --out {} --seed 1 --store {}",
        out.display(),
        store_path.display()
    );
    simulate(&out, 1, Some(store_path), Some(data)).await?;
    let store = Store::open(store_path)?;
    let ctx = open_session(&store).await?;
    // The six tasks, then the backbone's variant of chromatin.
    let chromatin = Task::named("chromatin").context("the chromatin task")?;
    let mut datasets: Vec<(&Task, &str, BTreeMap<String, String>)> =
        TASKS.iter().map(|t| (t, t.name, BTreeMap::new())).collect();
    let bins = BTreeMap::from([("flank".to_string(), "0".to_string())]);
    datasets.push((&chromatin, BACKBONE_DATASET, bins));
    for (task, name, params) in &datasets {
        let variant: String = (params.iter())
            .map(|(k, v)| format!(" --param {k}={v}"))
            .chain((*name != task.name).then(|| format!(" --name {name}")))
            .collect();
        println!(
            "\n$ dnabench materialize --task {}{variant} --store {}",
            task.name,
            store_path.display()
        );
        let started = std::time::Instant::now();
        let m = materialize::materialize_task(&ctx, task, name, params).await?;
        materialize::write_examples(&store, &m).await?;
        println!("{}", materialized_line(&m, started.elapsed()));
    }
    println!("\n$ dnabench tables --store {}", store_path.display());
    print_tables(&store).await?;
    let ctx = open_session(&store).await?;
    let queries = [
        "SELECT dataset, split, count(*) AS examples, round(avg(label), 3) AS mean_label, max(length(seq)) AS seq_len FROM examples GROUP BY 1, 2 ORDER BY 1, 2",
        "SELECT example_id, split, substr(seq, 1, 40) AS seq_start, positive_tracks FROM examples WHERE task = 'chromatin' ORDER BY cardinality(positive_tracks) DESC, example_id LIMIT 3",
    ];
    for q in queries {
        println!("\n$ dnabench sql --store {} \"{q}\"", store_path.display());
        let result = run_sql(&ctx, "query", q, &BTreeMap::new()).await?;
        print_result(&result)?;
    }
    Ok(())
}
