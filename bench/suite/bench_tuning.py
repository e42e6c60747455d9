"""numba_tuned's planning, at the axis sizes: what measuring costs, and every candidate's time there.

Two things per (size, dtype, thread setting), in one benchmark:

* the timed value is one planning measurement as a first use on a new machine would run it
  (``impls.planner.plan.measure``: generate the tuning data, race the candidates), kernels
  already compiled: compilation is timed apart, in ``bench_jit.py``;
* ``extra_info["landscape_best_s"]``: every candidate's best epoch on the benchmark's own data
  at this size, timed interleaved with none dropped, the landscape the lesson charts. It shows
  how far the plan, made on the tuning data, is from the best candidate here, and what it
  gained on the rule of thumb (the planner page shows that per CPU).
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from bench.results.schema import record
from bench.suite.config import PROFILE
from bench.suite.data import timed_problem
from bench.suite.harness import Point, limited_threads, size_info
from impls import IMPLEMENTATIONS
from impls.planner import candidates, key, planning, race

TUNED = "numba_tuned"
TUNING_POINTS = sorted(
    {
        Point(m, n, dtype, TUNED, threads)
        for m, n in PROFILE.axis_sizes
        for dtype, threads in PROFILE.axis_settings
    },
    key=lambda p: (-p.m * p.n, p.dtype, p.threads),
)


@pytest.mark.parametrize("point", TUNING_POINTS, ids=[f"tuning-{p.id}" for p in TUNING_POINTS])
def test_tuning(benchmark, point: Point):
    problem = timed_problem(IMPLEMENTATIONS[TUNED], point.m, point.n, point.dtype)
    benchmark.group = "numba_tuned measuring"
    data = key.data_class(point.m, point.n, np.dtype(point.dtype).itemsize)  # the plan's class
    with limited_threads(TUNED, point.threads) as threads:
        entry = benchmark.pedantic(
            planning.measure, args=(point.n, point.dtype), kwargs={"data": data}, rounds=1, iterations=1
        )
        candidates.warm_up(problem)
        times = race.run_race(  # every candidate, every round
            [c.name for c in candidates.CANDIDATES],
            lambda name: candidates.run(candidates.BY_NAME[name], problem),
            time.perf_counter,
            eliminate=False,
            min_rounds=2,
            seconds=PROFILE.tuning_landscape_s,
        ).times
        planned = planning.plan(point.n, point.dtype, m=point.m)
    best = {name: min(values) for name, values in times.items()}
    benchmark.extra_info.update(
        record(
            "tuning",
            **size_info(point, 1, threads),
            tuning_choice=entry["choice"],
            tuning_best_s=entry["best_s"],
            tuning_median_s=entry["median_s"],
            tuning_rounds=entry["rounds"],
            tuning_finalists=entry["finalists"],
            tuning_rule_of_thumb=entry["rule_of_thumb"],
            tuning_fastest=entry["fastest"],
            tuning_data_bytes=entry["data_bytes"],
            tuning_data_s=entry["data_s"],
            tuning_warmup_s=entry["warmup_s"],
            tuning_measuring_s=entry["measuring_s"],
            tuning_ended=entry["ended"],
            **({} if entry["gain"] is None else {"tuning_gain": entry["gain"]}),
            landscape_best_s=best,
            landscape_median_s={name: float(np.median(values)) for name, values in times.items()},
            landscape_rounds=len(next(iter(times.values()))),
            plan=planned.candidate.name,
        )
    )
