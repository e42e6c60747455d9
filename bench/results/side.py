"""Ratios from the side-by-side rounds of one point (a results file's ``head_to_head`` records).

Every ratio the lesson states between two rungs, or between a rung and the probe, is read here
from the rounds in which both ran, split into the fresh processes they ran in, so its interval
covers the processes as well as the rounds (``ladderstats.side_by_side``).

A run records each of a point's processes as a pass of its own (``side_pass``), spread over the
run; :func:`join_passes` makes them the point's one record again (older runs wrote one already).
"""

from __future__ import annotations

import re

import numpy as np

import ladderstats
from bench.results.schema import ROOFLINE

_PASS = re.compile(r"-pass(\d+)\]$")


def pass_id(side_pass: int) -> str:
    """The end of a pass's benchmark id: ``pass1`` for the first (``side_pass`` 0)."""
    return f"pass{side_pass + 1}"


def summaries(times: dict[str, list[float]], probe_s: list[float], planned: str) -> dict:
    """The quartiles a record keeps beside its rounds: each other rung's epoch over the planned
    rung's, and the probe's read over each rung's epoch, over the rounds."""

    def quartiles(field: str, ratios: dict) -> dict:
        return {
            f"{field}_{label}": {k: float(np.quantile(r, q)) for k, r in ratios.items()}
            for label, q in (("median", 0.5), ("q25", 0.25), ("q75", 0.75))
        }

    planned_s = np.asarray(times[planned])
    return {
        **quartiles("ratio", {k: np.asarray(v) / planned_s for k, v in times.items() if k != planned}),
        **quartiles("probe_share", {k: np.asarray(probe_s) / np.asarray(v) for k, v in times.items()}),
    }


def join_passes(benchmarks: list, planned: str) -> list:
    """A results file's benchmarks with each side-by-side point's passes joined into the point's one
    record, where the first pass was: its processes' rounds one after another, the rungs that ran in
    every pass, every plan the passes ran, the largest error; each pass's wall time one of its rounds.

    Everything else is left as it is, older one-record points too, and so is a point whose passes
    cannot be joined (a malformed record): the schema then names what is wrong with it.
    """
    groups: dict[tuple, list[dict]] = {}
    out: list = []
    for bench in benchmarks:
        info = bench.get("extra_info") if isinstance(bench, dict) else None
        side_pass = info.get("side_pass") if isinstance(info, dict) else None
        if not isinstance(side_pass, int) or info.get("kind") != "head_to_head":
            out.append(bench)
            continue
        key = tuple(str(info.get(k)) for k in ("m", "n", "dtype", "threads_setting"))
        if key not in groups:
            groups[key] = []
            out.append(key)
        groups[key].append(bench)
    joined = []
    for item in out:
        if not isinstance(item, tuple):
            joined.append(item)
            continue
        try:
            joined.append(_joined(groups[item], planned))
        except (KeyError, TypeError, ValueError, AttributeError):
            joined.extend(groups[item])
    return joined


def _joined(passes: list[dict], planned: str) -> dict:
    passes = sorted(passes, key=lambda bench: bench["extra_info"]["side_pass"])
    if len(passes) == 1:
        return passes[0]
    infos = [bench["extra_info"] for bench in passes]
    names = [name for name in infos[0]["ladder"] if all(name in i["times_s"] for i in infos)]
    times = {name: [float(t) for i in infos for t in i["times_s"][name]] for name in names}
    probe_s = [float(t) for i in infos for t in i.get("probe_s") or []]
    plans = list(dict.fromkeys(i["plan"] for i in infos if i.get("plan")))
    info = {
        **infos[-1],
        "ladder": names,
        "times_s": times,
        "process_rounds": [int(r) for i in infos for r in i.get("process_rounds") or [i["race_rounds"]]],
        "race_rounds": sum(int(i["race_rounds"]) for i in infos),
        "probe_reads": max(int(i.get("probe_reads") or 1) for i in infos),
        "plan": " then ".join(plans) or None,  # another plan is another kernel: said, not hidden
        "side_passes": len(passes),
    }
    del info["side_pass"]
    if probe_s:
        info["probe_s"] = probe_s
        info.update(summaries(times, probe_s, planned))
    if all(isinstance(i.get("errors"), dict) for i in infos):
        info["errors"] = {name: max(float(i["errors"][name]) for i in infos) for name in names}
        info["max_rel_error"] = info["errors"][planned]
    if info["plan"] is None:
        del info["plan"]
    walls = np.array([float(bench["stats"]["mean"]) for bench in passes])  # a pass is one round
    stats = {
        "min": walls.min(),
        "max": walls.max(),
        "mean": walls.mean(),
        "median": np.median(walls),
        "q1": np.quantile(walls, 0.25),
        "q3": np.quantile(walls, 0.75),
    }
    return {
        **passes[-1],
        "name": _PASS.sub("]", passes[-1]["name"]),
        "fullname": _PASS.sub("]", passes[-1].get("fullname") or passes[-1]["name"]),
        "extra_info": info,
        "stats": {
            **passes[-1]["stats"],
            **{k: float(v) for k, v in stats.items()},
            "rounds": len(passes),
            "data": [float(f"{w:.4g}") for w in walls],  # as every kept round: 4 digits
        },
    }


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
