"""Rungs side by side: one epoch of each, and one turn of the probe, per round in a shuffled order,
in several fresh processes.

Every ratio the lesson states between two rungs (or a rung and the probe) at a point comes from
here. In one process all of them meet the same moments of the machine, so the ratio of two
rungs' epochs in one round carries none of the drift between benchmarks timed minutes apart.
A process has its own state too (where its X landed in memory, what ran beside it): rounds of one
process do not cover the next, so each point runs in several fresh ones, each generating its own X,
at different times of the run (``bench_side_by_side.py``), and the interval of a ratio covers the
processes as well as the rounds (``ladderstats.side_by_side``). A process's setup (starting Python,
generating X, loading the kernels, a first epoch of each) is not timed.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import time
from dataclasses import dataclass

from bench.results.schema import ROOFLINE

#: A child generates its X (up to GBs), loads its kernels, then times its rounds: the most it may take.
TIMEOUT_S = 900.0
#: The planned rung's warm-up: fits until its plan has nothing left to confirm on this data.
WARMUP_MAX_FITS = 400
WARMUP_MAX_S = 30.0


@dataclass(frozen=True)
class Design:
    """How one process times a point: at least ``min_rounds`` rounds, more while the time bound
    ``seconds`` allows, at most ``max_rounds``; the probe's turn is ``probe_s`` of reads at least."""

    min_rounds: int
    max_rounds: int
    seconds: float
    probe_s: float


def timed_rounds(contenders: list[str], run, design: Design):
    """The design's rounds: ``run(name)`` once for every contender a round, in a new shuffled order
    each round, none eliminated (a ``impls.planner.race.Race`` of their times). The orders are drawn
    afresh in every process: with one seed for all, a point's processes met the same orders, and a
    rung that followed a long single-threaded one in the first rounds did so in every process."""
    from impls.planner.race import run_race

    return run_race(
        contenders,
        run,
        time.perf_counter,
        eliminate=False,
        min_rounds=design.min_rounds,
        max_rounds=design.max_rounds,
        seconds=design.seconds,
        seed=None,
    )


def measure(point, names: list[str], design: Design) -> dict:
    """In this process: the point's rungs and the probe side by side (what one child returns).

    Once the setup is done (X generated, each rung's first epoch run) the planned rung fits until
    its plan is confirmed, then the rounds are timed. Returns each rung's epoch and the probe's
    read per round, in seconds, the reads a probe turn made, each rung's distance from the float64
    reference, and the planned rung's choice by the end.
    """
    import numpy as np

    from bench.suite.data import get_data, timed_problem
    from bench.suite.harness import answer_error, limited_threads
    from bench.suite.roofline import read_all, reads_lasting
    from impls import IMPLEMENTATIONS, PLANNED
    from impls.planner import plan

    X, _ = get_data(point.m, point.n, point.dtype)
    rungs = {name: IMPLEMENTATIONS[name] for name in names}
    problems = {name: timed_problem(rung, point.m, point.n, point.dtype, 1) for name, rung in rungs.items()}
    states = {name: rung.prepare(problems[name]) for name, rung in rungs.items()}
    answers = {}
    reads = 1

    def run(name: str) -> None:
        if name == ROOFLINE:
            for _ in range(reads):
                read_all(X)
        else:
            answers[name] = rungs[name].run(states[name], problems[name])

    with contextlib.ExitStack() as stack:
        threads = {name: stack.enter_context(limited_threads(name, point.threads)) for name in names}
        threads[ROOFLINE] = stack.enter_context(limited_threads(ROOFLINE, point.threads))
        for name in names:
            if name != PLANNED:
                run(name)  # compile or load, first touch
        if PLANNED in names:  # its first fit may plan (a race)
            run(PLANNED)
            _finish_confirmation(lambda: run(PLANNED), point)  # then timed warm: confirmation done
        run(ROOFLINE)
        reads = reads_lasting(X, design.probe_s)
        race = timed_rounds([*names, ROOFLINE], run, design)
        planned_with = plan(point.n, point.dtype, m=point.m).candidate.name if PLANNED in names else None
    times = {name: [float(t) for t in values] for name, values in race.times.items()}
    times[ROOFLINE] = [t / reads for t in times[ROOFLINE]]
    return {
        "times_s": times,
        "probe_reads": reads,
        "threads": threads,
        "errors": {name: float(answer_error(answers[name], point, 1)) for name in names},
        "plan": planned_with,
        "rounds": int(np.asarray(times[ROOFLINE]).size),
    }


def _finish_confirmation(fit_once, point) -> None:
    """Fit until the planned rung's plan for this key has nothing left to confirm (bounded)."""
    from impls.planner import planning

    start = time.perf_counter()
    for _ in range(WARMUP_MAX_FITS):
        current = planning.plan(point.n, point.dtype, m=point.m)
        confirming = planning.confirmation(current)
        if confirming is None or confirming.finished or time.perf_counter() - start > WARMUP_MAX_S:
            return
        fit_once()


def _child(conn, how, point, names, design) -> None:
    try:
        conn.send(("ok", how(point, names, design)))
    except BaseException as error:  # the parent raises it, with the child's traceback
        import traceback

        with contextlib.suppress(OSError):  # a parent gone has nothing to raise it in
            conn.send(("error", f"{type(error).__name__}: {error}\n{traceback.format_exc()}"))


def in_fresh_process(point, names: list[str], design: Design, how=measure) -> dict:
    """``how(point, names, design)`` (:func:`measure`, or another workload's, a module-level
    function) in a new Python process (``spawn``: nothing inherited but the environment), which
    ends when it has answered; a child that fails, dies or hangs is one RuntimeError naming the
    point."""
    context = multiprocessing.get_context("spawn")
    conn, child_conn = context.Pipe()
    process = context.Process(target=_child, args=(child_conn, how, point, names, design), daemon=True)
    process.start()
    child_conn.close()
    where = f"a side-by-side process at {point.id}"
    try:
        if not conn.poll(TIMEOUT_S):
            raise RuntimeError(f"{where} gave no answer in {TIMEOUT_S:g} s")
        try:
            status, value = conn.recv()
        except EOFError:
            process.join(5.0)
            raise RuntimeError(f"{where} died (exit code {process.exitcode})") from None
        if status == "error":
            raise RuntimeError(f"{where} failed:\n{value}")
        if status != "ok":
            raise RuntimeError(f"{where} said {status!r} where 'ok' was due")
        return value
    finally:
        conn.close()
        process.join(10.0)
        if process.is_alive():
            process.kill()
            process.join()
