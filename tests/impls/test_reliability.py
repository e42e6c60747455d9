"""Nothing lost, nothing wrong: interrupted runs, bad settings, overflowing inputs, threads, pipes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
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
