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


def epoch_name(race: dict, name: str) -> str:
    """The name ``bench.compare`` gives one rung's epochs at one side-by-side point."""
    point = f"m{race['m']}-n{race['n']}-{race['dtype']}-{race.get('threads_setting', 'all')}threads"
    return f"bench/bench_side_by_side.py::epoch[{name}-{point}]"


def epochs(run) -> dict[str, tuple[list[list[float]], dict]]:
    """Every rung's (and the probe's) seconds per round at every point of a run's side-by-side
    rounds, one list per process, with what defines them (the planned rung's plan included: another
    plan is another kernel)."""
    out = {}
    for race in run.head_to_head:
        for name in [*race["times_s"], *([ROOFLINE] if race.get("probe_s") else [])]:
            rung = run.ladder.aliases.get(name, name)
            defined = {
                "kind": "side_epoch",
                "rung": rung,
                **{k: race[k] for k in ("m", "n", "dtype") if k in race},
                "threads_setting": race.get("threads_setting", "all"),
            }
            if rung == run.ladder.planned and race.get("plan"):
                defined["plan"] = race["plan"]
            out[epoch_name(race, rung)] = (by_process(race, name), defined)
    return out


def ran(race: dict, name: str) -> bool:
    """Whether ``name`` ran in every round of this point."""
    return (name == ROOFLINE and bool(race.get("probe_s"))) or name in (race.get("times_s") or {})
