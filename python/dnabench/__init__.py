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

A model made anywhere is scored by the benchmark's own SQL:

    for batch in store.loader("promoter", "test", batch_size=256):
        store.write_predictions("my-cnn", batch["example_id"], model(batch["x"]), dataset="promoter")
    store.commit_predictions("my-cnn", model="my CNN", config={"seed": 0})
    store.eval("my-cnn")            # the task's metrics, as pyarrow.Table
    store.leaderboard()             # every task's runs, the paper's values beside
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
        rank: int = 0,
        world_size: int = 1,
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

        `rank` and `world_size` shard the split for data-parallel training:
        process `rank` reads the examples whose
        `floor(hash_uniform(example_id, seed) * world_size)` is `rank`, so
        the shards are disjoint, cover the split and are fixed by `seed`
        (give every rank the same seed). Their sizes differ a little: wrap
        a DistributedDataParallel loop in `model.join()`.
        """
        from .data import ExampleDataset

        if shuffle is None:
            shuffle = split == "train"
        native = self._native.loader(
            dataset, split, batch_size, tokenizer, jitter, reverse_complement, shuffle, seed, compact,
            rank, world_size,
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

    def write_predictions(self, run_id: str, example_ids, outputs, dataset: str, splits=None) -> int:
        """Takes a batch of a model's predictions of `dataset` for run
        `run_id`: the batch's `example_id` (or any list of ids) and its
        outputs, a tensor or array `(batch, outputs)` (or `(batch,)`):
        logits for promoter, chromatin and causal_snp, values for the
        regression tasks. Every row is checked (an id of the dataset's
        `splits`, valid and test by default, given once; the task's output
        width; finite values) before any is taken; nothing is written to
        the store until `commit_predictions`. Returns the rows taken."""
        from ._convert import ids_array, vectors_array

        ids = ids_array(example_ids)
        values = vectors_array(outputs, len(ids))
        return self._native.write_predictions(
            run_id, dataset, ids, values, list(splits) if splits is not None else None
        )

    def commit_predictions(self, run_id: str, model: str = "", config: dict | str | None = None) -> dict:
        """Commits run `run_id`'s predictions and its row in `runs`, with the
        model's name (for the leaderboard) and config (a dict or JSON; a
        "seed" in it groups seeds of one setup). Returns the rows written
        and each split's coverage: a split with examples missing is scored
        only with `eval(..., allow_partial=True)`."""
        import json

        if isinstance(config, dict):
            config = json.dumps(config)
        return self._native.commit_predictions(run_id, model, config)

    def discard_predictions(self, run_id: str) -> bool:
        """Drops run `run_id`'s uncommitted predictions."""
        return self._native.discard_predictions(run_id)

    def eval(self, run_id: str, split: str = "test", allow_partial: bool = False) -> pa.Table:
        """The run's metrics on `split` (metric, group, value), computed by
        its task's SQL as `dnabench eval` computes them and written to
        `metrics` (read back from there when the run was scored already)."""
        scored = self.sql(
            'SELECT metric, "group", value FROM metrics WHERE run_id = $run AND split = $split '
            'ORDER BY metric, "group"',
            run=run_id,
            split=split,
        ) if "metrics" in self.tables() else None
        if scored is not None and scored.num_rows:
            return scored
        return pa.table(self._native.eval(run_id, split, allow_partial))

    def write_embeddings(self, run_id: str, dataset: str, example_ids, features) -> int:
        """Takes a batch of a model's embeddings of `dataset`'s examples:
        `features` `(batch, width)` or `(batch, segments, width)` (each
        200 bp segment's features in order, as the paper's backbones give
        them; the upper Transformer of the expression task needs them so).
        Checked as `write_predictions` checks; committed by
        `commit_embeddings` (or by `fit`) into `embeddings_DATASET_RUN`."""
        from ._convert import ids_array, vectors_array

        ids = ids_array(example_ids)
        return self._native.write_embeddings(run_id, dataset, ids, vectors_array(features, len(ids)))

    def commit_embeddings(self, run_id: str, dataset: str) -> dict | None:
        """Commits run `run_id`'s embeddings of `dataset` (and indexes them
        for similarity search); None when none are being written."""
        return self._native.commit_embeddings(run_id, dataset)

    def fit(
        self,
        run_id: str,
        dataset: str,
        model: str | None = None,
        fit_run_id: str | None = None,
        config: dict | str | os.PathLike | None = None,
    ) -> str:
        """Fits the paper's downstream model of `dataset`'s task (random
        forests per tissue for causal_snp, boosted trees for mpra, the upper
        Transformer for expression; or `model`) on run `run_id`'s embeddings,
        as `dnabench fit` does on a candle backbone's. `config` is a dict
        with `forest`, `boosted` or `upper` settings, or the path of a TOML
        file with those sections (`experiments/configs/downstream.toml` is
        the quickstart's fast sizes; the default upper Transformer is the
        paper's 4 x 512, slow on a CPU). Commits pending embeddings first;
        writes the fitted run's predictions and returns its run id."""
        import json

        if config is not None and not isinstance(config, dict):
            try:
                import tomllib
            except ImportError as e:  # Python < 3.11
                raise ValueError("a TOML config needs Python 3.11; give the settings as a dict") from e
            with open(config, "rb") as f:
                config = tomllib.load(f)
        text = json.dumps(config) if config is not None else None
        return self._native.fit(run_id, dataset, model, fit_run_id, text)

    def leaderboard(self) -> pa.Table:
        """Every task's scored runs (test split, headline metric; runs of a
        setup that name a seed as mean and sd), with the paper's Table 6.4
        values as rows of their own (`source`)."""
        return pa.table(self._native.leaderboard())

    def __repr__(self) -> str:
        return f"dnabench.Store({self.path!r})"


def _params(params: dict) -> dict[str, str]:
    return {str(k): str(v) for k, v in params.items()}


