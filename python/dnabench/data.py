"""A dataset split as a `torch.utils.data.IterableDataset`.

Batches come from the Rust loader as Arrow record batches; each column
becomes a tensor over the same memory (DLPack), so a batch costs no copy
and no Python object per value.
"""

from __future__ import annotations

import itertools

import pyarrow as pa
import torch


class ExampleDataset(torch.utils.data.IterableDataset):
    """Yields dicts of tensors, a batch at a time:

    - `x`: one-hot float32 `(batch, 4, length)`, or token ids int64
      `(batch, tokens)` padded with 0;
    - `x_alt`: the alternative sequence, for causal_snp and mpra;
    - `y`, `mask`: float32 `(batch, outputs)`; mask is 0 where a target is
      missing;
    - `example_id`: the examples' ids, a `pyarrow.StringArray`.

    With `compact=True` (see `Store.loader`), `x` is uint8 base codes and a
    chromatin `y` its positive outputs with `y_offsets`; `expand` makes the
    dense batch on the training device.

    Use it with `DataLoader(dataset, batch_size=None)`, or iterate it
    directly; the Rust loader reads ahead on its own threads, so worker
    processes add nothing.
    """

    def __init__(self, native):
        super().__init__()
        self._native = native
        self._epochs = itertools.count()

    def __len__(self) -> int:
        """Batches per epoch."""
        return self._native.batches_per_epoch

    @property
    def examples(self) -> int:
        return len(self._native)

    @property
    def length(self) -> int:
        """Window length in bp."""
        return self._native.length

    @property
    def outputs(self) -> int:
        return self._native.outputs

    def epoch(self, epoch: int):
        """The batches of `epoch`, without moving the dataset's own count."""
        for batch in pa.RecordBatchReader.from_stream(self._native.epoch(epoch)):
            yield self._tensors(batch)

    def drain(self, epoch: int = 0) -> int:
        """Reads the batches of `epoch` in Rust alone (no Python, no torch)
        and returns the examples read: the loader's own rate."""
        return self._native.drain(epoch)

    def arrow_batches(self, epoch: int = 0):
        """The batches of `epoch` as Arrow record batches, untouched."""
        return pa.RecordBatchReader.from_stream(self._native.epoch(epoch))

    def __iter__(self):
        return self.epoch(next(self._epochs))

    def _tensors(self, batch: pa.RecordBatch) -> dict:
        rows = batch.num_rows
        out = {"example_id": batch.column("example_id")}
        for name in ("x", "x_alt", "y", "mask"):
            index = batch.schema.get_field_index(name)
            if index < 0:
                continue
            column = batch.column(index)
            values = torch.from_dlpack(column.flatten())
            if pa.types.is_list(column.type):
                # A compact multi-label batch: positive outputs per example.
                out[name] = values
                offsets = torch.from_dlpack(column.offsets)
                out[name + "_offsets"] = offsets - offsets[0]
            elif name.startswith("x") and values.dtype == torch.float32:
                out[name] = values.view(rows, 4, -1)
            else:
                out[name] = values.view(rows, -1)
        return out

    def expand(self, batch: dict, device=None) -> dict:
        """A compact batch as the dense one, built on `device`: `x` (and
        `x_alt`) one-hot float32 `(batch, 4, length)` with N all zeros, `y`
        float32 `(batch, outputs)` and `mask` of ones. Dense tensors pass
        through, moved to `device`."""
        out = dict(batch)
        for name in ("x", "x_alt"):
            x = batch.get(name)
            if x is not None and x.dtype == torch.uint8:
                codes = x.to(device).long()
                out[name] = torch.nn.functional.one_hot(codes, 5)[..., :4].permute(0, 2, 1).float()
            elif x is not None:
                out[name] = x.to(device)
        if "y_offsets" in batch:
            offsets = batch["y_offsets"].to(device).long()
            rows = offsets.numel() - 1
            counts = offsets[1:] - offsets[:-1]
            example = torch.repeat_interleave(torch.arange(rows, device=offsets.device), counts)
            y = torch.zeros(rows, self.outputs, device=offsets.device)
            y[example, batch["y"].to(device).long()] = 1.0
            out["y"] = y
            out["mask"] = torch.ones_like(y)
            del out["y_offsets"]
        else:
            for name in ("y", "mask"):
                if name in batch:
                    out[name] = batch[name].to(device)
        return out
