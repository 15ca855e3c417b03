"""Model outputs and example ids from PyTorch, numpy or pyarrow, as the
Arrow arrays the engine takes: ids as strings, vectors as a fixed-size
list of float32 a row (no copy where the values are float32 already)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def ids_array(ids) -> pa.Array:
    """Example ids: a pyarrow string array (a batch's `example_id`), a
    chunked array, or any sequence of str."""
    if isinstance(ids, pa.ChunkedArray):
        ids = ids.combine_chunks()
    if isinstance(ids, pa.Array):
        return ids
    return pa.array([str(i) for i in ids], type=pa.string())


def vectors_array(values, rows: int | None = None) -> pa.Array:
    """Rows of numbers: a torch tensor or numpy array of shape `(rows,)`
    (one value a row), `(rows, width)`, or `(rows, segments, width)` (each
    row's segments in order, flattened), or a pyarrow array as it is."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.Array):
        return values
    if hasattr(values, "detach"):  # torch
        values = values.detach().to("cpu").float().numpy()
    values = np.ascontiguousarray(np.asarray(values, dtype=np.float32))
    if values.ndim == 0:
        raise ValueError("expected a value per row, got a scalar")
    n = values.shape[0]
    if rows is not None and n != rows:
        raise ValueError(f"{rows} example ids but {n} rows of values")
    flat = values.reshape(n, -1) if n else values.reshape(0, max(1, int(np.prod(values.shape[1:]))))
    width = flat.shape[1]
    return pa.FixedSizeListArray.from_arrays(pa.array(flat.reshape(-1)), width)
