"""What returning to Python between batches of epochs costs a compiled fit, measured side by side.

    python -m bench.suite.batching            # the default profile's sizes where a fit's calls differ

A compiled descent runs its epochs in calls of at most ``impls._jit.BATCH_VALUES`` numbers of X
(so Ctrl-C stops it between two). A fit whose epochs fit in one batch makes the same one call as
before; this measures the fits that are split: the benchmarks' fits (``PROFILE.epochs`` epochs)
where an epoch reads more than a third of a batch, and a long fit of small epochs, where a call's
fixed cost weighs most. At each, one fit batched and one fit in a single call (``BATCH_VALUES``
set past the whole fit) take turns in shuffled rounds, in fresh processes; the ratio is the median
of the rounds' ratios with its interval (``ladderstats.side_by_side``). Beside it, what the extra
calls should cost: the shortest of many fits of 0 epochs (one call's fixed cost: entering the
kernel, its scratch arrays) times the extra calls, over the fit's time. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
from importlib import import_module

#: The compiled rungs that run their epochs through ``epoch_batches``.
RUNGS = ("numba_loops", "numba_fused", "numba_tiled", "numba_blocked", "numba_tuned")
#: Peers that batch the same way, measured where installed; XLA's threads cannot be bounded inside a
#: process (``bench/suite/pinned.py``), so not at one thread.
PEERS = ("jax",)
#: (m, n, dtype, threads, epochs): where a default-profile fit is split, and one long fit.
FITS = (
    (1_000_000, 100, "float64", "all", 3),
    (1_000_000, 100, "float32", "all", 3),
    (1_000_000, 100, "float64", "one", 3),
    (1_000_000, 96, "float64", "all", 3),
    (1_000_000, 128, "float64", "all", 3),
    (100_000, 1_000, "float64", "all", 3),
    (10_000, 100, "float64", "all", 1_000),
)
ROUNDS = 6
PROCESSES = 3


def _one_process(fit: tuple, rungs: tuple[str, ...], rounds: int) -> dict[str, dict[str, list[float]]]:
    """In a fresh process: each rung's fit, batched and in one call, in the same shuffled rounds, and
    the shortest of 200 calls of 0 epochs."""
    import time

    from bench.suite.data import timed_problem
    from bench.suite.harness import limited_threads
    from impls import IMPLEMENTATIONS, _jit
    from impls.planner.race import run_race

    m, n, dtype, threads, epochs = fit
    batched = _jit.BATCH_VALUES
    out = {}
    for name in rungs:
        rung = IMPLEMENTATIONS[name]
        problem = timed_problem(rung, m, n, dtype, epochs)
        state = rung.prepare(problem)

        def run(arm: str, rung=rung, state=state, problem=problem) -> None:
            _jit.BATCH_VALUES = batched if arm == "batched" else m * n * epochs + 1
            rung.run(state, problem)

        with limited_threads(name, threads):
            for arm in ("one_call", "batched", "batched"):  # compile, load, plan, confirm
                run(arm)
            race = run_race(
                ["batched", "one_call"],
                run,
                time.perf_counter,
                eliminate=False,
                min_rounds=rounds,
                max_rounds=rounds,
                seconds=0.0,
            )
            empty = timed_problem(rung, m, n, dtype, 0)
            empty_state = rung.prepare(empty)
            call_s = []
            for _ in range(200):
                start = time.perf_counter()
                rung.run(empty_state, empty)
                call_s.append(time.perf_counter() - start)
        _jit.BATCH_VALUES = batched
        out[name] = {arm: [float(t) for t in race.times[arm]] for arm in ("batched", "one_call")}
        out[name]["call_s"] = [min(call_s)]
    return out


def measure(fit: tuple, rungs=RUNGS, rounds: int = ROUNDS, processes: int = PROCESSES) -> dict:
    """Each rung's batched over one-call fit time at ``fit`` (a ``ladderstats.Ratio``), and one call's
    fixed cost over a one-call fit's median time, by rung."""
    import statistics

    import ladderstats

    context = multiprocessing.get_context("spawn")
    with context.Pool(1, maxtasksperchild=1) as pool:
        runs = [pool.apply(_one_process, (fit, tuple(rungs), rounds)) for _ in range(processes)]
    return {
        name: (
            ladderstats.side_by_side(
                [run[name]["batched"] for run in runs], [run[name]["one_call"] for run in runs]
            ),
            min(run[name]["call_s"][0] for run in runs)
            / statistics.median(t for run in runs for t in run[name]["one_call"]),
        )
        for name in rungs
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.suite.batching", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--processes", type=int, default=PROCESSES)
    parser.add_argument("--rungs", nargs="+", help="these rungs only (default: every batched rung installed)")
    args = parser.parse_args(argv)
    from tabulate import tabulate

    from impls import IMPLEMENTATIONS, _jit

    chosen = args.rungs or [*RUNGS, *(name for name in PEERS if name in IMPLEMENTATIONS)]
    unknown = [name for name in chosen if name not in (*RUNGS, *PEERS) or name not in IMPLEMENTATIONS]
    if unknown:
        parser.error(f"--rungs: {', '.join(unknown)} is not a batched rung installed here")
    rows = []
    for fit in FITS:
        m, n, dtype, threads, epochs = fit
        rungs = [name for name in chosen if threads == "all" or name not in PEERS]
        if not rungs:
            continue
        for name, (ratio, call) in measure(fit, rungs, args.rounds, args.processes).items():
            scale = import_module(f"impls.{name}").BATCH_SCALE if name in PEERS else 1
            calls = len(list(_jit.epoch_batches(epochs, m * n // scale)))
            rows.append(
                [
                    f"{m:,} × {n:,} {dtype}, {threads} threads",
                    f"{epochs:,} in {calls:,} calls",
                    name,
                    f"{ratio.estimate - 1:+.2%} ({ratio.low - 1:+.2%} to {ratio.high - 1:+.2%})",
                    f"{(calls - 1) * call:.3%}",
                ]
            )
            print(" | ".join(rows[-1]), file=sys.stderr, flush=True)
    header = ["fit", "epochs", "rung", "batched over one call (95% interval)", "extra calls' fixed cost"]
    print(tabulate(rows, header, tablefmt="github"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
