"""The planned rung's facts: its tuning races, its plans at every point, and the races against the ladder,
each with its verdict: how a tuning race ended against the rule of thumb, where a race was lost."""

from __future__ import annotations

import numpy as np

from bench.report.facts import select
from bench.results.load import Results
from ladderstats import Ratio, paired

#: How far the planned rung may trail the fastest other rung and still count as keeping up with it.
KEEPS_UP = 0.95
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
    """Every point the planned rung ran, with its plan, the fastest other rung there, its side-by-side
    share against the best other rung's, and its race against the ladder there (of ``races``)."""
    d, planned = results.kind("descent"), results.ladder.planned
    out = []
    for r in d[d["rung"] == planned].sort_values(["dtype", "threads_setting", "n", "m"]).itertuples():
        other = select.fastest(results, r.m, r.n, r.dtype, r.threads_setting, exclude=(planned,))
        if other is None:
            continue
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
                "other": other,
                "other_s": select.t_epoch(results, other, r.m, r.n, r.dtype, r.threads_setting),
                "side_by_side": _side_by_side(results, r.m, r.n, r.dtype, r.threads_setting),
                "race": race_at(races, r.m, r.n, r.dtype, r.threads_setting),
            }
        )
    return out


def _side_by_side(results: Results, m: int, n: int, dtype: str, threads: str) -> dict | None:
    """The planned rung's paired share of the probe, and the best other one-process rung's (None where
    unmeasured). A cluster's rungs are left out: their probe shares its process with the cluster."""
    p = results.paired
    here = p[(p["m"] == m) & (p["n"] == n) & (p["dtype"] == dtype) & (p["threads_setting"] == threads)]
    planned = results.ladder.planned
    mine = here[here["rung"] == planned]
    others = here[(here["rung"] != planned) & ~here["rung"].isin(results.ladder.distributed)]
    if mine.empty or others.empty:
        return None
    best = others.loc[others["share_median"].idxmax()]
    return {"share": float(mine["share_median"].iat[0]), "rung": best.rung, "other_share": best.share_median}


def race_at(races, m: int, n: int, dtype: str, threads: str) -> dict | None:
    """The race of the planned rung against the ladder at this point (None where none ran)."""
    return next((e for e in races if e["where"] == (m, n, dtype, threads)), None)


def hardest(race: dict) -> tuple[str, Ratio]:
    """(the other rung hardest to beat, its epoch over the planned rung's in the same rounds): the
    median over rounds with its 95% interval (older runs kept no rounds: their median alone)."""
    ratios = race["ratio_median"]
    name = min(ratios, key=ratios.get)
    times = race.get("times_s") or {}
    planned = next((k for k in times if k not in ratios), None)
    if planned is not None and name in times:
        return name, paired(times[name], times[planned])
    return name, Ratio(float(ratios[name]), float(ratios[name]), float(ratios[name]), 0, True)


def race_results(results: Results) -> list[dict]:
    """Every race of the planned rung against the ladder, in the order of its table: each rung's median
    epoch, the other rung hardest to beat with its ratio, and whether the planned rung lost there
    (the whole interval more than 1 - KEEPS_UP behind)."""
    out = []
    for e in sorted(
        results.head_to_head, key=lambda e: (e["dtype"], e["threads_setting"], e["m"] * e["n"], e["n"])
    ):
        rival, ratio = hardest(e)
        out.append(
            {
                "m": e["m"],
                "n": e["n"],
                "dtype": e["dtype"],
                "threads_setting": e["threads_setting"],
                "where": (e["m"], e["n"], e["dtype"], e["threads_setting"]),
                "rounds": e["race_rounds"],
                "plan": e.get("plan"),
                "medians": {name: float(np.median(times)) for name, times in e["times_s"].items()},
                "rival": rival,
                "ratio": ratio,
                "lost": ratio.high < KEEPS_UP,
            }
        )
    return out


def keeping_up(races: list[dict]) -> dict:
    """Over the races: at how many points the planned rung kept within KEEPS_UP of every other rung,
    a point lost only where the whole interval lies below it; ``margin`` is how far behind it may be."""
    points = [
        {"where": e["where"], "rung": e["rival"], "ratio": e["ratio"].estimate, "kept_up": not e["lost"]}
        for e in sorted(races, key=lambda e: (e["dtype"], e["threads_setting"], e["n"], e["m"]))
    ]
    return {"points": points, "kept_up": sum(p["kept_up"] for p in points), "margin": 1 - KEEPS_UP}


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
