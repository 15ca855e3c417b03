"""Your own PyTorch model on all six dnabench tasks, scored by the
benchmark's SQL and shown on its leaderboard beside dnabench's runs.

    dnabench quickstart --store quickstart-store      # the mini benchmark, and dnabench's CNNs
    python python/examples/evaluate_your_model.py quickstart-store

What it does, as a user with their own model would:

1. trains a small CNN on each task a model learns end to end (promoter,
   methylation, chromatin) from `store.loader`, and writes its predictions
   of the valid and test splits back with `store.write_predictions`;
2. embeds the windows of the downstream tasks (expression, causal_snp,
   mpra) with a chromatin model (trained on the 200 bp bins alone when the
   store has them, `chromatin_bins`, as the quickstart's backbone is: a
   backbone should see what it embeds), one feature vector per 200 bp segment as
   the paper's backbones do (reference segments, then alternative ones for
   a variant), and lets dnabench fit the paper's downstream model on them
   (`store.fit`: an upper Transformer, random forests, boosted trees);
3. scores every run with `store.eval` and prints `store.leaderboard()`.

Nothing here is specific to this CNN: replace `SmallCNN` with any module
that maps a one-hot batch `(batch, 4, length)` to `(batch, outputs)` and
has a `features` method.
"""

from __future__ import annotations

import argparse
import itertools
import pathlib

import torch
from torch import nn

import dnabench

# What each end-to-end task's model is trained with: a logit per label
# (BCE), or a value per sample (MSE, missing targets masked).
END_TO_END = {"promoter": "bce", "chromatin": "bce", "methylation": "mse"}
# The tasks the paper solves on a backbone's embeddings.
DOWNSTREAM = ["expression", "causal_snp", "mpra"]
SEGMENT_BP = 200
# The quickstart's downstream sizes (the paper's 4 x 512 upper Transformer
# takes hours on a CPU).
FAST_DOWNSTREAM = pathlib.Path(__file__).resolve().parents[2] / "experiments" / "configs" / "downstream.toml"


class SmallCNN(nn.Module):
    """Two convolutions and a global max-pool: `features` gives a vector
    per sequence of any length, `forward` the task's outputs."""

    def __init__(self, outputs: int, channels: int = 32):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv1d(4, channels, 15, padding=7),
            nn.ReLU(),
            nn.MaxPool1d(4),
            nn.Conv1d(channels, channels, 9, padding=4),
            nn.ReLU(),
            nn.AdaptiveMaxPool1d(1),
        )
        self.head = nn.Linear(channels, outputs)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def train(store: dnabench.Store, dataset: str, loss: str, steps: int, seed: int) -> SmallCNN:
    torch.manual_seed(seed)
    data = store.loader(dataset, "train", batch_size=64, seed=seed, reverse_complement=True)
    model = SmallCNN(data.outputs)
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3)
    batches = itertools.chain.from_iterable(data for _ in itertools.count())
    model.train()
    for batch in itertools.islice(batches, steps):
        out = model(batch["x"])
        mask = batch["mask"]
        if loss == "bce":
            per = nn.functional.binary_cross_entropy_with_logits(out, batch["y"], reduction="none")
        else:
            per = (out - torch.nan_to_num(batch["y"])) ** 2
        value = (per * mask).sum() / mask.sum().clamp(min=1)
        optimizer.zero_grad()
        value.backward()
        optimizer.step()
    return model.eval()


@torch.no_grad()
def predict(store: dnabench.Store, model: SmallCNN, dataset: str, run_id: str, config: dict) -> None:
    for split in ("valid", "test"):
        for batch in store.loader(dataset, split, batch_size=256):
            store.write_predictions(run_id, batch["example_id"], model(batch["x"]), dataset=dataset)
    summary = store.commit_predictions(run_id, model="torch SmallCNN", config=config)
    print(f"{run_id}: {summary['rows']} predictions committed")


@torch.no_grad()
def segment_features(model: SmallCNN, x: torch.Tensor) -> torch.Tensor:
    """`(batch, segments, channels)`: each 200 bp segment on its own, the
    last one padded with zeros (N)."""
    length = x.shape[-1]
    segments = -(-length // SEGMENT_BP)
    x = nn.functional.pad(x, (0, segments * SEGMENT_BP - length))
    pieces = x.unfold(2, SEGMENT_BP, SEGMENT_BP)  # (batch, 4, segments, 200)
    pieces = pieces.permute(0, 2, 1, 3).reshape(-1, 4, SEGMENT_BP)
    return model.features(pieces).view(x.shape[0], segments, -1)


def embed(store: dnabench.Store, backbone: SmallCNN, dataset: str, run_id: str) -> None:
    for split in ("train", "valid", "test"):
        for batch in store.loader(dataset, split, batch_size=32):
            features = segment_features(backbone, batch["x"])
            if "x_alt" in batch:
                features = torch.cat([features, segment_features(backbone, batch["x_alt"])], dim=1)
            store.write_embeddings(run_id, dataset, batch["example_id"], features)
    summary = store.commit_embeddings(run_id, dataset)
    print(f"{run_id}: {summary['rows']} embeddings of {dataset} ({summary['dim']} features) in {summary['table']}")


def headline(scores, task: str) -> str:
    metric, group = {"promoter": ("auroc", "all"), "chromatin": ("auroc_mean", "all"),
                     "causal_snp": ("auroc", "all"), "mpra": ("spearman", "all")}.get(task, ("spearman", "mean"))
    for m, g, v in zip(*(scores.column(c).to_pylist() for c in ("metric", "group", "value"))):
        if (m, g) == (metric, group):
            return f"{metric} {v:.3f}" if v is not None else f"{metric} NULL"
    return "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("store", help="a store with the six tasks materialized (dnabench quickstart)")
    parser.add_argument("--steps", type=int, default=300, help="training steps per task")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--prefix", default="torch-cnn", help="the runs are PREFIX-TASK-sSEED")
    parser.add_argument("--downstream-config", default=str(FAST_DOWNSTREAM),
                        help="TOML with [forest], [boosted] and [upper] settings for the fits")
    args = parser.parse_args()
    store = dnabench.Store(args.store)
    config = {"seed": args.seed, "steps": args.steps, "channels": 32}
    models = {}
    for dataset, loss in END_TO_END.items():
        models[dataset] = train(store, dataset, loss, args.steps, args.seed)
        run_id = f"{args.prefix}-{dataset}-s{args.seed}"
        predict(store, models[dataset], dataset, run_id, config)
        print(f"  scored: {headline(store.eval(run_id), dataset)}")
    # A chromatin model is the backbone, as in the paper.
    datasets = set(store.sql("SELECT DISTINCT dataset FROM examples").column("dataset").to_pylist())
    backbone_data = "chromatin_bins" if "chromatin_bins" in datasets else "chromatin"
    backbone_run = f"{args.prefix}-{backbone_data}-s{args.seed}"
    if backbone_data not in models:
        models[backbone_data] = train(store, backbone_data, "bce", args.steps, args.seed)
        predict(store, models[backbone_data], backbone_data, backbone_run, config)
    for dataset in DOWNSTREAM:
        embed(store, models[backbone_data], dataset, backbone_run)
        fitted = store.fit(backbone_run, dataset, config=args.downstream_config)
        print(f"  {fitted}: scored {headline(store.eval(fitted), dataset)}")
    board = store.leaderboard()
    print("\nleaderboard (test split):")
    for row in board.to_pylist():
        sd = f" ± {row['sd']:.3f}" if row["sd"] is not None else ""
        mean = f"{row['mean']:.3f}" if row["mean"] is not None else "—"
        print(f"  {row['task']:<12} {row['metric']:<11} {mean}{sd:<9} {row['model']} [{row['source']}]")


if __name__ == "__main__":
    main()
