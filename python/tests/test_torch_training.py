"""A PyTorch model trained on the store's promoter task through the loader."""

import time

import numpy as np
import torch
from torch import nn


def auroc(scores: np.ndarray, labels: np.ndarray) -> float:
    """The Mann-Whitney statistic: the chance a positive outscores a negative."""
    order = scores.argsort()
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    positives = labels == 1
    n_pos, n_neg = positives.sum(), (~positives).sum()
    return (ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


class TinyCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(4, 32, kernel_size=15, padding=7)
        self.head = nn.Linear(32, 1)

    def forward(self, x):
        return self.head(torch.relu(self.conv(x)).amax(dim=2))


def test_a_torch_cnn_learns_promoters_from_the_loader(store):
    torch.manual_seed(0)
    train = store.loader("promoter", "train", batch_size=64, jitter=8, seed=0)
    test = store.loader("promoter", "test", batch_size=256)
    model = TinyCnn()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    loss_fn = nn.BCEWithLogitsLoss()
    loader = torch.utils.data.DataLoader(train, batch_size=None)
    for _ in range(3):
        for batch in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(batch["x"]), batch["y"])
            loss.backward()
            optimizer.step()
    model.eval()
    scores, labels = [], []
    with torch.no_grad():
        for batch in test:
            scores.append(model(batch["x"])[:, 0].numpy())
            labels.append(batch["y"][:, 0].numpy())
    score = auroc(np.concatenate(scores), np.concatenate(labels))
    print(f"test AUROC of the PyTorch CNN: {score:.3f}")
    assert score > 0.8


def test_examples_per_second_through_torch_and_in_rust_alone(store):
    """Not a speed assertion: prints both rates for benches/README.md."""
    loader = store.loader("promoter", "train", batch_size=64)

    def rate(read):
        start = time.perf_counter()
        n = read()
        return n / (time.perf_counter() - start)

    rust, torch_rate = [], []
    for epoch in range(3):
        rust.append(rate(lambda: loader.drain(epoch)))
        torch_rate.append(rate(lambda: sum(len(b["x"]) for b in loader.epoch(epoch))))
    rust, torch_rate = np.median(rust), np.median(torch_rate)
    print(f"examples/s: Rust loader alone {rust:.0f}, as torch tensors {torch_rate:.0f} ({torch_rate / rust:.2f}x)")
    assert rust > 0 and torch_rate > 0
