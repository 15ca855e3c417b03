import pyarrow as pa
import pytest

import dnabench


def test_tables_are_the_stores(store):
    tables = store.tables()
    for name in ("chroms", "genome", "examples"):
        assert name in tables
    assert tables.index("chroms") < tables.index("examples")


def test_sql_fills_parameters_and_returns_arrow(store):
    counts = store.sql(
        "SELECT split, count(*) AS n FROM examples WHERE dataset = $dataset "
        "GROUP BY split ORDER BY split",
        dataset="promoter",
    )
    assert isinstance(counts, pa.Table)
    assert counts.column("split").to_pylist() == ["test", "train", "valid"]
    n = dict(zip(counts.column("split").to_pylist(), counts.column("n").to_pylist()))
    assert n["test"] >= 500, "the mini benchmark's test splits have >= 500 examples"
    assert len(store.loader("promoter", "train")._native) == n["train"]


def test_statements_run_in_order_and_batches_stream(store):
    reader = store.sql_batches(
        "CREATE VIEW promoters AS SELECT * FROM examples WHERE dataset = 'promoter';"
        "SELECT example_id, seq(chrom, start, \"end\", strand) AS bases FROM promoters"
    )
    assert isinstance(reader, pa.RecordBatchReader)
    rows = sum(b.num_rows for b in reader)
    total = store.sql("SELECT count(*) AS n FROM examples WHERE dataset = 'promoter'")
    assert rows == total.column("n")[0].as_py()


def test_bad_sql_names_the_column(store):
    with pytest.raises(dnabench.DnabenchError, match="no_such_column"):
        store.sql("SELECT no_such_column FROM examples")


def test_a_missing_store_is_an_error_naming_it(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(dnabench.DnabenchError, match="nowhere"):
        dnabench.Store(missing)


def test_a_stream_is_read_once(store):
    stream = store._native.sql("SELECT 1 AS one", {})
    assert pa.table(stream).column("one").to_pylist() == [1]
    with pytest.raises(ValueError, match="read already"):
        pa.table(stream)
