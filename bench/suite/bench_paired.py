"""Share of the roofline measured side by side: the probe and a compiled rung, round after round.

At the axis sizes (every dtype and thread setting), at the sweeps' sizes from m = 1e5 up and on
the n axis around the axis size (float64, all threads): the sizes where the lesson compares the
compiled rungs with each other.
Two rungs' shares, each taken against the probe in the same moments, compare the rungs
without the drift of minutes between their benchmarks.

On a shared machine the memory bandwidth one process gets can change by half within minutes.
A share taken from two benchmarks run minutes apart carries that change; here, at the axis
sizes, each round times one read of X by the probe and one epoch of the rung back to back,
alternating which goes first (ABBA), so every pair meets the same conditions. The share is
computed per pair (probe time / epoch time) and summarised over pairs.

At the same sizes, ``test_head_to_head`` races the planned rung against the ladder's other
compiled rungs the same way: one epoch of each per round, and one read of X by the probe, in
a shuffled order. There every rung's share of the probe comes from the same rounds, so the
shares of two rungs compare without the drift between two paired benchmarks.
"""

from __future__ import annotations

import contextlib
import time

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
    size_info,
    skip_if_over_budget,
    threads_of,
)
from bench.suite.pinned import PinnedRung
from bench.suite.roofline import read_all, reads_lasting, wake
from impls import IMPLEMENTATIONS, PLANNED
from impls.planner import plan
from impls.planner.race import RULES, run_race

COMPILED = [name for name, rung in IMPLEMENTATIONS.items() if rung.jit]
SWEEP_FROM_M = 100_000  # below this X sits in cache and an epoch takes microseconds: no probe to compare
# The axis sizes in every setting, and the sweeps' sizes from SWEEP_FROM_M up in float64 on all threads.
SIZES = {(m, n): (("float64", "all"), ("float32", "all"), ("float64", "one")) for m, n in PROFILE.axis_sizes}
for _m in (m for m in PROFILE.m_sweep if m >= SWEEP_FROM_M):
    SIZES.setdefault((_m, PROFILE.n_fixed), (("float64", "all"),))
for _n in PROFILE.n_sweep if PROFILE.m_fixed >= SWEEP_FROM_M else ():
    SIZES.setdefault((PROFILE.m_fixed, _n), (("float64", "all"),))
for _n in PROFILE.n_axis:  # row lengths around the axis size: where the winner may change with n
    SIZES.setdefault((PROFILE.n_axis_m, _n), (("float64", "all"),))
#: Every other rung at the axis sizes (float64, all threads): the share of the roofline the lesson
#: gives for every rung is the side-by-side one (the slow ones are skipped by the time budget).
OTHERS = [name for name in IMPLEMENTATIONS if name not in COMPILED]
ORDER = list(IMPLEMENTATIONS)
PAIRED_POINTS = sorted(
    {
        Point(m, n, dtype, name, threads)
        for (m, n), settings in SIZES.items()
        for name in COMPILED
        for dtype, threads in settings
    }
    | {Point(m, n, "float64", name, "all") for m, n in PROFILE.axis_sizes for name in OTHERS},
    key=lambda p: (-p.m * p.n, p.dtype, p.threads, ORDER.index(p.rung)),
)


@pytest.mark.parametrize("point", PAIRED_POINTS, ids=[f"paired-{p.id}" for p in PAIRED_POINTS])
def test_share_of_probe(benchmark, point: Point):
    rung = IMPLEMENTATIONS[point.rung]
    epochs = 1  # one epoch per round: the probe's read and the epoch are then of the same order
    skip_if_over_budget(rung, point, PROFILE)
    pairs: list[tuple[float, float]] = []

    def timed(call, *args) -> float:
        start = time.perf_counter()
        call(*args)
        return time.perf_counter() - start

    def pair(probe, epoch):
        if len(pairs) % 2 == 0:
            probe_s, epoch_s = probe(), timed(epoch)
        else:
            epoch_s, probe_s = timed(epoch), probe()
        pairs.append((probe_s, epoch_s))

    benchmark.group = f"paired share m={point.m} n={point.n}"
    pinned = {}
    if own_process_or_skip(point.rung, point.threads):  # both on the pinned child's one CPU
        with PinnedRung(point.rung, point.m, point.n, point.dtype, epochs) as child:
            rounds = PROFILE.paired_rounds
            args = (lambda: timed(child.probe), child.run)
            benchmark.pedantic(pair, args=args, rounds=rounds, iterations=1)
            pinned["pinned_round_trip_s"] = child.round_trip_s()
            result = child.report()[0]
        threads, reads = 1, 1  # the pinned points' X lies beyond the cache: one read lasts
    else:
        X, _ = get_data(point.m, point.n, point.dtype)
        problem = timed_problem(rung, point.m, point.n, point.dtype, epochs)
        state = rung.prepare(problem)
        answers = []

        def probe():
            read_all(X)

        def timed_probe() -> float:  # the mean of reads lasting RULES.turn_s at least
            wake(X)  # its threads awake whatever ran before, as in the rung's warm epochs
            return timed(lambda: [probe() for _ in range(reads)]) / reads

        def epoch():
            answers.append(rung.run(state, problem))

        # The probe reads with the threads of the setting (all cores, or one); a serial rung runs on one.
        with limited_threads(ROOFLINE, point.threads), limited_threads(point.rung, point.threads) as threads:
            probe()
            epoch()  # compile, first touch
            reads = reads_lasting(X, RULES.turn_s)
            benchmark.pedantic(pair, args=(timed_probe, epoch), rounds=PROFILE.paired_rounds, iterations=1)
        result = answers[-1]
    shares = np.array([probe / epoch for probe, epoch in pairs])
    benchmark.extra_info.update(
        record(
            "paired",
            **size_info(point, epochs, threads),
            probe_threads=threads_of(ROOFLINE, point.threads),
            pairs_s=pairs,
            share_median=float(np.median(shares)),
            share_q25=float(np.quantile(shares, 0.25)),
            share_q75=float(np.quantile(shares, 0.75)),
            probe_reads=reads,
            probe_best_s=min(p for p, _ in pairs),
            epoch_best_s=min(e for _, e in pairs),
            max_rel_error=answer_error(result, point, epochs),
            tolerance=rung.tolerance(point.dtype),
            **pinned,
        )
    )
    assert_answer(rung, benchmark.extra_info["max_rel_error"], point)


# --- the planned rung against the ladder's other compiled kernels, in the same rounds ---------

#: The rungs the planned one is raced against: the ladder's compiled kernels that run in this
#: process. (The peers run in frameworks of their own; the descent benchmarks time them.)
LADDER = [name for name in COMPILED if IMPLEMENTATIONS[name].uses_threads in ("numba", None)]
HEAD_TO_HEAD_MAX_ROUNDS = 200
HEAD_TO_HEAD_POINTS = sorted(
    {
        Point(m, n, dtype, PLANNED, threads)
        for (m, n), settings in SIZES.items()
        for dtype, threads in settings
    },
    key=lambda p: (-p.m * p.n, p.dtype, p.threads),
)


@pytest.mark.parametrize(
    "point", HEAD_TO_HEAD_POINTS, ids=[f"head-to-head-{p.id}" for p in HEAD_TO_HEAD_POINTS]
)
def test_head_to_head(benchmark, point: Point):
    """One epoch of the planned rung and of every other compiled ladder rung, and one read of X by the
    probe, in a shuffled order each round.

    Whether the planned rung is "within 5% of the fastest other rung" is a difference smaller
    than the drift between benchmarks run minutes apart on a shared machine; here every rung
    meets the same moments, and the comparison is the median over rounds of each rung's epoch
    over the planned rung's epoch in the same round.
    """
    X, _ = get_data(point.m, point.n, point.dtype)
    rungs = {name: IMPLEMENTATIONS[name] for name in LADDER}
    problems = {name: timed_problem(rung, point.m, point.n, point.dtype) for name, rung in rungs.items()}
    states = {name: rung.prepare(problems[name]) for name, rung in rungs.items()}
    answers = {}

    def run(name: str) -> None:
        if name == ROOFLINE:
            read_all(X)
        else:
            answers[name] = rungs[name].run(states[name], problems[name])

    def head_to_head():  # the planner's race, every rung and the probe running every round
        return run_race(
            [*LADDER, ROOFLINE],
            run,
            time.perf_counter,
            eliminate=False,
            min_rounds=PROFILE.head_to_head_rounds,
            max_rounds=HEAD_TO_HEAD_MAX_ROUNDS,
            seconds=PROFILE.head_to_head_s,
        ).times

    benchmark.group = "head to head"
    with contextlib.ExitStack() as stack:
        counts = [stack.enter_context(limited_threads(name, point.threads)) for name in LADDER]
        stack.enter_context(limited_threads(ROOFLINE, point.threads))
        for name in LADDER:
            run(name)  # compile or load, first touch
        run(ROOFLINE)
        times = benchmark.pedantic(head_to_head, rounds=1, iterations=1)
        planned_with = plan(point.n, point.dtype, m=point.m).candidate.name  # what it ran by the end
    probe_s = times.pop(ROOFLINE)
    planned = np.array(times[PLANNED])
    ratios = {name: np.array(values) / planned for name, values in times.items() if name != PLANNED}
    shares = {name: np.array(probe_s) / np.array(values) for name, values in times.items()}
    benchmark.extra_info.update(
        record(
            "head_to_head",
            **size_info(point, 1, counts[LADDER.index(PLANNED)]),
            ladder=LADDER,
            plan=planned_with,
            race_rounds=len(planned),
            times_s=times,
            ratio_median={name: float(np.median(r)) for name, r in ratios.items()},
            ratio_q25={name: float(np.quantile(r, 0.25)) for name, r in ratios.items()},
            ratio_q75={name: float(np.quantile(r, 0.75)) for name, r in ratios.items()},
            probe_threads=threads_of(ROOFLINE, point.threads),
            probe_s=probe_s,
            probe_share_median={name: float(np.median(r)) for name, r in shares.items()},
            probe_share_q25={name: float(np.quantile(r, 0.25)) for name, r in shares.items()},
            probe_share_q75={name: float(np.quantile(r, 0.75)) for name, r in shares.items()},
            max_rel_error=answer_error(answers[PLANNED], point, 1),
            tolerance=IMPLEMENTATIONS[PLANNED].tolerance(point.dtype),
        )
    )
    assert_answer(IMPLEMENTATIONS[PLANNED], benchmark.extra_info["max_rel_error"], point)
