"""Memory next to time: what each rung allocates in a fit of one epoch, beyond X and y.

Traced with ``tracemalloc``, which sees every NumPy buffer and Python object made during the
call (X and y exist before tracing starts, so they are not counted). Buffers that Numba's
runtime allocates inside compiled code are not traced: the record says so (``traced``).
Measured at the profile's m_fixed × n_fixed (the n sweep's m, the m sweep's n), float64, where
an m-long temporary is large next to everything else a rung allocates. The timed value of
these benchmarks is the traced call, slowed by tracing: the report reads only the bytes.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from bench.results.schema import record
from bench.suite.config import PROFILE
from bench.suite.data import timed_problem
from bench.suite.harness import Point, limited_threads, size_info, skip_if_over_budget
from impls import DISTRIBUTED, IMPLEMENTATIONS

# A distributed rung's memory is in its worker processes, which tracemalloc here cannot see.
MEMORY_POINTS = [
    Point(PROFILE.m_fixed, PROFILE.n_fixed, "float64", name, "all")
    for name in IMPLEMENTATIONS
    if name not in DISTRIBUTED
]


def traced_peak(call, *args) -> int:
    """Peak bytes traced while ``call(*args)`` runs, above what was allocated before it."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        call(*args)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - before


@pytest.mark.parametrize("point", MEMORY_POINTS, ids=[f"memory-{p.id}" for p in MEMORY_POINTS])
def test_memory_per_epoch(benchmark, point: Point):
    rung = IMPLEMENTATIONS[point.rung]
    epochs = 1
    skip_if_over_budget(rung, point, PROFILE)
    problem = timed_problem(rung, point.m, point.n, point.dtype, epochs)
    state = rung.prepare(problem)
    benchmark.group = "memory per epoch"
    with limited_threads(point.rung, point.threads) as threads:
        rung.run(state, problem)  # compile and warm up outside the trace
        peak = benchmark.pedantic(traced_peak, args=(rung.run, state, problem), rounds=1, iterations=1)
    itemsize = np.dtype(point.dtype).itemsize
    untraced = {
        "numba": "; not numba's runtime",
        "torch": "; not torch's allocator",
        "xla": "; not XLA's buffers",
    }
    traced = "numpy and python" + untraced.get(rung.uses_threads or "", "")
    benchmark.extra_info.update(
        record(
            "memory",
            **size_info(point, epochs, threads),
            peak_bytes=int(peak),
            m_arrays=peak / (point.m * itemsize),
            traced=traced,
            own_allocator=rung.uses_threads in ("torch", "xla"),
        )
    )
