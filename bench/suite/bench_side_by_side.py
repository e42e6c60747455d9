"""The ladder side by side: every rung that fits the time budget at a point, and the probe, one
epoch (one read of X) each per round in a shuffled order, in several fresh processes.

Every ratio the lesson states, between two rungs or between a rung and the probe (its share of
the roofline), comes from these rounds: on a shared machine the memory bandwidth one process gets
can change by half within minutes, so two benchmarks timed apart do not compare within a few
percent, while two rungs timed in the same round meet the same conditions. Each point runs in
``PROFILE.side_processes`` fresh processes (``side_by_side.py``), so the interval of a ratio
covers what changes from one process to the next as well as the rounds.

The processes of a point are passes spread over the whole run (``conftest.py`` places pass k of
every point at the k-th part of the session): three processes run back to back share one minute of
the machine, and their interval held the next run's estimate only two times in three; spread over
the run, they meet what a run minutes later meets. Each pass is a benchmark of its own; the report
reads a point's passes as one record (``bench/results/side.py``).

Points: the m sweep and the n sweep, the axis sizes in every dtype and thread setting, and the
row lengths around the axis size. The per-rung descents (``bench_descent.py``) stay, as times per
epoch; no ratio is formed from them.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from bench.results import side
from bench.results.schema import ROOFLINE, record
from bench.suite.config import PROFILE
from bench.suite.harness import (
    Point,
    assert_answer,
    needs_own_process,
    predicted_round_s,
    size_info,
    threads_of,
)
from bench.suite.side_by_side import Design, in_fresh_process
from impls import DISTRIBUTED, IMPLEMENTATIONS, PLANNED
from impls.planner.race import RULES

#: Each point's settings: the sweeps in float64 on all threads, the axis sizes in every setting.
SIZES: dict[tuple[int, int], tuple[tuple[str, str], ...]] = {}
for _m in PROFILE.m_sweep:
    SIZES[_m, PROFILE.n_fixed] = (("float64", "all"),)
for _n in PROFILE.n_sweep:
    SIZES.setdefault((PROFILE.m_fixed, _n), (("float64", "all"),))
for _n in PROFILE.n_axis:  # row lengths around the axis size: where the winner may change with n
    SIZES.setdefault((PROFILE.n_axis_m, _n), (("float64", "all"),))
for _size in PROFILE.axis_sizes:
    SIZES[_size] = PROFILE.axis_settings
POINTS = sorted(
    (
        Point(m, n, dtype, PLANNED, threads)
        for (m, n), settings in SIZES.items()
        for dtype, threads in settings
    ),
    key=lambda p: (-p.m * p.n, p.dtype, p.threads),
)
#: Every point's passes, pass-major: one fresh process each (the conftest spreads them over the run).
PASSES = [(k, point) for k in range(PROFILE.side_processes) for point in POINTS]
#: The most rounds one process runs (a fast point stops here before its time is up).
MAX_ROUNDS = 200


def design() -> Design:
    """One process's share of the profile's rounds and time at a point."""
    processes = PROFILE.side_processes
    return Design(
        min_rounds=max(1, math.ceil(PROFILE.head_to_head_rounds / processes)),
        max_rounds=MAX_ROUNDS,
        seconds=PROFILE.head_to_head_s / processes,
        probe_s=RULES.turn_s,
    )


_LADDERS: dict[Point, list[str]] = {}


def rungs_at(point: Point) -> list[str]:
    """The rungs timed side by side at a point: those of this process's registry whose epoch fits
    the budget a descent's round has (the dask rung's cluster would slow the others: its own
    benchmarks compare it). Decided once a session, at the point's first pass, and kept for the
    others: a prediction is a measurement, and a rung near the budget would be in one pass and not
    in the next (the passes' rounds join only where the same rungs ran)."""
    if point not in _LADDERS:
        _LADDERS[point] = _within_budget(point)
    return list(_LADDERS[point])


def _within_budget(point: Point) -> list[str]:
    """The point's rungs: the planned rung always (the point is its: its prediction would time its
    planning and confirmation, and once came out over the budget at 1e6 x 100 float32, where its
    epoch takes milliseconds, and the point went unmeasured), every other rung whose predicted
    epoch fits the budget."""
    dtype = np.dtype(point.dtype)
    return [
        name
        for name, rung in IMPLEMENTATIONS.items()
        if name not in DISTRIBUTED
        and rung.supports(dtype)
        and not needs_own_process(name, point.threads)
        and (
            name == PLANNED
            or predicted_round_s(rung, point.m, point.n, dtype, 1) <= PROFILE.budget_s / PROFILE.epochs
        )
    ]


@pytest.mark.parametrize(
    "side_pass, point", PASSES, ids=[f"side-by-side-{p.id}-{side.pass_id(k)}" for k, p in PASSES]
)
def test_side_by_side(benchmark, side_pass: int, point: Point):
    names = rungs_at(point)
    if PLANNED not in names:
        pytest.skip(f"{PLANNED} does not run at {point.id}")
    benchmark.group = "side by side"
    process = benchmark.pedantic(lambda: in_fresh_process(point, names, design()), rounds=1, iterations=1)
    times = process["times_s"]
    benchmark.extra_info.update(
        record(
            "head_to_head",
            **size_info(point, 1, process["threads"][PLANNED]),
            ladder=names,
            plan=process["plan"],
            race_rounds=process["rounds"],
            process_rounds=[process["rounds"]],
            side_pass=side_pass,
            times_s={name: times[name] for name in names},
            probe_threads=threads_of(ROOFLINE, point.threads),
            probe_reads=process["probe_reads"],
            probe_s=times[ROOFLINE],
            **side.summaries({name: times[name] for name in names}, times[ROOFLINE], PLANNED),
            errors=process["errors"],
            max_rel_error=process["errors"][PLANNED],
            tolerance=IMPLEMENTATIONS[PLANNED].tolerance(point.dtype),
        )
    )
    for name in names:
        assert_answer(IMPLEMENTATIONS[name], process["errors"][name], point)
