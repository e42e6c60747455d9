"""How far one run's intervals can be trusted on a machine: two runs of one code, and how often the
first run's 95% intervals of the ratios between compiled rungs held the second run's estimates.

Not 95% even where the intervals are honest: the second run's estimate carries noise of its own, as
large as the first's, so the two differ by √2 times either's noise and an honest 95% interval holds
the other run's estimate about 83% of the time (``ladderstats.replication_rate``). Far below that,
the noise between runs exceeds the noise within one, which a run's intervals cannot see.

Only ratios of at least ``ladderstats.least_rounds()`` rounds (the fewest a verdict is drawn from)
whose benchmarks timed the same thing in both runs are counted.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

import ladderstats as stats
from bench.results import definition
from bench.results.load import Results


@dataclass(frozen=True)
class Held:
    """One kind of ratio: how many of the first run's intervals held the second's estimates."""

    kind: str  # "same-round races" or "descents"
    held: int
    total: int
    moved_median: float  # the ratios' move between the runs (>= 1: a factor either way)
    moved_90th: float
    widening_90th: float  # how far the intervals must widen either side for 90% to hold


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
                if a < b and len(times[a]) == len(times[b]) >= stats.least_rounds():
                    out[("race", *point, a, b)] = stats.paired(times[a], times[b])
    return out


def _descent_ratios(run: Results) -> dict[tuple, stats.Ratio]:
    """Every pair of fixed compiled rungs timed at one point in the descent benchmarks, each its own
    benchmark (the kept rounds), keyed by what the two timed."""
    rows = run.kind("descent")
    jit = {name for name, info in run.ladder.rungs.items() if info.jit and name != run.ladder.planned}
    rows = rows[rows["rung"].isin(jit)]
    out = {}
    for point, group in rows.groupby(["m", "n", "dtype", "threads_setting"]):
        kept = {r.rung: (run.rounds.get(r.benchmark), r.benchmark) for r in group.itertuples()}
        kept = {k: v for k, v in kept.items() if v[0] and len(v[0]) >= stats.least_rounds()}
        for a in sorted(kept):
            for b in sorted(kept):
                if a < b:
                    defined = tuple(definition.digest(run.definitions.get(kept[r][1], {})) for r in (a, b))
                    out[("descent", *point, a, b, *defined)] = stats.independent(kept[a][0], kept[b][0])
    return out


def _held(kind: str, a: dict[tuple, stats.Ratio], b: dict[tuple, stats.Ratio]) -> Held | None:
    common = sorted(set(a) & set(b))
    if not common:
        return None
    held = sum(a[k].low <= b[k].estimate <= a[k].high for k in common)
    # the widening each needs: how far outside run 1's interval run 2's estimate fell
    outside = sorted(max(a[k].low / b[k].estimate, b[k].estimate / a[k].high, 1.0) for k in common)
    moves = sorted(max(b[k].estimate / a[k].estimate, a[k].estimate / b[k].estimate) for k in common)
    at = math.ceil(0.9 * len(common)) - 1
    return Held(kind, held, len(common), statistics.median(moves), moves[at], outside[at])


def calibrate(first: Results, second: Results) -> list[Held | str]:
    """Each kind of ratio's record, or the kind's name where no ratio is in both runs."""
    out: list[Held | str] = []
    for kind, ratios in (("same-round races", _race_ratios), ("descents", _descent_ratios)):
        out.append(_held(kind, ratios(first), ratios(second)) or kind)
    return out
