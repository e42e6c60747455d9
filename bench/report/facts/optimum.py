"""The ways to a trained model: the time to the optimum by each way, the cost against time of each
rung, and what a new process's first fit and a compilation add to a training."""

from __future__ import annotations

from bench.report.facts import select
from bench.report.facts.ratios import Ratios
from bench.results.ladder import Ladder
from bench.results.load import Results


def first_fit(results: Results) -> dict | None:
    """A new process's first fit of the planned rung: seconds (best round) and size."""
    warm = results.kind("first_fit")
    if warm.empty:
        return None
    row = warm.iloc[0]
    return {"seconds": float(row["min_s"]), "size": (int(row["m"]), int(row["n"]))}


def _int_or_none(value) -> int | None:
    return None if value is None or value != value else int(value)


def optimum(results: Results) -> list[dict]:
    """Per size: each way to the optimum, its steps and evaluations, its wall time and time per step
    (shortest wall time first: each a best round), and how the tolerance was meant (relative, or in
    runs before that was recorded, cost - optimum <= tolerance * max(1, optimum)). Where two or more
    ways ran, whether the first took longer per step than the next (``fewer_steps``: it got there
    with fewer, dearer steps). The ways are benchmarks timed apart: no ratio is formed between them."""
    out = []
    for (m, n), here in results.optimum.groupby(["m", "n"]):
        ways = [
            {
                "method": r.method,
                "rung": r.rung,
                "steps": int(r.steps),
                "evaluations": _int_or_none(r.evaluations),
                "seconds": float(r.min_s),
            }
            for r in here.sort_values("min_s").itertuples()
        ]
        for way in ways:
            way["per_step"] = way["seconds"] / max(way["steps"], 1)
        first = here.iloc[0]
        point = {
            "size": (int(m), int(n)),
            "ways": ways,
            "tolerance": float(first["tolerance"]),
            "relative": first["relative"] in (True,),  # a bool, or None in runs before it was recorded
            "optimum": float(first["optimum"]),
        }
        if len(ways) > 1:
            point["fewer_steps"] = ways[0]["per_step"] > ways[1]["per_step"]
        out.append(point)
    return out


def curve(results: Results, ratios: Ratios) -> dict | None:
    """The cost-against-time record: how long each rung takes to train to the tolerance, by its
    time per epoch at that size (best round); of the main page's three rungs (baseline, reference,
    one-process), each slower than one below it in the same side-by-side rounds, against that one
    (``main_behind``); the way slowest to train, and the one-process rung's (else the fastest)."""
    if not results.curves:
        return None
    c = results.curves[0]
    size, epochs = (c["m"], c["n"]), len(c["descent_costs"])
    ways = []
    for rung in select.rung_order(results):
        t = select.t_epoch(results, rung, *size)
        if t is not None:
            ways.append({"rung": rung, "epoch_s": t, "train_s": t * epochs})
    ladder = results.ladder
    three = [w["rung"] for w in ways if w["rung"] in (ladder.baseline, ladder.reference, ladder.one_process)]
    behind = []
    for i, rung in enumerate(three):
        slower = [
            s for s in (ratios(rung, below, size) for below in three[:i]) if s and s.verdict == "slower"
        ]
        if slower:
            behind.append(max(slower, key=lambda s: s.ratio.estimate))
    own = [w for w in ways if w["rung"] == ladder.one_process]
    return {
        "size": size,
        "epochs": epochs,
        "tolerance": c["tolerance"],
        "optimum": c["optimum"],
        "first_cost": c["descent_costs"][0],
        "ways": ways,
        "main_behind": behind,
        "slowest": sorted(ways, key=lambda w: w["train_s"])[-1] if ways else None,
        "fastest": own[0] if own else min(ways, key=lambda w: w["train_s"], default=None),
        "lbfgs_s": c["lbfgs_times_s"][-1] if c["lbfgs_times_s"] else None,
        "lbfgs_iterations": len(c["lbfgs_costs"]),
    }


def first_run(ladder: Ladder, costs: list[dict], curve: dict | None) -> dict | None:
    """The one-process rung's compilation against a whole training at the curve's size: whether, for a
    single run, the reference rung would finish first. None where the run did not time the compilation."""
    own = [c for c in costs if c["rung"] == ladder.one_process]
    if not own:
        return None
    ways = {w["rung"]: w for w in (curve["ways"] if curve else [])}
    mine, reference = ways.get(ladder.one_process), ways.get(ladder.reference)
    measured = mine is not None and reference is not None
    return {
        "compile_s": own[0]["seconds"],
        "train_s": mine["train_s"] if mine else None,
        "reference_train_s": reference["train_s"] if reference else None,
        "reference_first": measured and own[0]["seconds"] + mine["train_s"] > reference["train_s"],
    }
