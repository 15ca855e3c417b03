"""Examples/s of the promoter training split read three ways, medians of
five epochs each, in one process:

- rust: the Rust loader alone (`ExampleDataset.drain`: cut, shuffle, one-hot,
  targets, no Python);
- torch: the same batches as torch tensors through `Store.loader` (Arrow C
  stream, then DLPack views);
- python: the peer, a map-style torch Dataset over the split's sequences
  read once with `store.sql` (seq()), one-hot encoded per example in numpy
  and batched by torch's DataLoader, as a hand-written PyTorch pipeline
  would do it.

    bash scripts/python shell
    python benches/python_loader.py STORE   # a store with `promoter` materialized
"""

import statistics
import sys
import time

import numpy as np
import torch

import dnabench

CODES = np.full(256, 4, dtype=np.int64)
for i, base in enumerate(b"ACGT"):
    CODES[base] = i
    CODES[base + 32] = i


class SequenceDataset(torch.utils.data.Dataset):
    def __init__(self, store: dnabench.Store):
        table = store.sql(
            "SELECT seq(chrom, start, \"end\", strand) AS s, label FROM examples "
            "WHERE dataset = 'promoter' AND split = 'train'"
        )
        self.seqs = table.column("s").to_pylist()
        self.labels = table.column("label").to_numpy()

    def __len__(self):
        return len(self.seqs)

    def __getitem__(self, i):
        codes = CODES[np.frombuffer(self.seqs[i].encode(), dtype=np.uint8)]
        x = np.zeros((5, len(codes)), dtype=np.float32)
        x[codes, np.arange(len(codes))] = 1.0
        return torch.from_numpy(x[:4]), torch.tensor([self.labels[i]], dtype=torch.float32)


def rate(read) -> float:
    start = time.perf_counter()
    n = read()
    return n / (time.perf_counter() - start)


def main(path: str, epochs: int = 5):
    store = dnabench.Store(path)
    loader = store.loader("promoter", "train", batch_size=64)
    peer = torch.utils.data.DataLoader(SequenceDataset(store), batch_size=64, shuffle=True)
    rates = {"rust": [], "torch": [], "python": []}
    for epoch in range(epochs):
        rates["rust"].append(rate(lambda: loader.drain(epoch)))
        rates["torch"].append(rate(lambda: sum(len(b["x"]) for b in loader.epoch(epoch))))
        rates["python"].append(rate(lambda: sum(len(x) for x, _ in peer)))
    medians = {k: statistics.median(v) for k, v in rates.items()}
    for name, value in medians.items():
        print(f"{name:>6}: {value:9.0f} examples/s  ({value / medians['python']:.1f}x the Python peer)")


if __name__ == "__main__":
    main(sys.argv[1])
