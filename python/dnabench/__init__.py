"""dnabench from Python: a store's tables through SQL as pyarrow tables, and
its materialized datasets as PyTorch batches from the Rust loader.

    import dnabench
    store = dnabench.Store("quickstart-store")
    store.tables()
    store.sql("SELECT split, count(*) AS n FROM examples WHERE dataset = $d GROUP BY split", d="promoter")
    for batch in store.loader("promoter", "train", batch_size=64):
        batch["x"]   # float32 (64, 4, length), one-hot
        batch["y"]   # float32 (64, outputs)

Every value reaches Python through the Arrow C data interface: pyarrow and
torch read the buffers the engine wrote.
"""

from __future__ import annotations

import os
from typing import Iterator

import pyarrow as pa

from ._native import DnabenchError
from ._native import Store as _NativeStore

__all__ = ["Store", "DnabenchError"]


class Store:
    """A dnabench store: a folder of Lance tables made by the `dnabench` CLI."""

    def __init__(self, path: str | os.PathLike):
        self._native = _NativeStore(os.fspath(path))

    @property
    def path(self) -> str:
        return str(self._native.path)

    def tables(self) -> list[str]:
        """The store's tables, in the order `dnabench tables` lists them."""
        return self._native.tables()

    def sql(self, query: str, **params) -> pa.Table:
        """Runs `query` (its statements in order) and returns the last one's
        rows; `$name` in the query is filled from `name=value`."""
        return pa.table(self._native.sql(query, _params(params)))

    def sql_batches(self, query: str, **params) -> pa.RecordBatchReader:
        """As `sql`, but the rows are computed as the reader is read, so a
        large result need not fit in memory."""
        return pa.RecordBatchReader.from_stream(self._native.sql(query, _params(params)))

    def loader(
        self,
        dataset: str,
        split: str,
        batch_size: int = 64,
        tokenizer: str = "one_hot",
        jitter: int = 0,
        reverse_complement: bool = False,
        seed: int = 0,
        shuffle: bool | None = None,
        compact: bool = False,
    ):
        """One split of a materialized dataset as a
        `torch.utils.data.IterableDataset` of batches (dicts of tensors).

        `tokenizer` is one of one_hot, kmer, kpatch, bpe. Each pass over it
        is the next epoch: shuffled (by default for the train split) with the
        seed, windows moved by up to `jitter` bp, and with
        `reverse_complement` half of them read on the other strand, exactly
        as `dnabench train` reads them.

        `compact=True` gives what a training loop expands on its own device
        (`dataset.expand(batch, device)`): one-hot input as uint8 base codes
        `(batch, length)` (A 0, C 1, G 2, T 3, other 4) and a chromatin
        batch's labels as its positive outputs (`y` int32 values, `y_offsets`
        where each example's begin), a few bytes an example instead of
        4 × length + 8 × tracks.
        """
        from .data import ExampleDataset

        if shuffle is None:
            shuffle = split == "train"
        native = self._native.loader(
            dataset, split, batch_size, tokenizer, jitter, reverse_complement, shuffle, seed, compact
        )
        return ExampleDataset(native)

    def forward(self, run_id: str, x):
        """Run `run_id`'s trained network (candle, on the CPU) over `x`, a
        tensor or array in the loader's layout: one-hot `(batch, 4,
        length)` float32 or token ids `(batch, tokens)` int64. Returns its
        `(batch, outputs)` float32 outputs as a torch tensor."""
        import torch

        x = torch.as_tensor(x).detach().cpu().contiguous()
        rows = x.shape[0]
        flat = pa.array(x.reshape(-1).numpy())
        width = x[0].numel() if rows else 0
        table = pa.table(self._native.forward(run_id, pa.FixedSizeListArray.from_arrays(flat, width)))
        values = table.column("output").combine_chunks().flatten()
        return torch.from_dlpack(values).view(rows, -1)

    def __repr__(self) -> str:
        return f"dnabench.Store({self.path!r})"


def _params(params: dict) -> dict[str, str]:
    return {str(k): str(v) for k, v in params.items()}


