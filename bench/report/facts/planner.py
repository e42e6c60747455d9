"""The planned rung's facts: its tuning races, its plans at every point, and its races against the
ladder, each with its verdict: how a tuning race ended against the rule of thumb, and how the planned
rung fared against the rung hardest to beat in the same rounds (the registry's ratio)."""

from __future__ import annotations

import numpy as np

from bench.report.facts.ratios import Ratios, Stated
from bench.results import side
from bench.results.load import Results

#: The planned rung keeps up with another where its epoch is at most this many times the other's: kept
#: within 5% where the whole interval of their ratio lies at or below it.
KEEPS_UP = 1.05
SETTING_ORDER = {("float64", "all"): 0, ("float32", "all"): 1, ("float64", "one"): 2}


def tuning_entries(results: Results, size: tuple[int, int] | None = None) -> list[dict]:
    """The tuning records (at ``size``, if given): largest size first, float64 on all threads first;
    each with the fastest and slowest candidate on the benchmark's data, and how its race ended
    against the rule of thumb (``way``, :func:`against_rule_of_thumb`) and against whom."""
    entries = [e for e in results.tuning if size is None or (e["m"], e["n"]) == tuple(size)]
    entries = sorted(
        entries, key=lambda e: (-e["m"] * e["n"], SETTING_ORDER.get((e["dtype"], e["threads_setting"]), 3))
    )
    return [_tuning_entry(e) for e in entries]


def _tuning_entry(e: dict) -> dict:
    land = e["landscape_best_s"]
    return {
        **e,
        "fastest": min(land, key=land.get),
        "slowest": max(land, key=land.get),
        "way": against_rule_of_thumb(e),
        "challenger": challenger(e),
    }


def challenger(e: dict) -> str | None:
    """The finalist with the lowest median in a tuning race (older runs: the race's choice before
    their sign test against the rule of thumb)."""
    return e.get("tuning_fastest") or e.get("tuning_challenger")


def against_rule_of_thumb(e: dict) -> str | None:
    """How a tuning race ended against the rule of thumb: its fastest finalist was the rule of thumb
    ("same"), another that beat it ("replaced"), or another that could not show it was faster, so
    that the rule of thumb was kept ("kept"). None where the run did not record it."""
    if e.get("tuning_rule_of_thumb") is None or challenger(e) is None:
        return None
    if challenger(e) == e["tuning_rule_of_thumb"]:
        return "same"
    return "kept" if e["tuning_choice"] == e["tuning_rule_of_thumb"] else "replaced"


def rule_of_thumb_kept(results: Results) -> dict[str, int] | None:
    """How many of the tuning races ended each way against the rule of thumb, and how many there were."""
    ways = [way for way in map(against_rule_of_thumb, results.tuning) if way is not None]
    if not ways:
        return None
    return {"measured": len(ways), **{way: ways.count(way) for way in ("same", "kept", "replaced")}}


def _planned_rows(results: Results):
    d = results.kind("descent")
    return d[(d["rung"] == results.ladder.planned) & d["plan"].notna() & (d["plan"] != "")]


def rule_of_thumb_plans(results: Results) -> tuple[int, int]:
    """(points whose plan was the rule of thumb, points with a plan) for the planned rung."""
    tuned = _planned_rows(results)
    same = [r for r in tuned.itertuples() if r.plan_rule_of_thumb and r.plan == r.plan_rule_of_thumb]
    return len(same), len(tuned)


def points(results: Results, races: list[dict]) -> list[dict]:
    """Every point the planned rung ran, with its plan, its epoch (best round) and its race against the
    ladder there (of ``races``), where one ran."""
    d, planned = results.kind("descent"), results.ladder.planned
    out = []
    for r in d[d["rung"] == planned].sort_values(["dtype", "threads_setting", "n", "m"]).itertuples():
        out.append(
            {
                "m": int(r.m),
                "n": int(r.n),
                "dtype": r.dtype,
                "threads_setting": r.threads_setting,
                "threads": r.threads,
                "data": r.plan_data if isinstance(r.plan_data, str) else None,
                "plan": r.plan,
                "epoch_s": float(r.time_per_epoch_s),
                "race": race_at(races, r.m, r.n, r.dtype, r.threads_setting),
            }
        )
    return out


def race_at(races, m: int, n: int, dtype: str, threads: str) -> dict | None:
    """The race of the planned rung against the ladder at this point (None where none ran)."""
    return next((e for e in races if e["where"] == (m, n, dtype, threads)), None)


def hardest(ratios: Ratios, race: dict, planned: str) -> Stated | None:
    """The planned rung against the other rung hardest to beat in the same rounds: of its ratios with
    every other rung of the race (the registry's), the one where it fares worst."""
    size, setting = (race["m"], race["n"]), (race["dtype"], race.get("threads_setting", "all"))
    others = [ratios(planned, name, size, *setting) for name in race["times_s"] if name != planned]
    others = [s for s in others if s is not None]
    return max(others, key=lambda s: s.ratio.estimate, default=None)


def outcome(stated: Stated) -> str:
    """How the planned rung's race ended against its hardest rival, by the interval of their ratio:
    "kept within" (the whole interval within KEEPS_UP), "behind" (the whole interval beyond it) or
    "undecided" (the interval reaches both sides)."""
    if stated.ratio.high <= KEEPS_UP:
        return "kept within"
    return "behind" if stated.ratio.low > KEEPS_UP else "undecided"


def race_results(results: Results, ratios: Ratios) -> list[dict]:
    """Every race of the planned rung against the ladder, in the order of its table: each rung's median
    epoch in the same rounds, the planned rung against the rung hardest to beat, and how that ended."""
    out, planned = [], results.ladder.planned
    for e in sorted(
        results.head_to_head, key=lambda e: (e["dtype"], e["threads_setting"], e["m"] * e["n"], e["n"])
    ):
        stated = hardest(ratios, e, planned) if side.ran(e, planned) else None
        if stated is None:
            continue
        out.append(
            {
                "m": e["m"],
                "n": e["n"],
                "dtype": e["dtype"],
                "threads_setting": e["threads_setting"],
                "where": (e["m"], e["n"], e["dtype"], e["threads_setting"]),
                "rounds": sum(e.get("process_rounds") or [len(e["times_s"][planned])]),
                "processes": len(e.get("process_rounds") or [0]),
                "plan": e.get("plan"),
                "medians": {name: float(np.median(times)) for name, times in e["times_s"].items()},
                "rival": stated.other,
                "stated": stated,
                "outcome": outcome(stated),
            }
        )
    return out


def keeping_up(races: list[dict]) -> dict:
    """Over the races: at how many points the planned rung kept within KEEPS_UP of every other rung
    (the whole interval of its ratio with the hardest within it), and the points where it did not:
    behind (the whole interval beyond) or undecided; ``margin`` is how far behind it may be."""
    ordered = sorted(races, key=lambda e: (e["dtype"], e["threads_setting"], e["n"], e["m"]))
    return {
        "points": len(ordered),
        "kept_up": sum(e["outcome"] == "kept within" for e in ordered),
        "behind": [e for e in ordered if e["outcome"] == "behind"],
        "undecided": [e for e in ordered if e["outcome"] == "undecided"],
        "margin": KEEPS_UP - 1,
    }


def measuring_seconds(results: Results) -> float | None:
    """The longest first use of the planner at the run's axis sizes: data, warm-up and timing."""
    spent = [
        e["tuning_data_s"] + (e["tuning_warmup_s"] or 0.0) + e["tuning_measuring_s"] for e in results.tuning
    ]
    return max(spent) if spent else None


def settings(results: Results) -> dict:
    """The planner's settings the run recorded (its rules among them, flat), and how its races ended."""
    return {"planner": dict(results.ladder.planner), "plan_kept": rule_of_thumb_kept(results)}


def plans(results: Results) -> list[dict]:
    """The plans the run ended with, each marked ``changed`` where the choice confirmed on the
    benchmark's own data differs from the race's on generated data."""
    return [{**p, "changed": p["confirmed"] not in (None, p["race_choice"])} for p in results.plans]


def paid(tuning: list[dict]) -> dict | None:
    """What planning gained and cost on one run's CPU, from its tuning records (None without any):
    per key, the rule of thumb's median epoch and the plan's on the benchmark's own data (every
    candidate in the same rounds; times, not a ratio: the run kept no rounds of them), and the
    seconds its measuring took (data, kernels loaded, timing)."""
    if not tuning:
        return None
    keys = []
    for e in tuning:
        rule, plan, medians = e.get("tuning_rule_of_thumb"), e.get("plan"), e["landscape_median_s"]
        keys.append(
            {
                "entry": e,
                "rule": rule,
                "plan": plan,
                "times": (medians[rule], medians[plan]) if rule in medians and plan in medians else None,
                "ended": e.get("tuning_ended"),
                "spent_s": e["tuning_data_s"] + (e["tuning_warmup_s"] or 0.0) + e["tuning_measuring_s"],
            }
        )
    known = [k for k in keys if k["rule"] is not None]
    spent = [k["spent_s"] for k in keys]
    return {
        "keys": keys,
        "rule_known": len(known),
        "rule_kept": sum(k["plan"] == k["rule"] for k in known),
        "ended_early": sum(k["ended"] == "kept" for k in keys) if any(k["ended"] for k in keys) else None,
        "spent_median_s": float(np.median(spent)),
        "spent_max_s": max(spent),
    }
