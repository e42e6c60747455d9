"""Did it get slower, or is that noise? ``python -m bench.compare BASE.json NEW.json [--fail-slower PCT]``

One line per benchmark present in both results files, as Go's benchstat prints it: the median of
each side's sample, the change with its 95% interval and, where the test gives one, its p; ``~``
where no change is called, and why where no verdict can be drawn (too few rounds or runs, rounds
of one process a side, no rounds kept); ``≠`` where the benchmark's definition changed between the
files (another size, epochs, threads, plan): a different benchmark, named as such, never a change
in speed. The header names the test and says when the files come from different machines (CPU
vendor, family, model, flags, cores). Then the geometric mean of the changes, and the benchmarks
found in one file only. The statistics live in ``bench/results/comparison.py`` and
``calibration.py``; this module prints them.

With ``--fail-slower PCT`` it exits 1 when any benchmark is slower by more than PCT percent with
the whole interval beyond it (and p below 0.05 where there is a p): a gate for a CI. A file that
cannot be read is one line and exit code 2, as for the report. ``--calibration`` (two runs of one
code on one machine) says how often the first run's intervals of the ratios between compiled rungs
held the second run's estimates, against the about 83% that honest intervals give.

Rounds of one process share the machine's state of that minute; the next process may not. So one
file a side calls changes only where the rounds come from several processes a side: every rung's
epoch at every side-by-side point (three fresh processes in the default profile) is a line of its
own. To compare whole benchmarks, give several runs a side (``--base A1.json A2.json ... --new
B1.json B2.json ...``, as benchstat's ``-count``): each run's median is one sample, compared with a
Mann-Whitney U test, and it takes at least ``ladderstats.least_runs()`` (4) a side to call anything.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import ladderstats as stats
from bench.results import identity
from bench.results.calibration import Held, calibrate
from bench.results.comparison import ALPHA, Change, Comparison, compare
from bench.results.load import Results, ResultsError, load
from bench.results.text import fmt_time


def _pct(x: float) -> str:
    return "+∞" if math.isinf(x) else f"{(x - 1) * 100:+.1f}%"


def line(c: Change, width: int) -> str:
    """One benchmark: its columns, and its change, or why there is none."""
    if c.definition:
        mark, change = "≠", f"definition changed: {', '.join(c.definition)}"
    elif c.ratio is None:
        mark, change = "~", f"{_pct(c.estimate)}  {c.why_not}"
    else:
        r = c.ratio
        p = f"p={c.p:.3g}, " if c.p is not None else ""
        change = f"{_pct(r.estimate)} ({_pct(r.low)} to {_pct(r.high)}, {p}n={c.sizes[0]}+{c.sizes[1]})"
        mark = " " if c.significant() else "~"
    return f"{c.benchmark:<{width}}  {fmt_time(c.base_s):>10}  {fmt_time(c.new_s):>10}  {mark} {change}"


def _machines(base: list[Results], new: list[Results]) -> list[str]:
    """A note where any file's machine is not base's first (by CPU identity, not brand alone)."""
    first = base[0]
    for run in base[1:] + new:
        found = identity.differences(first.machine, run.machine)
        if found is None:
            return [
                f"note: cannot tell whether {first.path} and {run.path} come from one machine: a file "
                "records no CPU (py-cpuinfo's 'cpu' in machine_info)"
            ]
        if found:
            return [
                f"note: different machines ({first.path} → {run.path}): {'; '.join(found)}: "
                "a change may be the machine's"
            ]
    return []


#: The probe's move between two files (either way) past which the header says the machine moved.
PROBE_MOVED = 0.05


def _header(base: list[Results], new: list[Results], found: Comparison) -> list[str]:
    lines = [f"base: {run.path} ({run.datetime[:10]}, {identity.describe(run.machine)})" for run in base]
    lines += [f"new:  {run.path} ({run.datetime[:10]}, {identity.describe(run.machine)})" for run in new]
    lines += _machines(base, new)
    moved = found.probe_moved()
    if moved is not None and abs(math.log(moved)) > math.log(1 + PROBE_MOVED):
        lines.append(
            f"note: the probe's read of X moved by {_pct(moved)} between the files (median over the "
            "side-by-side points): this machine's memory was not as fast in both; a change of that "
            "size may be the machine's, not the code's"
        )
    lines.append(f"test: {found.test}")
    others = sorted({name for run in [*base, *new] for name in run.workloads})
    if others:
        lines.append(
            f"note: the benchmarks of {', '.join(others)} (another workload) are not compared here; "
            "their page states their ratios with intervals"
        )
    if found.runs:
        lines.append(
            f"note: {len(base)} run(s) against {len(new)}, each run's median one sample; a verdict needs "
            f"{stats.least_runs()} runs a side"
        )
    else:
        lines.append(
            f"note: a verdict needs {stats.least_rounds()} kept rounds a side, from at least 2 processes a "
            "side (the side-by-side epochs); an interval covers those processes (spread over each run) and "
            "rounds, not a run that meets another machine: another hour, other neighbours (bench/README.md); "
            "to compare code, give several runs a side"
        )
    return lines


def _footer(found: Comparison) -> list[str]:
    comparable = found.comparable
    called = "changed beyond their interval" + (f" with p < {ALPHA:g}" if found.runs else "")
    lines = [f"\n{sum(c.significant() for c in comparable)} of {len(comparable)} {called} (~: no)"]
    without = [c for c in comparable if c.ratio is None]
    if without:
        lines.append(
            f"{len(without)} without a verdict: too few rounds or runs, one process a side, or no rounds "
            "kept (said on each)"
        )
    changed = len(found.changes) - len(comparable)
    if changed:
        lines.append(f"{changed} whose definition changed (≠): another benchmark, not compared")
    lines += [
        f"note: {count} benchmark(s) record {name!r} on one side only: their definitions compared without it"
        for name, count in sorted(found.unrecorded.items())
    ]
    lines += [f"only in base: {name}" for name in found.only_base]
    return lines + [f"only in new: {name}" for name in found.only_new]


def report(
    base: Results | list[Results], new: Results | list[Results], fail_slower: float | None
) -> tuple[str, int]:
    """The comparison as text, and the exit code (1: a benchmark slower than allowed)."""
    base = base if isinstance(base, list) else [base]
    new = new if isinstance(new, list) else [new]
    found = compare(base, new)
    lines = _header(base, new, found)
    width = max([len(c.benchmark) for c in found.changes] + [9])
    lines += ["", f"{'benchmark':<{width}}  {'base':>10}  {'new':>10}    change (95% interval)"]
    lines += [line(c, width) for c in found.changes]
    mean = found.geometric_mean()
    if mean is not None:
        lines.append(f"{'geomean':<{width}}  {'':>10}  {'':>10}    {_pct(mean)}")
    lines += _footer(found)
    if fail_slower is None:
        return "\n".join(lines), 0
    slower = [c for c in found.changes if c.significant(fail_slower / 100) and c.estimate > 1]
    lines.append(
        f"\n--fail-slower {fail_slower:g}: {len(slower)} benchmark(s) slower by more than {fail_slower:g}%"
    )
    lines += [f"SLOWER: {c.benchmark}: {_pct(c.estimate)}" for c in slower]
    return "\n".join(lines), 1 if slower else 0


def calibration(first: Results, second: Results) -> str:
    """How often the first run's 95% intervals held the second run's estimates, kind by kind and in
    all, against the rate honest intervals give; and how far they would have to widen to hold 90%."""
    lines = [f"calibration: {first.path}'s intervals against {second.path}'s estimates"]
    held = total = 0
    for h in calibrate(first, second):
        if not isinstance(h, Held):
            lines.append(
                f"  {h}: no ratio of {stats.least_rounds()} rounds or more, timed alike, in both runs"
            )
            continue
        held, total = held + h.held, total + h.total
        lines.append(
            f"  {h.kind}: {h.held} of {h.total} held ({h.held / h.total:.0%}); the ratios moved "
            f"by {_pct(h.moved_median)} (median), {_pct(h.moved_90th)} (90th percentile); "
            f"widened by {_pct(h.widening_90th)} either side, 90% would have held"
        )
    rate = stats.replication_rate()
    lines.append(
        f"honest 95% intervals hold the other run's estimate about {rate:.0%} of the time, not 95%: that "
        f"estimate has its own noise, so the two differ by √2 times either's; well below {rate:.0%}, the "
        "noise between runs exceeds what one run's intervals see"
    )
    lines.append(
        f"held: {held} of {total} ({held / total:.0%})" if total else "held: 0 of 0 (no ratio in both)"
    )
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__.splitlines()[0])
    parser.add_argument("base", type=Path, nargs="?", help="the results file to compare against")
    parser.add_argument("new", type=Path, nargs="?", help="the results file of the change")
    parser.add_argument("--base", dest="base_runs", type=Path, nargs="+", metavar="FILE", help="several runs")
    parser.add_argument("--new", dest="new_runs", type=Path, nargs="+", metavar="FILE", help="several runs")
    parser.add_argument(
        "--fail-slower",
        type=float,
        metavar="PCT",
        help="exit 1 if a benchmark is slower by more than PCT%% beyond its interval",
    )
    parser.add_argument(
        "--calibration",
        action="store_true",
        help="two runs of one code: how often the first's intervals held the second's ratios",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.fail_slower is not None and not (math.isfinite(args.fail_slower) and args.fail_slower >= 0):
        print(f"error: --fail-slower must be a percentage >= 0, got {args.fail_slower:g}", file=sys.stderr)
        return 2
    base_files = [args.base] if args.base else args.base_runs or []
    new_files = [args.new] if args.new else args.new_runs or []
    if not base_files or not new_files or (args.base and args.base_runs) or (args.new and args.new_runs):
        print("error: give BASE.json NEW.json, or --base FILE... --new FILE...", file=sys.stderr)
        return 2
    try:
        base = [load(path, allow_partial=True) for path in base_files]
        new = [load(path, allow_partial=True) for path in new_files]
    except ResultsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    text, code = report(base, new, args.fail_slower)
    if args.calibration:
        if len(base) != 1 or len(new) != 1:
            print("error: --calibration compares two runs, BASE.json NEW.json", file=sys.stderr)
            return 2
        text += "\n\n" + calibration(base[0], new[0])
    print(text)
    return code


if __name__ == "__main__":
    sys.exit(main())
