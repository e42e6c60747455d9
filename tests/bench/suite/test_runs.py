"""A benchmark run's settings and results: bad settings stop it, an interrupted run loses nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import bench
from tests.fixture import child_env

ROOT = Path(__file__).resolve().parents[3]
GOOD = {"X": [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], "y": [0, 1, 1], "lr": 0.1, "epochs": 3}


# --------------------------------------------------------------------------- settings


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("BENCH_BUDGET_S", "abc", "BENCH_BUDGET_S must be a number of seconds > 0"),
        ("BENCH_BUDGET_S", "-1", "BENCH_BUDGET_S must be a number of seconds > 0"),
        ("BENCH_BUDGET_S", "nan", "BENCH_BUDGET_S must be a number of seconds > 0"),
        ("BENCH_BUDGET_S", "inf", "BENCH_BUDGET_S must be a number of seconds > 0"),
        ("BENCH_PROFILE", "huge", "BENCH_PROFILE must be one of smoke, default, quick, large"),
        ("LADDER_PLANNING", "fast", "LADDER_PLANNING must be one of measure, estimate"),
    ],
)
def test_bad_settings_stop_the_benchmarks_with_one_line(variable, value, message):
    env = child_env(**{variable: value})
    command = [
        sys.executable,
        "-m",
        "pytest",
        "bench/suite",
        "--benchmark-only",
        "--collect-only",
        "-q",
        "-p",
        "no:cacheprovider",
    ]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, done.stdout + done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr, done.stderr


# --------------------------------------------------------------------------- atomic runs


def _bench_command(target: Path, *selection: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pytest",
        "bench/suite/bench_descent.py",
        "--benchmark-only",
        f"--benchmark-json={target}",
        "--benchmark-max-time=0.05",
        "-p",
        "no:cacheprovider",
        *selection,
    ]


def _env() -> dict:
    return child_env(BENCH_PROFILE="smoke", LADDER_PLANNING="estimate")


def test_an_interrupted_run_keeps_the_previous_results_byte_for_byte(tmp_path):
    target = tmp_path / "results.json"
    target.write_bytes(b'{"previous": "complete run"}\n')
    before = target.read_bytes()
    proc = subprocess.Popen(
        _bench_command(target, "-v"),
        cwd=ROOT,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # As in a terminal: a job started in the background by a shell inherits SIGINT ignored,
        # and Python then never turns it into KeyboardInterrupt.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    passed = 0
    for line in proc.stdout:  # interrupt once a few benchmarks have finished
        passed += " PASSED" in line
        if passed >= 3:
            proc.send_signal(signal.SIGINT)
            break
    out, err = proc.communicate(timeout=300)
    assert passed >= 3, out + err
    assert target.read_bytes() == before
    partial = tmp_path / "results.partial.json"
    assert partial.exists(), out + err
    record = json.loads(partial.read_text())["ladder_run"]
    assert record["complete"] is False and record["not_run"]
    assert "was left as it was" in err
    assert not list(tmp_path.glob(".results.json.*"))  # no hidden file left behind

    from bench.report.cli import main

    assert main([str(partial), "--out", str(tmp_path / "lesson")]) == 2  # refused unless asked ...
    assert not (tmp_path / "lesson").exists()
    assert main([str(partial), "--out", str(tmp_path / "lesson"), "--partial"]) == 0  # ... then says so
    assert "**This run did not complete:**" in (tmp_path / "lesson" / "README.md").read_text()


def test_a_complete_run_replaces_the_results_and_records_itself(tmp_path):
    target = tmp_path / "results.json"
    target.write_text("old")
    selection = ("-k", "numpy_vectorized and m100- and float64")
    done = subprocess.run(
        _bench_command(target, *selection), cwd=ROOT, env=_env(), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    raw = json.loads(target.read_text())
    assert raw["ladder_run"] == {"complete": True, "exit_status": 0, "failed": {}, "not_run": []}
    assert raw["benchmarks"]


def test_results_files_are_compacted_without_changing_a_value(tmp_path):
    from bench.suite.runs import compact

    data = {
        "pairs_s": [[0.1, 2.5e-05], [-3.0, 1e300]],
        "times_s": {"a": [1, 2.000000000000001, 3e-07], "b": []},
        "labels": ["1, 2", "[3]"],
        "nested": [{"x": [0.5]}],
    }
    path = tmp_path / "results.json"
    path.write_text(json.dumps(data, indent=4))
    compact(path)
    text = path.read_text()
    assert json.loads(text) == data
    assert '"a": [1, 2.000000000000001, 3e-07]' in text and "[0.1, 2.5e-05]" in text
    assert len(text) < len(json.dumps(data, indent=4))


def test_the_benchmarks_blas_setting_is_made_before_openblas_loads():
    """pytest imports other packages' plugins (zarr's imports NumPy, and with it OpenBLAS) before any
    conftest; ``-p bench`` in pyproject.toml imports bench first, so OpenBLAS's threads sleep at once
    after each call instead of spinning beside what is timed next (bench/FINDINGS.md)."""
    import bench

    assert bench.BLAS_SETTING_IN_TIME
    assert os.environ.get("OPENBLAS_THREAD_TIMEOUT")


_FAULTS = """
import resource, sys
if sys.argv[1] == "bench":
    import bench
import numpy as np
def epoch():  # five live temporaries of m = 1e5 numbers, as numpy_vectorized's epoch makes
    temporaries = [np.ones(100_000) for _ in range(5)]
    return sum(t.sum() for t in temporaries)
for _ in range(3):
    epoch()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    epoch()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(bench.ALLOCATOR is None, reason="glibc's allocator only (Linux)")
def test_benchmark_processes_keep_freed_memory():
    """With ``bench`` imported, an epoch's freed temporaries serve the next epoch's (no page faults),
    so its time does not depend on what the process ran before; in a plain process glibc hands the
    heap's top back after every epoch and takes fresh pages (4 MB: about 1,000 faults) for the next."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    faults = {
        way: int(
            subprocess.run(
                [sys.executable, "-c", _FAULTS, way], env=env, capture_output=True, text=True, check=True
            ).stdout
        )
        for way in ("bench", "plain")
    }
    assert faults["bench"] < 100 and faults["plain"] > 20 * 500, faults
    if not any(name.startswith("MALLOC_") for name in os.environ):
        assert bench.ALLOCATOR == {
            "allocator": "glibc",
            "mmap_threshold": 32 << 20,
            "trim_threshold": 256 << 20,
        }
