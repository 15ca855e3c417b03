"""Examples/s of a training split (promoter by default) read several ways,
medians of five epochs each, in one process, and the seconds to open it:

- rust: the Rust loader alone (`ExampleDataset.drain`: cut, shuffle, one-hot,
  targets, no Python);
- torch: the same batches as torch tensors through `Store.loader` (Arrow C
  stream, then DLPack views);
- rust compact, torch compact: the same with `compact=True` (uint8 base
  codes, a multi-label batch's positive outputs), as a loop that expands
  them on its GPU reads them;
- python (promoter only): the peer, a map-style torch Dataset over the
  split's sequences read once with `store.sql` (seq()), one-hot encoded per
  example in numpy and batched by torch's DataLoader, as a hand-written
  PyTorch pipeline would do it.

    bash scripts/python shell
    python benches/python_loader.py STORE [DATASET] [EPOCHS] [BATCH]
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
    """The promoter split as a hand-written PyTorch pipeline reads it."""

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


def main(path: str, dataset: str = "promoter", epochs: int = 5, batch: int = 64):
    store = dnabench.Store(path)
    started = time.perf_counter()
    loader = store.loader(dataset, "train", batch_size=batch)
    opened = time.perf_counter() - started
    started = time.perf_counter()
    compact = store.loader(dataset, "train", batch_size=batch, compact=True)
    opened_compact = time.perf_counter() - started
    print(f"{dataset}: {loader.examples} examples, batches of {batch}; opened in {opened:.1f} s (compact {opened_compact:.1f} s)")
    readers = {
        "rust": lambda e: loader.drain(e),
        "torch": lambda e: sum(len(b["x"]) for b in loader.epoch(e)),
        "rust compact": lambda e: compact.drain(e),
        "torch compact": lambda e: sum(len(b["x"]) for b in compact.epoch(e)),
    }
    if dataset == "promoter":
        peer = torch.utils.data.DataLoader(SequenceDataset(store), batch_size=batch, shuffle=True)
        readers["python"] = lambda e: sum(len(x) for x, _ in peer)
    rates = {name: [rate(lambda: read(e)) for e in range(epochs)] for name, read in readers.items()}
    medians = {k: statistics.median(v) for k, v in rates.items()}
    for name, value in medians.items():
        peer = f"  ({value / medians['python']:.1f}x the Python peer)" if "python" in medians else ""
        print(f"{name:>14}: {value:9.0f} examples/s{peer}")


if __name__ == "__main__":
    main(sys.argv[1], *(sys.argv[2:3]), *(int(a) for a in sys.argv[3:5]))
