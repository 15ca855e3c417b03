"""A model outside dnabench on the benchmark, from Python: its predictions
written batch by batch, checked, committed as a run, scored by the task's
SQL (the same numbers as the same outputs from a file through the CLI, and
as an AUROC computed here), its embeddings fitted by the downstream models,
the loader's shards for data-parallel training, and the leaderboard."""

import json
import os
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from conftest import REPO, run


def auroc(scores, labels) -> float:
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    # Ties share their mean rank.
    for value in np.unique(scores):
        tied = scores == value
        ranks[tied] = ranks[tied].mean()
    positives = labels > 0.5
    n_pos, n_neg = positives.sum(), (~positives).sum()
    return (ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def gc_scores(batch) -> torch.Tensor:
    """A 'model' anyone can check: the window's GC fraction as a logit."""
    x = batch["x"]
    return (x[:, 1] + x[:, 2]).mean(dim=1, keepdim=True) * 10 - 5


def metrics_of(store, run_id):
    t = store.sql(
        'SELECT metric, "group", value FROM metrics WHERE run_id = $run AND split = $split ORDER BY metric, "group"',
        run=run_id,
        split="test",
    )
    return list(zip(*(t.column(c).to_pylist() for c in ("metric", "group", "value"))))


def test_predictions_written_from_python_score_as_the_same_outputs_from_a_file(store, store_path, tmp_path):
    outputs, labels = [], []
    for split in ("valid", "test"):
        for batch in store.loader("promoter", split, batch_size=128):
            out = gc_scores(batch)
            store.write_predictions("gc-python", batch["example_id"], out, dataset="promoter")
            if split == "test":
                labels.append(batch["y"][:, 0].numpy())
                outputs.append(out[:, 0].numpy())
    summary = store.commit_predictions("gc-python", model="GC content", config={"seed": 0, "k": 10})
    assert summary["task"] == "promoter"
    assert {c["split"]: c["given"] == c["examples"] for c in summary["coverage"]} == {"valid": True, "test": True}
    scores = store.eval("gc-python")
    by_metric = {(m, g): v for m, g, v in zip(*(scores.column(c).to_pylist() for c in ("metric", "group", "value")))}
    want = auroc(np.concatenate(outputs), np.concatenate(labels))
    assert abs(by_metric[("auroc", "all")] - want) < 1e-9, (by_metric, want)
    # The same outputs through a file and the command line score the same.
    table = store.sql("SELECT example_id, output FROM predictions WHERE run_id = 'gc-python'")
    path = tmp_path / "gc.parquet"
    pq.write_table(table, path)
    run("eval", "--predictions", str(path), "--run", "gc-file", "--dataset", "promoter", "--store", str(store_path))
    assert metrics_of(store, "gc-file") == metrics_of(store, "gc-python")
    # Arrow IPC (Feather v2), the outputs as a fixed-size list.
    import pyarrow.feather as feather

    ipc = tmp_path / "gc.arrow"
    flat = pa.array(np.concatenate([o for o in table.column("output").to_numpy(zero_copy_only=False)]).astype(np.float32))
    feather.write_feather(
        pa.table({"example_id": table.column("example_id"), "output": pa.FixedSizeListArray.from_arrays(flat, 1)}), ipc
    )
    run("eval", "--predictions", str(ipc), "--run", "gc-ipc", "--dataset", "promoter", "--store", str(store_path))
    assert metrics_of(store, "gc-ipc") == metrics_of(store, "gc-python")
    # Scoring again reads the metrics back.
    assert store.eval("gc-python").num_rows == scores.num_rows
    row = store.sql("SELECT kind, model, config FROM runs WHERE run_id = 'gc-python'").to_pylist()[0]
    assert row["kind"] == "outside" and row["model"] == "GC content"
    assert json.loads(row["config"]) == {"seed": 0, "k": 10}


def test_a_bad_batch_is_refused_whole_naming_its_row(store):
    import dnabench

    batch = next(iter(store.loader("promoter", "test", batch_size=4)))
    ids = batch["example_id"]
    store.write_predictions("refused", ids, np.zeros((4, 1), dtype=np.float32), dataset="promoter")
    with pytest.raises(dnabench.DnabenchError, match=r"write_predictions, row 5 \(example '.*'\): the example was given already"):
        store.write_predictions("refused", ids, np.zeros((4, 1)), dataset="promoter")
    with pytest.raises(dnabench.DnabenchError, match="the output has 2 values; the 'promoter' task's model gives 1"):
        store.write_predictions("refused", ["x"], np.zeros((1, 2)), dataset="promoter")
    bad = np.zeros((1, 1))
    bad[0, 0] = np.nan
    other = next(iter(store.loader("promoter", "valid", batch_size=1)))
    with pytest.raises(dnabench.DnabenchError, match="output 0 is NaN"):
        store.write_predictions("refused", other["example_id"], bad, dataset="promoter")
    train = next(iter(store.loader("promoter", "train", batch_size=1, shuffle=False)))
    with pytest.raises(dnabench.DnabenchError, match="is in split 'train'"):
        store.write_predictions("refused", train["example_id"], np.zeros(1), dataset="promoter")
    # Only the first batch was taken; nothing reached the store.
    assert store.sql("SELECT count(*) AS n FROM predictions WHERE run_id = 'refused'").column("n")[0].as_py() == 0
    summary = store.commit_predictions("refused")
    assert summary["rows"] == 4
    with pytest.raises(dnabench.DnabenchError, match="predicts 4 of the .* examples of split 'test'.*--allow-partial"):
        store.eval("refused")
    assert store.eval("refused", allow_partial=True).num_rows > 0
    store.write_predictions("dropped", other["example_id"], np.zeros(1), dataset="promoter")
    assert store.discard_predictions("dropped")
    with pytest.raises(dnabench.DnabenchError, match="no predictions of run 'dropped'"):
        store.commit_predictions("dropped")


def test_embeddings_from_python_are_fitted_by_the_downstream_forest(store):
    torch.manual_seed(0)
    conv = torch.nn.Conv1d(4, 8, 9)
    with torch.no_grad():
        for split in ("train", "valid", "test"):
            for batch in store.loader("causal_snp", split, batch_size=256):
                ref = conv(batch["x"]).amax(dim=2)
                alt = conv(batch["x_alt"]).amax(dim=2)
                store.write_embeddings("conv-lm", "causal_snp", batch["example_id"], torch.stack([ref, alt], dim=1))
    fitted = store.fit("conv-lm", "causal_snp")
    assert fitted.startswith("causal_snp-forest-")
    scores = store.eval(fitted)
    assert ("auroc", "all") in {(m, g) for m, g in zip(scores.column("metric").to_pylist(), scores.column("group").to_pylist())}
    run_row = store.sql("SELECT init, kind FROM runs WHERE run_id = $r", r=fitted).to_pylist()[0]
    assert run_row == {"init": "conv-lm", "kind": "downstream"}
    dim = store.sql("SELECT arrow_typeof(vector) AS t FROM embeddings_causal_snp_conv_lm LIMIT 1").column("t")[0].as_py()
    assert "16" in dim  # 2 sequences x 8 features


def test_shards_are_disjoint_cover_the_split_and_follow_hash_uniform(store):
    whole = set()
    for batch in store.loader("promoter", "train", batch_size=512, shuffle=False):
        whole.update(batch["example_id"].to_pylist())
    shards = []
    for rank in range(3):
        ids = []
        for batch in store.loader("promoter", "train", batch_size=512, seed=7, rank=rank, world_size=3):
            ids.extend(batch["example_id"].to_pylist())
        assert len(ids) == len(set(ids))
        shards.append(set(ids))
    assert set().union(*shards) == whole
    assert sum(len(s) for s in shards) == len(whole)
    assert all(len(s) > len(whole) / 4 for s in shards)
    in_sql = store.sql(
        "SELECT example_id FROM examples WHERE dataset = 'promoter' AND split = 'train' "
        "AND floor(hash_uniform(example_id, 7) * 3) = 1"
    ).column("example_id").to_pylist()
    assert set(in_sql) == shards[1]
    import dnabench

    with pytest.raises(dnabench.DnabenchError, match="rank 3 of world size 3"):
        store.loader("promoter", "train", rank=3, world_size=3)


def test_two_processes_train_with_ddp_and_the_run_is_scored_once(store_path, tmp_path):
    script = REPO / "python" / "tests" / "ddp_promoter.py"
    env = dict(os.environ, MASTER_ADDR="127.0.0.1", MASTER_PORT=str(29500 + os.getpid() % 1000))
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(store_path), str(rank), "2", str(tmp_path)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for rank in range(2)
    ]
    outputs = [p.communicate(timeout=600)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    import dnabench

    store = dnabench.Store(store_path)
    runs = store.sql("SELECT run_id, kind FROM runs WHERE run_id = 'ddp-cnn'").to_pylist()
    assert runs == [{"run_id": "ddp-cnn", "kind": "outside"}]
    counts = store.sql(
        "SELECT split, count(*) AS n, count(DISTINCT example_id) AS d FROM predictions "
        "WHERE run_id = 'ddp-cnn' GROUP BY split ORDER BY split"
    ).to_pylist()
    want = store.sql(
        "SELECT split, count(*) AS n FROM examples WHERE dataset = 'promoter' AND split IN ('valid', 'test') "
        "GROUP BY split ORDER BY split"
    ).to_pylist()
    assert [(c["split"], c["n"], c["d"]) for c in counts] == [(w["split"], w["n"], w["n"]) for w in want]
    scored = store.sql("SELECT count(*) AS n FROM metrics WHERE run_id = 'ddp-cnn' AND metric = 'auroc'")
    assert scored.column("n")[0].as_py() == 1
    # Both ranks trained the same replicated weights: each saw its shard.
    assert "rank 0 examples" in outputs[0] and "rank 1 examples" in outputs[1]


def test_the_leaderboard_has_every_scored_task_and_the_papers_values(store):
    board = store.leaderboard()
    assert board.schema.names == ["task", "dataset", "model", "source", "n_runs", "runs", "seeds", "metric", "mean", "sd"]
    rows = board.to_pylist()
    promoter = [r for r in rows if r["task"] == "promoter"]
    assert any(r["source"] == "store" for r in promoter)
    paper = {r["model"]: r["mean"] for r in promoter if r["source"].startswith("paper")}
    assert paper == {"attention": 0.954, "cnn_fc": 0.939, "cnn_lstm": 0.942}
    means = [r["mean"] for r in promoter if r["mean"] is not None]
    assert means == sorted(means, reverse=True)


def test_the_worked_example_puts_a_torch_model_on_every_task_of_the_leaderboard(tmp_path):
    store_path = tmp_path / "quickstart-store"
    run("quickstart", "--store", str(store_path), "--models", "none")
    # A dnabench run for the example's model to stand beside.
    run("train", "--task", "promoter", "--model", "cnn", "--config", str(REPO / "training/configs/quickstart_cnn.toml"),
        "--run-id", "promoter-cnn-1", "--store", str(store_path))
    run("predict", "--run", "promoter-cnn-1", "--split", "valid,test", "--store", str(store_path))
    run("eval", "--run", "promoter-cnn-1", "--store", str(store_path))
    example = REPO / "python" / "examples" / "evaluate_your_model.py"
    done = subprocess.run(
        [sys.executable, str(example), str(store_path), "--steps", "40"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    import dnabench

    rows = dnabench.Store(store_path).leaderboard().to_pylist()
    ours = [r for r in rows if r["source"] == "store"]
    assert {r["task"] for r in ours} == {"promoter", "methylation", "chromatin", "expression", "causal_snp", "mpra"}
    promoter = {r["model"] for r in ours if r["task"] == "promoter"}
    assert promoter == {"torch SmallCNN", "cnn"}, promoter
    downstream = {r["model"] for r in ours if r["task"] in ("expression", "causal_snp", "mpra")}
    assert downstream == {"downstream on torch-cnn-chromatin_bins-s0 embeddings"}, downstream
    assert "leaderboard (test split):" in done.stdout
