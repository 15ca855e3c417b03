import numpy as np
import pytest
import torch

import dnabench

BASES = np.array(list("ACGT"))


def decode(x: torch.Tensor) -> list[str]:
    """One-hot (batch, 4, length) back to bases; a column of zeros is N."""
    x = x.numpy()
    letters = np.where(x.sum(axis=1) == 1, BASES[x.argmax(axis=1)], "N")
    return ["".join(row) for row in letters]


def sql_rows(store, dataset, split, columns):
    table = store.sql(
        f"SELECT example_id, {columns} FROM examples WHERE dataset = $d AND split = $s",
        d=dataset,
        s=split,
    )
    return {r["example_id"]: r for r in table.to_pylist()}


def test_one_hot_batches_hold_the_windows_bases_and_labels(store):
    loader = store.loader("promoter", "test", batch_size=100)
    expected = sql_rows(store, "promoter", "test", 'seq(chrom, start, "end", strand) AS bases, label')
    seen = 0
    for batch in loader:
        assert batch["x"].dtype == torch.float32
        assert batch["x"].shape == (len(batch["example_id"]), 4, loader.length)
        ids = batch["example_id"].to_pylist()
        for i, (example, bases) in enumerate(zip(ids, decode(batch["x"]))):
            assert bases == expected[example]["bases"].upper(), example
            assert batch["y"][i, 0].item() == expected[example]["label"]
        assert torch.all(batch["mask"] == 1)
        seen += len(ids)
    assert seen == len(expected)


@pytest.mark.parametrize("dataset", ["promoter", "chromatin"])
def test_compact_batches_expand_to_the_dense_ones(store, dataset):
    dense = store.loader(dataset, "test", batch_size=64)
    compact = store.loader(dataset, "test", batch_size=64, compact=True)
    batches = 0
    for d, c in zip(dense, compact):
        assert c["x"].dtype == torch.uint8 and c["x"].shape == (len(c["example_id"]), compact.length)
        assert c["example_id"].to_pylist() == d["example_id"].to_pylist()
        expanded = compact.expand(c)
        for name in ("x", "y", "mask"):
            assert torch.equal(expanded[name], d[name]), name
        batches += 1
    assert batches == len(dense)
    if dataset == "chromatin":
        assert c["y"].dtype == torch.int32 and "mask" not in c
        assert int(c["y_offsets"][-1]) == c["y"].numel()


def test_each_example_once_an_epoch_in_a_seeded_order(store):
    def orders(seed):
        loader = store.loader("promoter", "train", batch_size=256, seed=seed)
        return [[e for b in loader for e in b["example_id"].to_pylist()] for _ in range(2)]

    first, second = orders(seed=3)
    ids = set(sql_rows(store, "promoter", "train", "label"))
    assert len(first) == len(ids) and set(first) == ids
    assert sorted(second) == sorted(first) and second != first, "each epoch its own shuffle"
    assert orders(seed=3)[0] == first, "the same seed, the same order"
    assert orders(seed=4)[0] != first


def test_reverse_complement_flips_about_half_the_windows(store):
    plain = next(iter(store.loader("promoter", "test", batch_size=200)))["x"]
    flipped = next(iter(store.loader("promoter", "test", batch_size=200, reverse_complement=True)))["x"]
    # Channels are A, C, G, T: the complement reverses them, the strand the positions.
    revcomp = plain.flip(1).flip(2)
    same = (flipped == plain).flatten(1).all(1)
    other = (flipped == revcomp).flatten(1).all(1)
    assert torch.all(same | other)
    assert 0.3 < other.float().mean().item() < 0.7


def test_variant_pairs_as_token_ids(store):
    loader = store.loader("causal_snp", "test", batch_size=64, tokenizer="kpatch")
    batch = next(iter(loader))
    x, alt = batch["x"], batch["x_alt"]
    assert x.dtype == torch.int64 and x.shape == alt.shape == (64, loader.length // 4)
    assert x.min().item() >= 4, "ids without specials: the windows hold no padding"
    # A SNP changes one 4-bp patch.
    assert torch.all((x != alt).sum(1) == 1)


def test_bad_requests_say_what_is_wrong(store):
    with pytest.raises(dnabench.DnabenchError, match="no_such_dataset"):
        store.loader("no_such_dataset", "train")
    with pytest.raises(dnabench.DnabenchError, match="unknown tokenizer"):
        store.loader("promoter", "train", tokenizer="words")
    with pytest.raises(dnabench.DnabenchError, match="split 'tset'"):
        store.loader("promoter", "tset")
