"""The rungs called from a user's program: a fork after a parallel fit, threads fitting at once, a
process pool of fits. Each case runs in a new Python, as the user's program would, with the
threading layer the install gives (``impls/README.md``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from impls import _tbb

ROOT = Path(__file__).resolve().parents[2]

SETUP = """
import numpy as np
from impls import IMPLEMENTATIONS, relative_error
rng = np.random.default_rng(0)
X = rng.standard_normal((20_000, 24)); y = (X[:, 0] + rng.standard_normal(20_000) > 0).astype(float)
expected = IMPLEMENTATIONS["numpy_vectorized"].fit(X, y, lr=0.5, epochs=5)

def check(name):
    rung = IMPLEMENTATIONS[name]
    got = relative_error(rung.fit(X, y, lr=0.5, epochs=5), expected.w, expected.b, expected.costs)
    tolerance = rung.tolerance("float64")
    assert got <= tolerance, f"{name}: relative error {got:.2g} over {tolerance:.2g}"
    return name
"""


def run(script: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_THREADING_LAYER"}  # the install's choice
    return subprocess.run(
        [sys.executable, "-c", SETUP + script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )


def test_a_child_forked_after_a_parallel_fit_fits_right():
    """The parent fits on all its threads, then forks (multiprocessing on Linux, joblib, a server's
    workers): the child's own parallel fit runs and gets the reference answer."""
    done = run("""
import multiprocessing as mp
check("numba_fused")  # the parent's thread pool is up
child = mp.get_context("fork").Process(target=check, args=("numba_fused",))
child.start(); child.join(120)
assert child.exitcode == 0, f"the forked child ended with {child.exitcode}"
import numba; print(numba.threading_layer())
""")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "fork() called from a process already using GNU OpenMP" not in done.stderr


def test_four_threads_fitting_at_once_each_get_the_right_answer():
    """Four Python threads of one program, each fitting a compiled rung (the planned one too) at once."""
    done = run("""
from concurrent.futures import ThreadPoolExecutor
names = ["numba_fused", "numba_tiled", "numba_blocked", "numba_tuned"] * 2
with ThreadPoolExecutor(4) as pool:
    assert sorted(pool.map(check, names)) == sorted(names)
""")
    assert done.returncode == 0, done.stderr[-3000:]


def test_a_process_pool_of_fits_after_a_parallel_fit():
    """``concurrent.futures.ProcessPoolExecutor`` (fork on Linux) after the parent fitted in parallel."""
    done = run("""
from concurrent.futures import ProcessPoolExecutor
check("numba_fused")
with ProcessPoolExecutor(2) as pool:
    names = ["numba_fused", "numba_blocked", "numba_tuned", "numpy_vectorized"]
    assert list(pool.map(check, names, timeout=300)) == names
""")
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or _tbb.library_path() is None,
    reason="the tbb package has no wheel for this platform: the layer is the next fork-safe one",
)
def test_the_installed_tbb_is_the_threading_layer_a_fresh_environment_gets():
    """With the ``tbb`` package installed, a fresh process's parallel fit runs on TBB, though its
    library lies outside the loader's path (a fresh virtual environment's ``lib/``)."""
    done = run("""
import numba
check("numba_fused")
print(numba.threading_layer())
""")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["tbb"], done.stdout + done.stderr
