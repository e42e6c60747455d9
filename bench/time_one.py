"""Time one rung at a size you pick, beside the roofline probe: the lesson's measurement, by hand.

    python -m bench.time_one numba_fused 200000 50           # m = 200,000 examples, n = 50 features
    python -m bench.time_one numpy_vectorized 1000000 100 --dtype float32 --threads one

Prints the best of several timed epochs (other work on the machine only adds time), the probe's
read of the same X, and the epoch's share of it. The data, the start and the learning rate are
the benchmarks' own; compilation and the planner's first measurement happen before timing.
"""

from __future__ import annotations

import argparse
import sys
import time

from bench.suite.config import LR
from bench.suite.data import get_data, timed_problem
from bench.suite.harness import ROOFLINE, limited_threads, needs_own_process
from bench.suite.roofline import read_all
from impls import IMPLEMENTATIONS, MISSING

#: Timing stops after this many seconds of epochs (at least MIN_ROUNDS of them).
SECONDS = 1.0
MIN_ROUNDS = 3


def best_of(call, seconds: float = SECONDS, least: int = MIN_ROUNDS) -> float:
    """The shortest of repeated calls, timed until ``seconds`` have passed and at least ``least`` ran."""
    times: list[float] = []
    began = time.perf_counter()
    while len(times) < least or time.perf_counter() - began < seconds:
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return min(times)


def measure(name: str, m: int, n: int, dtype: str, threads: str) -> tuple[float, float, int]:
    """(best epoch, best read of X by the probe, threads) for the rung at this size, in seconds."""
    rung = IMPLEMENTATIONS[name]
    X, _ = get_data(m, n, dtype)
    problem = timed_problem(rung, m, n, dtype)
    state = rung.prepare(problem)
    with limited_threads(name, threads) as count, limited_threads(ROOFLINE, threads):
        rung.run(state, problem)  # compile, plan, touch every buffer: not timed
        read_all(X)
        epoch = best_of(lambda: rung.run(state, problem))
        probe = best_of(lambda: read_all(X))
    return epoch, probe, count


def report(name: str, m: int, n: int, dtype: str, threads: int, epoch: float, probe: float) -> str:
    nbytes = m * n * (4 if dtype == "float32" else 8)
    return (
        f"{name} at m = {m:,}, n = {n:,}, {dtype}, {threads} thread(s), lr = {LR}:\n"
        f"  one epoch       {epoch * 1e3:10.4g} ms  ({nbytes / epoch / 1e9:.1f} GB/s of X)\n"
        f"  probe's read    {probe * 1e3:10.4g} ms  ({nbytes / probe / 1e9:.1f} GB/s)\n"
        f"  share of probe  {probe / epoch:10.0%}"
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.time_one", description=__doc__.split("\n")[0])
    parser.add_argument("rung", help=f"one of: {', '.join(IMPLEMENTATIONS)}")
    parser.add_argument("m", type=int, help="examples (rows of X)")
    parser.add_argument("n", type=int, help="features (columns of X)")
    parser.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    parser.add_argument("--threads", default="all", choices=["all", "one"])
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.rung not in IMPLEMENTATIONS:
        why = MISSING.get(args.rung, f"the rungs are: {', '.join(IMPLEMENTATIONS)}")
        parser.error(f"no rung {args.rung!r} here: {why}")
    if args.m < 1 or args.n < 1:
        parser.error(f"m and n must be >= 1, got m={args.m}, n={args.n}")
    rung = IMPLEMENTATIONS[args.rung]
    if not rung.supports(args.dtype):
        parser.error(f"{args.rung} does not run {args.dtype}")
    if needs_own_process(args.rung, args.threads):
        parser.error(
            f"{args.rung} sizes its threads when it starts: time it on one thread with the benchmarks"
        )
    epoch, probe, threads = measure(args.rung, args.m, args.n, args.dtype, args.threads)
    print(report(args.rung, args.m, args.n, args.dtype, threads, epoch, probe))
    return 0


if __name__ == "__main__":
    sys.exit(main())
