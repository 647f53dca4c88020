"""The benchmarks that build rows by hand still run against the current schema (tiny sizes, no timing)."""

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO

RESULT_PREFIX = "BENCH-RESULT "


@pytest.mark.parametrize(
    "argv",
    [
        ["bench.bench_scheduling_cost", "--deadlines", "60", "--default-journal-deadlines", "30"],
        ["bench.bench_startup_reconcile", "--clocks", "300"],
    ],
    ids=["scheduling_cost", "startup_reconcile"],
)
def test_bench_runs_and_reports(argv: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", *argv], cwd=REPO, capture_output=True, text=True, timeout=180, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    (line,) = [line for line in done.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    result = json.loads(line.removeprefix(RESULT_PREFIX))
    assert result["bench"] == argv[0].removeprefix("bench.bench_")
    assert result["valid"] is True
