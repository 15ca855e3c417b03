"""A store simulated from the repo's bundled data by the dnabench CLI, with
the promoter, causal SNP and chromatin datasets materialized, shared by the tests."""

import os
import pathlib
import shutil
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]


def dnabench_bin() -> str:
    found = os.environ.get("DNABENCH_BIN") or shutil.which("dnabench")
    if not found:
        pytest.fail("set DNABENCH_BIN to the dnabench binary (bash scripts/python test does)")
    return found


def run(*args: str) -> str:
    done = subprocess.run(
        [dnabench_bin(), *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        pytest.fail(f"dnabench {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


@pytest.fixture(scope="session")
def store_path(tmp_path_factory) -> pathlib.Path:
    root = tmp_path_factory.mktemp("dnabench")
    store = root / "store"
    run("simulate", "--out", str(root / "sources"), "--store", str(store), "--data", str(REPO / "data"))
    for task in ("promoter", "causal_snp", "chromatin"):
        run("materialize", "--task", task, "--store", str(store))
    return store


@pytest.fixture(scope="session")
def store(store_path):
    import dnabench

    return dnabench.Store(store_path)
