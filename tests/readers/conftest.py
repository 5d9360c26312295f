"""Fixtures: run the riskcensus binary on the Baiyin sample once per session."""
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("RISKCENSUS_BIN", REPO / "target" / "debug" / "riskcensus"))


def run_riskcensus(*args, cwd=REPO):
    return subprocess.run([str(BIN), *map(str, args)], cwd=cwd, capture_output=True, text=True)


@pytest.fixture(scope="session")
def database(tmp_path_factory):
    out = tmp_path_factory.mktemp("db") / "baiyin"
    result = run_riskcensus("run", "pipelines/baiyin-2021.toml", "--out", out)
    assert result.returncode == 1, result.stderr  # the sample has planted errors
    return out


@pytest.fixture(scope="session")
def parquet_files(database):
    files = sorted(database.rglob("*.parquet"))
    assert len(files) >= 20
    return files
