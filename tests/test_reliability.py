"""Nothing lost, nothing wrong: interrupted runs, bad settings, overflowing inputs, threads, pipes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
GOOD = {"X": [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], "y": [0, 1, 1], "lr": 0.1, "epochs": 3}


# --------------------------------------------------------------------- validation sees the working dtype

BEYOND_FLOAT32 = [
    ("X", {"X": [[1e39, 2.0], [3.0, 4.0], [5.0, 6.0]]}, r"X has values beyond the range of float32"),
    ("w0", {"w0": [1e39, 0.0]}, r"w0 has values beyond the range of float32"),
    ("lr", {"lr": 1e39}, r"lr = 1e\+39 is beyond the range of float32"),
    ("b0", {"b0": -1e39}, r"b0 = -1e\+39 is beyond the range of float32"),
]


@pytest.mark.parametrize(
    ("override", "message"), [c[1:] for c in BEYOND_FLOAT32], ids=[c[0] for c in BEYOND_FLOAT32]
)
def test_values_beyond_float32_are_rejected_before_they_become_inf(rung, override, message):
    kwargs = {**GOOD, **override, "dtype": "float32"}
    expected = message if rung.supports("float32") else r"dtype float32 is not supported"
    with pytest.raises(ValueError, match=expected):
        rung.fit(kwargs.pop("X"), kwargs.pop("y"), **kwargs)
    kwargs = {**GOOD, **override}  # the same values are fine in float64
    result = rung.fit(kwargs.pop("X"), kwargs.pop("y"), **kwargs)
    assert result.costs.shape == (3,)


HUGE = [
    ("lr-10**400", {"lr": 10**400}, r"lr must be finite, got a number too large"),
    ("b0-10**400", {"b0": -(10**400)}, r"b0 must be finite, got a number too large"),
    ("epochs-2**62", {"epochs": 2**62}, r"epochs must be <= 100,000,000"),
]


@pytest.mark.parametrize(("override", "message"), [c[1:] for c in HUGE], ids=[c[0] for c in HUGE])
def test_absurd_scalars_get_a_value_error_naming_them(rung, override, message):
    kwargs = {**GOOD, **override}
    with pytest.raises(ValueError, match=message):
        rung.fit(kwargs.pop("X"), kwargs.pop("y"), **kwargs)


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
    env = {**os.environ, variable: value}
    command = [
        sys.executable,
        "-m",
        "pytest",
        "bench",
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
        "bench/bench_descent.py",
        "--benchmark-only",
        f"--benchmark-json={target}",
        "--benchmark-max-time=0.05",
        "-p",
        "no:cacheprovider",
        *selection,
    ]


def _env() -> dict:
    return {**os.environ, "BENCH_PROFILE": "smoke", "LADDER_PLANNING": "estimate"}


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
    from bench.runs import compact

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


# --------------------------------------------------------------------------- threads and pipes

CONCURRENT = """
import threading
import numpy as np
from impls import IMPLEMENTATIONS
rng = np.random.default_rng(0)
X = rng.standard_normal((20_000, 20)); y = (X[:, 0] > 0).astype(float)
rung = IMPLEMENTATIONS["numba_fused"]
expected = rung.fit(X, y, lr=0.1, epochs=5)
answers = []
def fit():
    for _ in range(5):
        answers.append(rung.fit(X, y, lr=0.1, epochs=5))
threads = [threading.Thread(target=fit) for _ in range(3)]
[t.start() for t in threads]; [t.join() for t in threads]
assert len(answers) == 15
assert all(np.array_equal(a.w, expected.w) for a in answers)
import numba; print(numba.threading_layer())
"""


def test_concurrent_fits_are_safe_under_the_workqueue_layer():
    env = {**os.environ, "NUMBA_THREADING_LAYER": "workqueue"}
    done = subprocess.run(
        [sys.executable, "-c", CONCURRENT], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "workqueue"


def test_the_toy_run_exits_quietly_on_a_closed_pipe():
    done = subprocess.run(
        f"{sys.executable} -m impls.toy_run | head -1", shell=True, cwd=ROOT, capture_output=True, text=True
    )
    assert done.stdout.startswith("Toy run:")
    assert done.stderr == ""


def test_validation_allocates_little_beyond_its_input():
    import tracemalloc

    from impls import validate

    X = np.ones((400_000, 10))
    tracemalloc.start()
    validate(X, np.zeros(len(X)), lr=0.1, epochs=1)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < X.nbytes / 4, peak  # not an X-sized temporary


@pytest.mark.parametrize(
    "override",
    [{"X": [[1e200, 2.0], [3.0, 4.0], [5.0, 6.0]]}, {"lr": 1e308}],
    ids=["huge-X", "huge-lr"],
)
def test_a_diverging_descent_is_the_same_clear_error_on_every_rung(rung, override):
    kwargs = {**GOOD, **override, "epochs": 5}
    with pytest.raises(FloatingPointError, match=r"the descent diverged"):
        rung.fit(kwargs.pop("X"), kwargs.pop("y"), **kwargs)


def test_the_benchmarks_blas_setting_is_made_before_openblas_loads():
    """pytest imports other packages' plugins (zarr's imports NumPy, and with it OpenBLAS) before any
    conftest; ``-p bench`` in pyproject.toml imports bench first, so OpenBLAS's threads sleep at once
    after each call instead of spinning beside what is timed next (bench/FINDINGS.md)."""
    import bench

    assert bench.BLAS_SETTING_IN_TIME
    assert os.environ.get("OPENBLAS_THREAD_TIMEOUT")


def test_using_the_ladder_leaves_the_programs_environment_alone():
    """The planner reads ``bench.stats``; importing it must not change a user's environment (the
    OpenBLAS setting is for benchmark processes, made only before NumPy loads)."""
    script = (
        "import os, numpy as np; from impls import IMPLEMENTATIONS; "
        "X = np.ones((50, 3)); IMPLEMENTATIONS['numba_tuned'].fit(X, np.zeros(50), lr=0.1, epochs=2); "
        "import sys; assert 'bench' in sys.modules; print(os.environ.get('OPENBLAS_THREAD_TIMEOUT'))"
    )
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    env["LADDER_PLANNING"] = "estimate"
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "None"
