"""The planned rung's first use, shape by shape: what planning and its confirmation cost, and
where the plan lands against the other compiled rungs and the probe.

``python -m bench.suite.first_use [--out FILE] [--shape M,N,DTYPE ...] [--epochs 100]`` runs each
shape in a fresh process with a wisdom file of its own (empty: a first use on a new machine, the
kernels already compiled, and one untimed fit of ``numba_fused`` first, as the process's first long
fit, whose own first-time costs any rung would pay):

1. the plan for the shape's key, timed: the race on generated data (how it ended: ``ended``);
2. the first fit of ``--epochs`` epochs on the shape's X, timed once: the confirmation runs in it;
   ``--fits`` fits of the race's choice alone (the same epochs) before it and of the choice when it
   ended (``after_first_fit``) after it: the first fit's overhead is its time over their median
   (a few percent either way on a shared machine). The turns' own account comes beside it,
   measured within the confirmation: what its turns took beyond that choice's median time per
   row there, over that median fit;
3. where the confirmation has not ended, more fits of the rung until it has, for at most
   ``MAX_SECONDS_TO_CONFIRM`` (``fits_to_confirm`` counts the first; "not yet" in the table where
   it had not ended), and the turns' account over all of them;
4. one-epoch fits of the compiled rungs and one read of X by the probe, in shuffled rounds (at least
   ``--rounds``, more while ``--seconds`` last; as the
   side-by-side benchmarks time them, the planned rung warm): the planned rung against the best
   other, and each rung's share of the probe, as paired ratios with their 95% intervals.

Timings apart (1-3) are one process's; the ratios of 4 are of its rounds only. The output is one
JSON file and a Markdown table on stdout.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time
from pathlib import Path

#: The check's nine shapes: the lesson's size in both dtypes and at neighbouring row lengths, long
#: thin rows, wide rows, and X beyond, about and within the last-level cache.
SHAPES = (
    (1_000_000, 100, "float64"),
    (1_000_000, 100, "float32"),
    (4_000_000, 25, "float64"),
    (100_000, 1_000, "float64"),
    (1_000_000, 96, "float64"),
    (1_000_000, 128, "float64"),
    (100_000, 100, "float64"),
    (100_000, 10, "float64"),
    (10_000, 100, "float64"),
)
COMPILED = ("numba_fused", "numba_tiled", "numba_blocked")
#: A planned rung keeps up where its epoch is at most this many times the best other rung's.
KEEPS_UP = 1.05
MAX_ROUNDS = 3000
#: Seconds of further fits the check allows, at most, for a confirmation to end before its rounds
#: (a count of fits would not do: a short fit carries only part of a turn, and how many a
#: confirmation needs grows with the load on the machine).
MAX_SECONDS_TO_CONFIRM = 120.0
RACE_FIELDS = ("choice", "rule_of_thumb", "ended", "gain", "rounds", "finalists", "measuring_s")


def check_shape(m: int, n: int, dtype: str, epochs: int, fits: int, rounds: int, seconds: float) -> dict:
    """Steps 1-4 for one shape, in this process (its wisdom file is the environment's)."""
    import numpy as np

    import ladderstats as stats
    from bench.suite.data import timed_problem
    from bench.suite.roofline import read_all, reads_lasting
    from bench.suite.side_by_side import Design, timed_rounds
    from impls import IMPLEMENTATIONS, PLANNED
    from impls.numba_tuned import candidate_rung
    from impls.planner import BY_NAME, candidates, planning
    from impls.planner.race import RULES

    tuned = IMPLEMENTATIONS[PLANNED]
    problem = timed_problem(tuned, m, n, dtype, epochs)
    small = timed_problem(tuned, 64, n, dtype, 1)
    for name in COMPILED:  # load every kernel (compiled on disk already), first touch of X
        IMPLEMENTATIONS[name].descend(small, small.lr, 1)
    candidates.warm_up(small)
    candidates.warm_up(
        dataclasses.replace(small, X=small.X.copy(), y=small.y.copy())
    )  # writable, as planning's
    IMPLEMENTATIONS[COMPILED[0]].descend(problem, problem.lr, epochs)  # the process's first long fit

    start = time.perf_counter()
    planned = planning.plan(n, dtype, m=m)
    planning_s = time.perf_counter() - start
    entry = dict(planned.entry or {})
    confirming = planning.confirmation(planned)  # held here: the planner lets go of it once it ends

    def fits_of(name: str) -> list[float]:
        pinned, seconds = candidate_rung(BY_NAME[name]), []
        for _ in range(fits):
            start = time.perf_counter()
            pinned.descend(problem, problem.lr, epochs)
            seconds.append(time.perf_counter() - start)
        return seconds

    before = fits_of(planned.candidate.name)  # the race's choice: the first fit's usual final one
    start = time.perf_counter()
    tuned.descend(problem, problem.lr, epochs)
    first_s = time.perf_counter() - start
    after = planning.plan(n, dtype, m=m)
    final = after.candidate.name if confirming is None else confirming.choice()
    alone = fits_of(final)
    around = alone + before if final == planned.candidate.name else alone  # fits either side of it

    def turns_extra(choice: str) -> float | None:
        """What the turns so far took beyond ``choice``'s median time per row in them."""
        if confirming is None or not confirming.race.times.get(choice):
            return None
        return confirming.spent_s - float(np.median(confirming.race.times[choice])) * confirming.rows

    turns_extra_s = turns_extra(final)
    fits_to_confirm = 1  # more fits until the confirmation ends: the rounds below time it warm
    until = time.perf_counter() + MAX_SECONDS_TO_CONFIRM
    while confirming is not None and not confirming.finished and time.perf_counter() < until:
        tuned.descend(problem, problem.lr, epochs)
        fits_to_confirm += 1
    confirmed_choice = final if confirming is None else confirming.choice()
    confirmation_extra_s = turns_extra(confirmed_choice)  # every turn, before the rounds below
    one = {name: timed_problem(IMPLEMENTATIONS[name], m, n, dtype, 1) for name in (*COMPILED, PLANNED)}
    X = one[PLANNED].X
    reads = reads_lasting(X, RULES.turn_s)  # the probe's turn as long as in the side-by-side rounds

    def run(name: str) -> None:
        if name == "probe":
            for _ in range(reads):
                read_all(X)
        else:
            IMPLEMENTATIONS[name].descend(one[name], one[name].lr, 1)

    design = Design(min_rounds=rounds, max_rounds=MAX_ROUNDS, seconds=seconds, probe_s=RULES.turn_s)
    times = timed_rounds([*one, "probe"], run, design).times
    times["probe"] = [t / reads for t in times["probe"]]
    best_other = min(COMPILED, key=lambda name: np.median(times[name]))
    against = stats.paired(times[PLANNED], times[best_other])
    shares = {name: stats.paired(times["probe"], times[name]) for name in one}
    final_plan = planning.plan(n, dtype, m=m)
    final_entry = final_plan.entry or {}
    return {
        "shape": [m, n, dtype],
        "data": entry.get("data"),
        "planning_s": planning_s,
        "race": {k: entry.get(k) for k in RACE_FIELDS},
        "confirmed": final_entry.get("confirmed"),
        "final": final_plan.candidate.name,  # confirmed
        "after_first_fit": final,  # the choice when the first fit ended (its fits timed alone)
        "first_fit_s": first_s,
        "choice_fits_s": alone,
        "choice_fits_before_s": before,
        "first_fit_overhead": first_s / float(np.median(around)) - 1,
        "turns_extra_s": turns_extra_s,
        "turns_overhead": None if turns_extra_s is None else turns_extra_s / float(np.median(around)),
        "fits_to_confirm": fits_to_confirm,
        "confirmation_extra_s": confirmation_extra_s,
        "medians_s": {name: float(np.median(t)) for name, t in times.items()},
        "rounds": len(times["probe"]),
        "best_other": best_other,
        "against_best_other": [against.estimate, against.low, against.high],
        "keeps_up": against.high <= KEEPS_UP,
        "share_of_probe": {name: [r.estimate, r.low, r.high] for name, r in shares.items()},
    }


def _check(point, names: list[str], args) -> dict:
    """:func:`check_shape` for ``point`` (a ``harness.Point``), as ``side_by_side.in_fresh_process``
    calls it in the child (``names``, the compiled rungs, are the module's own)."""
    return check_shape(point.m, point.n, point.dtype, args.epochs, args.fits, args.rounds, args.seconds)


def in_fresh_process(shape, args) -> dict:
    """:func:`check_shape` in a new Python with a new, empty wisdom file (through the side-by-side
    benchmarks' own fresh process: a child that fails, dies or hangs is one clear error)."""
    from bench.suite.harness import Point
    from bench.suite.side_by_side import in_fresh_process as in_child
    from impls import PLANNED

    before = {name: os.environ.get(name) for name in ("LADDER_WISDOM", "LADDER_PLANNING")}
    with tempfile.TemporaryDirectory() as folder:
        os.environ["LADDER_WISDOM"] = str(Path(folder) / "wisdom.json")
        os.environ["LADDER_PLANNING"] = "measure"
        try:
            return in_child(Point(*shape, PLANNED, "all"), list(COMPILED), args, how=_check)
        finally:
            for name, value in before.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def table(results: list[dict]) -> str:
    """The check as Markdown: one row a shape."""
    from tabulate import tabulate

    rows = []
    for r in results:
        m, n, dtype = r["shape"]
        ratio, low, high = r["against_best_other"]
        share = r["share_of_probe"]["numba_tuned"]
        confirmed = r["confirmed"] or {}
        rows.append(
            [
                f"{m:,} x {n} {dtype}",
                r["data"],
                f"{r['planning_s']:.2f} s ({r['race']['ended']})",
                f"{r['race']['choice']} -> {r['final']}",
                f"{confirmed.get('ended', 'not yet')}, {confirmed.get('rounds', '-')} rounds"
                + (f", {r['fits_to_confirm']} fits" if r.get("fits_to_confirm", 1) > 1 else ""),
                f"{100 * r['first_fit_overhead']:+.1f}%"
                + ("" if r["turns_overhead"] is None else f" (turns {100 * r['turns_overhead']:+.1f}%)"),
                f"{ratio:.3f} ({low:.3f}-{high:.3f}) vs {r['best_other']}",
                f"{100 * share[0]:.0f}% ({100 * share[1]:.0f}-{100 * share[2]:.0f})",
            ]
        )
    head = ["shape", "X", "planning", "plan", "confirmed", "first fit", "tuned / best other", "probe share"]
    return tabulate(rows, head, tablefmt="github")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.suite.first_use", description=__doc__.split(".")[0]
    )
    parser.add_argument("--out", type=Path, help="write the results here (JSON)")
    parser.add_argument("--shape", action="append", help="M,N,DTYPE (repeatable; default: the nine)")
    parser.add_argument("--epochs", type=int, default=100, help="epochs of the first fit (default 100)")
    parser.add_argument("--fits", type=int, default=3, help="fits of the final choice alone (default 3)")
    parser.add_argument("--rounds", type=int, default=30, help="least rounds of one-epoch fits (default 30)")
    parser.add_argument("--seconds", type=float, default=6.0, help="more rounds while they last (default 6)")
    args = parser.parse_args(argv)
    shapes = SHAPES
    if args.shape:
        shapes = [(int(float(m)), int(n), d) for m, n, d in (s.split(",") for s in args.shape)]
    results = []
    for shape in shapes:
        results.append(in_fresh_process(shape, args))
        print(table(results[-1:]).splitlines()[-1], file=sys.stderr, flush=True)
    print(table(results))
    if args.out:
        args.out.write_text(json.dumps({"epochs": args.epochs, "shapes": results}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
