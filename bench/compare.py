"""Did it get slower, or is that noise? ``python -m bench.compare BASE.json NEW.json [--fail-slower PCT]``

One line per benchmark present in both results files: the median round of each, the change with
its 95% interval (``ladderstats.independent``: a bootstrap over the rounds each file kept), and
``~`` where the interval includes no change, as Go's benchstat prints. Then the geometric mean of
the changes, and the benchmarks found in one file only. With ``--fail-slower PCT`` it exits 1
when any benchmark is slower by more than PCT percent with the whole interval beyond it: a gate
for a CI. A file that cannot be read is one line and exit code 2, as for the report.
``--calibration`` (two runs of one code on one machine) says how often the first run's intervals
of the ratios between compiled rungs held the second run's: how far one run's intervals can be
trusted on this machine.

Rounds of one run share the machine's state of that minute; runs made apart do not. So several
runs a side (``--base A1.json A2.json ... --new B1.json B2.json ...``, as benchstat's ``-count``)
compare each run's median: the interval is a bootstrap over the runs, and it takes at least
``stats.least_runs()`` (4) a side to call anything.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

import ladderstats as stats
from bench.results.load import Results, ResultsError, load
from bench.results.text import cpu_name, fmt_time


@dataclass(frozen=True)
class Change:
    benchmark: str
    base_s: float  # median round
    new_s: float
    ratio: stats.Ratio | None  # None where a file kept no rounds of it

    def significant(self, threshold: float = 0.0) -> bool:
        return self.ratio is not None and self.ratio.verdict(threshold) != "level"


def _medians(run: Results) -> dict[str, float]:
    return dict(zip(run.table["benchmark"], run.table["median_s"], strict=True))


def changes(
    base: Results | list[Results], new: Results | list[Results]
) -> tuple[list[Change], list[str], list[str]]:
    """(the changes of the benchmarks in both, names only in base, names only in new). One run a
    side: the rounds each kept; several: each run's median, the median of those on each line."""
    base = base if isinstance(base, list) else [base]
    new = new if isinstance(new, list) else [new]
    before = [_medians(run) for run in base]
    after = [_medians(run) for run in new]
    names_before = [n for n in before[0] if all(n in m for m in before)]
    names_after = [n for n in after[0] if all(n in m for m in after)]
    out = []
    for name in [n for n in names_before if n in names_after]:
        b_runs, a_runs = [float(m[name]) for m in before], [float(m[name]) for m in after]
        if len(base) == len(new) == 1:
            a, b = new[0].rounds.get(name), base[0].rounds.get(name)
            ratio = stats.independent(a, b) if a and b else None
        else:
            ratio = stats.replicated(a_runs, b_runs)
        out.append(Change(name, statistics.median(b_runs), statistics.median(a_runs), ratio))
    only_base = [n for n in names_before if n not in names_after]
    return out, only_base, [n for n in names_after if n not in names_before]


def geometric_mean(found: list[Change]) -> float | None:
    ratios = [c.new_s / c.base_s for c in found]
    return math.exp(sum(map(math.log, ratios)) / len(ratios)) if ratios else None


def _pct(x: float) -> str:
    return "+∞" if math.isinf(x) else f"{(x - 1) * 100:+.1f}%"


def line(c: Change, width: int) -> str:
    if c.ratio is None:
        change = f"{_pct(c.new_s / c.base_s)} (no rounds kept)"
        mark = "~"
    else:
        r = c.ratio
        change = f"{_pct(r.estimate)} ({_pct(r.low)} to {_pct(r.high)}, n={r.rounds})"
        mark = " " if c.significant() else "~"
    return f"{c.benchmark:<{width}}  {fmt_time(c.base_s):>10}  {fmt_time(c.new_s):>10}  {mark} {change}"


def _machine(run: Results) -> str:
    return f"{cpu_name(run.machine)}, {run.machine.get('cpu_count', '?')} cores"


def report(
    base: Results | list[Results], new: Results | list[Results], fail_slower: float | None
) -> tuple[str, int]:
    """The comparison as text, and the exit code (1: a benchmark slower than allowed)."""
    base = base if isinstance(base, list) else [base]
    new = new if isinstance(new, list) else [new]
    found, only_base, only_new = changes(base, new)
    lines = [f"base: {run.path} ({run.datetime[:10]}, {_machine(run)})" for run in base]
    lines += [f"new:  {run.path} ({run.datetime[:10]}, {_machine(run)})" for run in new]
    if len({_machine(run) for run in base + new}) > 1:
        lines.append("note: the files come from different machines: a change may be the machine's")
    if len(base) == len(new) == 1:
        lines.append(
            "note: an interval covers the noise between the rounds of one run, not between runs; "
            "two runs of one code can differ beyond it (bench/README.md): give several a side"
        )
    else:
        least = stats.least_runs()
        lines.append(
            f"note: {len(base)} run(s) against {len(new)}, each run's median one sample; intervals are "
            f"a bootstrap over the runs, and need {least} runs a side (else unbounded: ~)"
        )
    width = max([len(c.benchmark) for c in found] + [9])
    lines += ["", f"{'benchmark':<{width}}  {'base':>10}  {'new':>10}    change (95% interval)"]
    lines += [line(c, width) for c in found]
    mean = geometric_mean(found)
    if mean is not None:
        lines.append(f"{'geomean':<{width}}  {'':>10}  {'':>10}    {_pct(mean)}")
    lines.append(
        f"\n{sum(c.significant() for c in found)} of {len(found)} changed beyond their interval (~: no)"
    )
    lines += [f"only in base: {name}" for name in only_base] + [f"only in new: {name}" for name in only_new]
    if fail_slower is None:
        return "\n".join(lines), 0
    slower = [c for c in found if c.significant(fail_slower / 100) and c.ratio.estimate > 1]
    lines.append(
        f"\n--fail-slower {fail_slower:g}: {len(slower)} benchmark(s) slower by more than {fail_slower:g}%"
    )
    lines += [f"SLOWER: {c.benchmark}: {_pct(c.ratio.estimate)}" for c in slower]
    return "\n".join(lines), 1 if slower else 0


def _race_ratios(run: Results) -> dict[tuple, stats.Ratio]:
    """Every pair of fixed compiled rungs in the same-round races: a's epoch over b's, round by round
    (the planned rung is left out: its plan may differ between runs)."""
    out = {}
    for race in run.head_to_head:
        times = {
            k: v for k, v in race["times_s"].items() if k in run.ladder.rungs and k != run.ladder.planned
        }
        point = (race["m"], race["n"], race["dtype"], race.get("threads_setting", "all"))
        for a in sorted(times):
            for b in sorted(times):
                if a < b and len(times[a]) == len(times[b]):
                    out[("race", *point, a, b)] = stats.paired(times[a], times[b])
    return out


def _descent_ratios(run: Results) -> dict[tuple, stats.Ratio]:
    """Every pair of fixed compiled rungs timed at one point in the descent benchmarks, each its own
    benchmark (the kept rounds)."""
    rows = run.kind("descent")
    jit = {name for name, info in run.ladder.rungs.items() if info.jit and name != run.ladder.planned}
    rows = rows[rows["rung"].isin(jit)]
    out = {}
    for point, group in rows.groupby(["m", "n", "dtype", "threads_setting"]):
        kept = {r.rung: run.rounds.get(r.benchmark) for r in group.itertuples()}
        kept = {k: v for k, v in kept.items() if v and len(v) >= 2}
        for a in sorted(kept):
            for b in sorted(kept):
                if a < b:
                    out[("descent", *point, a, b)] = stats.independent(kept[a], kept[b])
    return out


def calibration(first: Results, second: Results) -> str:
    """How often the first run's 95% intervals of ratios between compiled rungs held the second run's
    estimates: 95% where intervals are honest about the noise between runs; and how far they would
    have to widen to hold 90%."""
    lines = [f"calibration: {first.path}'s intervals against {second.path}'s estimates"]
    for kind, ratios in (("same-round races", _race_ratios), ("descents", _descent_ratios)):
        a, b = ratios(first), ratios(second)
        common = sorted(set(a) & set(b))
        if not common:
            lines.append(f"  {kind}: no ratio in both runs")
            continue
        held = sum(a[k].low <= b[k].estimate <= a[k].high for k in common)
        # the widening each needs: how far outside run 1's interval run 2's estimate fell
        outside = sorted(max(a[k].low / b[k].estimate, b[k].estimate / a[k].high, 1.0) for k in common)
        moves = sorted(max(b[k].estimate / a[k].estimate, a[k].estimate / b[k].estimate) for k in common)
        at = math.ceil(0.9 * len(common)) - 1
        lines.append(
            f"  {kind}: {held} of {len(common)} held ({held / len(common):.0%}); the ratios moved by "
            f"{_pct(statistics.median(moves))} (median), {_pct(moves[at])} (90th percentile); "
            f"widened by {_pct(outside[at])} either side, 90% would have held"
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
