"""How far one run's intervals can be trusted on a machine: two runs of one code, and how often the
first run's 95% intervals of the side-by-side ratios held the second run's estimates.

Not 95% even where the intervals are honest: the second run's estimate carries noise of its own, as
large as the first's, so the two differ by √2 times either's noise and an honest 95% interval holds
the other run's estimate about 83% of the time (``ladderstats.replication_rate``). Far below that,
the noise between runs exceeds the noise within one, which a run's intervals cannot see.

Only ratios of at least ``ladderstats.least_rounds()`` rounds (the fewest a verdict is drawn from)
are counted.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

import ladderstats as stats
from bench.results import side
from bench.results.load import Results
from bench.results.schema import ROOFLINE


@dataclass(frozen=True)
class Held:
    """One kind of ratio: how many of the first run's intervals held the second's estimates."""

    kind: str  # what was counted: "side-by-side ratios"
    held: int
    total: int
    moved_median: float  # the ratios' move between the runs (>= 1: a factor either way)
    moved_90th: float
    widening_90th: float  # how far the intervals must widen either side for 90% to hold


def _side_by_side_ratios(run: Results) -> dict[tuple, stats.Ratio]:
    """Every ratio the side-by-side rounds give between two fixed rungs, and of each fixed rung
    against the probe, with intervals over the processes and rounds (``bench.results.side``). The
    planned rung is left out: its plan may differ between runs."""
    out = {}
    for race in run.head_to_head:
        names = [k for k in race["times_s"] if k in run.ladder.rungs and k != run.ladder.planned]
        if race.get("probe_s"):
            names.append(ROOFLINE)
        point = (race["m"], race["n"], race["dtype"], race.get("threads_setting", "all"))
        for a in sorted(names):
            for b in sorted(names):
                if a < b and len(side.by_process(race, a)[0]) == len(side.by_process(race, b)[0]):
                    ratio = side.ratio(race, a, b)
                    if ratio.rounds >= stats.least_rounds():
                        out[(*point, a, b)] = ratio
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
    """The side-by-side ratios' record, or the kind's name where no ratio is in both runs. (Ratios of
    two benchmarks timed apart are not formed: nothing the lesson states comes from one.)"""
    kind = "side-by-side ratios"
    return [_held(kind, _side_by_side_ratios(first), _side_by_side_ratios(second)) or kind]
