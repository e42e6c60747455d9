"""Ratios from the side-by-side rounds of one point (a results file's ``head_to_head`` records).

Every ratio the lesson states between two rungs, or between a rung and the probe, is read here
from the rounds in which both ran, split into the fresh processes they ran in, so its interval
covers the processes as well as the rounds (``ladderstats.side_by_side``).
"""

from __future__ import annotations

import ladderstats
from bench.results.schema import ROOFLINE


def by_process(race: dict, name: str) -> list[list[float]]:
    """A rung's (or the probe's) seconds per round at this point, one list per process."""
    values = race["probe_s"] if name == ROOFLINE else race["times_s"][name]
    counts = race.get("process_rounds") or [len(values)]
    out, start = [], 0
    for count in counts:
        out.append(list(values[start : start + int(count)]))
        start += int(count)
    return out


def ratio(race: dict, a: str, b: str) -> ladderstats.Ratio:
    """``a``'s epoch over ``b``'s in the same rounds: above 1, ``a`` takes longer."""
    return ladderstats.side_by_side(by_process(race, a), by_process(race, b))


def ran(race: dict, name: str) -> bool:
    """Whether ``name`` ran in every round of this point."""
    return (name == ROOFLINE and bool(race.get("probe_s"))) or name in (race.get("times_s") or {})
