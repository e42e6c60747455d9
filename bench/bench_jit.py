"""Time JIT compilation separately from the descent, so the report can say when it pays off."""

from __future__ import annotations

import numpy as np
import pytest

from bench.config import LR, PROFILE
from bench.data import get_data
from impls import IMPLEMENTATIONS

JIT_RUNGS = [name for name, rung in IMPLEMENTATIONS.items() if rung.jit]
TINY_M = 64


@pytest.mark.parametrize("dtype", PROFILE.jit_dtypes)
@pytest.mark.parametrize("name", JIT_RUNGS)
def test_jit_compile(benchmark, name, dtype):
    rung = IMPLEMENTATIONS[name]
    X, y = get_data(TINY_M, PROFILE.n_fixed, dtype)
    problem = rung.validate(X, y, lr=LR, epochs=1, dtype=dtype)

    def fresh_rung():
        # A new, uncompiled copy: the timed first call is compilation plus a tiny run.
        return (rung.rebuild(), rung.prepare(problem), problem), {}

    def first_call(fresh, state, problem):
        return fresh.run(state, problem)

    benchmark.group = "jit compile"
    result = benchmark.pedantic(first_call, setup=fresh_rung, rounds=PROFILE.jit_rounds, iterations=1)
    expected = IMPLEMENTATIONS["numpy"].fit(X, y, lr=LR, epochs=1, dtype=dtype)
    np.testing.assert_allclose(result.w, expected.w, rtol=rung.tolerance(dtype), atol=1e-7)
    benchmark.extra_info.update(
        {"kind": "jit", "rung": name, "dtype": dtype, "m": TINY_M, "n": PROFILE.n_fixed, "epochs": 1}
    )
