"""Time every rung of the ladder, and the roofline probe, across sizes, dtypes and threads.

Run from the repository root: ``pytest --benchmark-only``. The profile (sizes, epochs
per round, time budget) comes from ``BENCH_PROFILE``; see ``bench/suite/config.py``.
"""

from __future__ import annotations

import numba
import numpy as np
import pytest

from bench.results.schema import record
from bench.suite.config import PROFILE
from bench.suite.data import get_data, timed_problem
from bench.suite.harness import (
    ROOFLINE,
    Point,
    answer_error,
    assert_answer,
    limited_threads,
    own_process_or_skip,
    points,
    size_info,
    skip_if_over_budget,
)
from bench.suite.passes import epoch_counts
from bench.suite.pinned import PinnedRung
from bench.suite.roofline import read_all
from impls import IMPLEMENTATIONS, MISSING, PEERS, PLANNED
from impls.planner import key, plan, rule_of_thumb

RUNG_POINTS = points(PROFILE, list(IMPLEMENTATIONS))
PROBE_POINTS = points(PROFILE, [ROOFLINE])


@pytest.mark.parametrize("peer", list(MISSING), ids=[f"{name}-not-installed" for name in MISSING])
def test_descent_of_a_peer_not_installed(benchmark, peer):
    """A peer rung whose package is missing is listed in every benchmark run, skipped with the reason."""
    pytest.skip(MISSING[peer])


@pytest.mark.parametrize("point", RUNG_POINTS, ids=[p.id for p in RUNG_POINTS])
def test_descent(benchmark, point: Point):
    rung = IMPLEMENTATIONS[point.rung]
    epochs = PROFILE.epochs
    skip_if_over_budget(rung, point, PROFILE)

    problem = timed_problem(rung, point.m, point.n, point.dtype, epochs)
    state = rung.prepare(problem)  # e.g. lists for pure Python: not part of the timing

    benchmark.group = f"descent m={point.m} n={point.n}"
    pinned = {}
    if own_process_or_skip(point.rung, point.threads):  # a thread pool fixed at start-up: jax
        with PinnedRung(point.rung, point.m, point.n, point.dtype, epochs) as child:
            benchmark(child.run)  # the descent in the child, and one pipe round trip
            pinned["pinned_round_trip_s"] = child.round_trip_s()
            result, pinned["pinned_cpu_per_wall"], _ = child.report()
        threads = 1
    else:
        with limited_threads(point.rung, point.threads) as threads:
            rung.run(state, problem)  # warm-up: JIT compilation and first touch of every buffer
            result = benchmark(rung.run, state, problem)  # the descent only

    info = size_info(point, epochs, threads) | pinned
    info["max_rel_error"] = answer_error(result, point, epochs)
    info["tolerance"] = rung.tolerance(point.dtype)
    if point.rung in PEERS and (point.m, point.n) in PROFILE.axis_sizes and point.threads == "all":
        info.update(epoch_counts(point.rung, point.m, point.n, point.dtype))  # untimed, after the timing
    if point.rung == PLANNED:  # which candidate the plan ran here, and what the rule of thumb is
        with limited_threads(point.rung, point.threads):
            planned = plan(point.n, point.dtype, m=point.m)
        itemsize = np.dtype(point.dtype).itemsize
        info["plan"] = planned.candidate.name
        info["plan_rule_of_thumb"] = rule_of_thumb(point.n, point.dtype).name
        info["plan_source"] = planned.source
        info["plan_data"] = key.data_class(point.m, point.n, itemsize)
    benchmark.extra_info.update(record("descent", **info))
    assert_answer(rung, info["max_rel_error"], point)  # the record stays: the report lists the failure


@pytest.mark.parametrize("point", PROBE_POINTS, ids=[p.id for p in PROBE_POINTS])
def test_roofline(benchmark, point: Point):
    X, _ = get_data(point.m, point.n, point.dtype)
    benchmark.group = f"descent m={point.m} n={point.n}"
    with limited_threads(ROOFLINE, point.threads) as threads:
        read_all(X)  # compile, and fault in X
        total = benchmark(read_all, X)
    np.testing.assert_allclose(total, X.sum(dtype=np.float64), rtol=1e-4, atol=1e-6 * X.size)
    benchmark.extra_info.update(
        record(ROOFLINE, **size_info(point, 1, threads), numba_threading_layer=numba.threading_layer())
    )
