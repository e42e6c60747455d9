"""Time JIT compilation separately from the descent, so the report can say when it pays off."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bench.results.schema import record
from bench.suite.config import LR, PROFILE
from bench.suite.data import get_data
from bench.suite.harness import simd_counts
from impls import IMPLEMENTATIONS, PLANNED

JIT_RUNGS = [name for name, rung in IMPLEMENTATIONS.items() if rung.jit]
TINY_M = 64
ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.parametrize("dtype", PROFILE.jit_dtypes)
@pytest.mark.parametrize("name", JIT_RUNGS)
def test_jit_compile(benchmark, name, dtype):
    rung = IMPLEMENTATIONS[name]
    X, y = get_data(TINY_M, PROFILE.n_fixed, dtype)
    problem = rung.validate(X, y, lr=LR, epochs=1, dtype=dtype)

    built = []

    def fresh_rung():
        # A new, uncompiled copy: the timed first call is compilation plus a tiny run.
        built.append(rung.rebuild())
        return (built[-1], rung.prepare(problem), problem), {}

    def first_call(fresh, state, problem):
        return fresh.run(state, problem)

    benchmark.group = "jit compile"
    result = benchmark.pedantic(first_call, setup=fresh_rung, rounds=PROFILE.jit_rounds, iterations=1)
    expected = IMPLEMENTATIONS["numpy_vectorized"].fit(X, y, lr=LR, epochs=1, dtype=dtype)
    np.testing.assert_allclose(result.w, expected.w, rtol=rung.tolerance(dtype), atol=1e-7)
    # What LLVM made of the kernels just compiled (their assembly exists only for a fresh compile);
    # numba_tuned's kernels are those of the rungs below it.
    counts = simd_counts(built[-1], dtype) if name != PLANNED and built[-1].kernels else {}
    benchmark.extra_info.update(
        record("jit", rung=name, dtype=dtype, m=TINY_M, n=PROFILE.n_fixed, epochs=1, **counts)
    )


FIRST_FIT = """
import numpy as np
from impls import IMPLEMENTATIONS
X = np.random.default_rng(0).standard_normal((1000, 10))
IMPLEMENTATIONS["numba_tuned"].fit(X, (X[:, 0] > 0).astype(float), lr=0.1, epochs=10)
"""


def test_first_fit_in_a_new_process(benchmark):
    """A second process on this machine: start Python, import the ladder, fit numba_tuned on 1000 x 10.

    The untimed first run compiles into the disk cache and plans (wisdom); the timed ones load both.
    """
    command = [sys.executable, "-c", FIRST_FIT]
    subprocess.run(command, check=True, cwd=ROOT)

    def first_fit():
        subprocess.run(command, check=True, cwd=ROOT)

    benchmark.group = "jit compile"
    benchmark.pedantic(first_fit, rounds=PROFILE.jit_rounds + 2, iterations=1)
    benchmark.extra_info.update(
        record("first_fit", rung="numba_tuned", dtype="float64", m=1000, n=10, epochs=1)
    )
