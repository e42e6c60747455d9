"""Rungs side by side: one epoch of each, and one turn of the probe, per round in a shuffled order,
in several fresh processes.

Every ratio the lesson states between two rungs (or a rung and the probe) at a point comes from
here. In one process all of them meet the same moments of the machine, so the ratio of two
rungs' epochs in one round carries none of the drift between benchmarks timed minutes apart.
A process has its own state too (where its X landed in memory, what ran beside it): rounds of one
process do not cover the next, so each point runs in ``processes`` fresh ones (``spawn``: nothing
inherited but the environment), each generating its own X, and the interval of a ratio covers
the processes as well as the rounds (``ladderstats.side_by_side``).

A process's setup (starting Python, generating X, loading the kernels, a first epoch of each) is
not timed, and takes longer than its rounds at most points; so the processes of a point set up at
once where their X fit in ``CONCURRENT_BYTES`` together, then each times its rounds in turn while
the others wait, idle.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import time
from dataclasses import dataclass

from bench.results.schema import ROOFLINE

#: A child generates its X (up to GBs) and loads its kernels before it times anything.
START_TIMEOUT_S = 900.0
#: The planned rung's warm-up: fits until its plan has nothing left to confirm on this data.
WARMUP_MAX_FITS = 400
WARMUP_MAX_S = 30.0
#: The most bytes of X the processes of one point may hold at once to set up together (and at most
#: half the memory available when the point starts).
CONCURRENT_BYTES = 6e9


@dataclass(frozen=True)
class Design:
    """How one process times a point: at least ``min_rounds`` rounds, more while the time bound
    ``seconds`` allows, at most ``max_rounds``; the probe's turn is ``probe_s`` of reads at least."""

    min_rounds: int
    max_rounds: int
    seconds: float
    probe_s: float


def measure(point, names: list[str], design: Design, ready=lambda: None) -> dict:
    """In this process: the point's rungs and the probe side by side (what one child returns).

    ``ready`` is called once the setup is done (X generated, each rung's first epoch run), and
    returns when this process may time. Returns each rung's epoch per round and the probe's read
    per round, in seconds, the reads a probe turn made, each rung's distance from the float64
    reference, and the planned rung's choice by the end.
    """
    import numpy as np

    from bench.suite.data import get_data, timed_problem
    from bench.suite.harness import answer_error, limited_threads
    from bench.suite.roofline import read_all, reads_lasting
    from impls import IMPLEMENTATIONS, PLANNED
    from impls.planner import plan
    from impls.planner.race import run_race

    setup_from = time.time()
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
        ready()
        timed_from = time.time()
        if PLANNED in names:  # its first fit may plan (a race), so not while others set up
            run(PLANNED)
            _finish_confirmation(lambda: run(PLANNED), point)  # then timed warm: confirmation done
        run(ROOFLINE)
        reads = reads_lasting(X, design.probe_s)
        race = run_race(
            [*names, ROOFLINE],
            run,
            time.perf_counter,
            eliminate=False,
            min_rounds=design.min_rounds,
            max_rounds=design.max_rounds,
            seconds=design.seconds,
        )
        planned_with = plan(point.n, point.dtype, m=point.m).candidate.name if PLANNED in names else None
        timed = (timed_from, time.time())  # wall clock: the processes' spans compare
    times = {name: [float(t) for t in values] for name, values in race.times.items()}
    times[ROOFLINE] = [t / reads for t in times[ROOFLINE]]
    return {
        "times_s": times,
        "probe_reads": reads,
        "threads": threads,
        "errors": {name: float(answer_error(answers[name], point, 1)) for name in names},
        "plan": planned_with,
        "rounds": int(np.asarray(times[ROOFLINE]).size),
        "timed": timed,
        "setup_from": setup_from,
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


def _child(conn, point, names, design) -> None:
    def ready() -> None:
        conn.send(("ready", None))
        try:
            conn.recv()  # the parent's go
        except EOFError:  # the parent stopped the point (another process failed): end quietly
            os._exit(0)

    try:
        conn.send(("ok", measure(point, names, design, ready)))
    except BaseException as error:  # the parent raises it, with the child's traceback
        import traceback

        with contextlib.suppress(OSError):  # a parent gone has nothing to raise it in
            conn.send(("error", f"{type(error).__name__}: {error}\n{traceback.format_exc()}"))


class _Child:
    """One fresh process of a point, and the end of the pipe the parent talks to it through."""

    def __init__(self, point, names: list[str], design: Design) -> None:
        context = multiprocessing.get_context("spawn")
        self.point = point
        self.conn, child_conn = context.Pipe()
        self.process = context.Process(target=_child, args=(child_conn, point, names, design), daemon=True)
        self.process.start()
        child_conn.close()

    def answer(self, expected: str):
        """The child's next message, which must be ``expected``; RuntimeError saying what went wrong."""
        where = f"a side-by-side process at {self.point.id}"
        if not self.conn.poll(START_TIMEOUT_S):
            raise RuntimeError(f"{where} gave no answer in {START_TIMEOUT_S:g} s")
        try:
            status, value = self.conn.recv()
        except EOFError:
            self.process.join(5.0)
            raise RuntimeError(f"{where} died (exit code {self.process.exitcode})") from None
        if status == "error":
            raise RuntimeError(f"{where} failed:\n{value}")
        if status != expected:
            raise RuntimeError(f"{where} said {status!r} where {expected!r} was due")
        return value

    def close(self) -> None:
        self.conn.close()  # a child still waiting for its go reads the end of the pipe, and stops
        self.process.join(10.0)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


def _available_bytes() -> float:
    try:
        return float(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # not a POSIX system that says
        return CONCURRENT_BYTES * 2


def together(point, count: int) -> bool:
    """Whether ``count`` processes of this point may set up at once: their X (float64, and a float32
    copy at float32 points) fit in ``CONCURRENT_BYTES`` and in half the memory available now."""
    per_value = 12 if point.dtype == "float32" else 8
    return count * point.m * point.n * per_value <= min(CONCURRENT_BYTES, _available_bytes() / 2)


def in_fresh_processes(point, names: list[str], design: Design, count: int) -> list[dict]:
    """:func:`measure` in ``count`` new Python processes, one after another in their timing; set
    up at once where :func:`together` allows. Each process ends when it has answered."""
    children: list[_Child] = []
    out = []
    try:
        if together(point, count):  # all set up at once; else each just before its turn
            children = [_Child(point, names, design) for _ in range(count)]
            for child in children:
                child.answer("ready")
        for k in range(count):
            if k == len(children):
                children.append(_Child(point, names, design))
                children[k].answer("ready")
            children[k].conn.send("go")
            out.append(children[k].answer("ok"))
        return out
    finally:
        for child in children:
            child.close()
