"""The ladder's tables as Markdown: the rungs at a glance, their side-by-side ratios, memory, counts."""

from __future__ import annotations

from collections.abc import Mapping

from bench.report.facts import Facts
from bench.report.facts.rungs import RungFacts
from bench.report.fmt import fmt_bytes, fmt_size, fmt_time, numbers, point_label, said, table


def ladder(facts: Facts) -> str:
    """The whole ladder: each rung's time per epoch at two sizes (best rounds), and its epoch against the
    baseline rung's in the same side-by-side rounds."""
    psize, bsize = facts.sizes.python, facts.sizes.big
    baseline, facts_by_rung = facts.ladder.baseline, facts.rungs
    headers = ["rung", "what it is"]
    if psize:
        headers += [f"time/epoch at {fmt_size(psize)}", f"against `{baseline}` there, side by side"]
    if bsize:
        headers += [f"time/epoch at {fmt_size(bsize)}"]
    rows = []
    for rung in (f for f in facts_by_rung.values() if f.present):
        row = [f"`{rung.name}`", rung.summary]
        if psize:
            t = rung.t_python
            against = "" if rung.name == baseline else said(rung.vs[baseline]["t_python"])
            row += [fmt_time(t) if t else "not measured", against.replace("n/a", "not side by side")]
        if bsize:
            row += [fmt_time(rung.t_big) if rung.t_big else "skipped (over the time budget)"]
        rows.append(row)
    return table(rows, headers)


def crossovers(facts: Facts) -> str:
    """Each rung against the reference along the m sweep, in the same side-by-side rounds."""
    sizes = sorted({m for _, found in facts.crossovers for m, _ in found})
    rows = []
    for rung, found in facts.crossovers:
        by_m = dict(found)
        rows.append([f"`{rung}`", *[said(by_m[m]) if m in by_m else "" for m in sizes]])
    headers = [f"against `{facts.ladder.reference}`", *[f"m = {m:,}" for m in sizes]]
    return table(rows, headers) if rows else ""


def side_by_side(facts: Facts) -> str:
    """Every rung's epoch in reads of X at every point of the side-by-side rounds (its epoch over the
    probe's read in the same rounds, the 95% interval in brackets)."""
    ratios = facts.ratios
    names = [r for r in facts.order if any(ratios.ran(r, p) for p in ratios.points())]
    rows = []
    for point in ratios.points():
        cells = [ratios.reads(rung, point[:2], *point[2:]) for rung in names]
        if any(cells):
            rows.append([point_label(*point), *["" if c is None else numbers(c) for c in cells]])
    return table(rows, ["size, dtype, threads", *[f"`{r}`" for r in names]]) if rows else ""


def settings(rows: list[dict], first: str, second: str) -> str:
    """Each rung's epoch in reads of X in two settings (``facts.rungs.settings``), one column each."""
    cells = [[f"`{r['rung']}`", numbers(r["first"]), numbers(r["second"])] for r in rows]
    return table(cells, ["rung", f"{first}: epoch in reads of X", f"{second}: epoch in reads of X"])


def instruction_counts(facts: Facts) -> str:
    rows = [[f"`{rung}`", packed, scalar] for rung, packed, scalar in facts.instructions]
    headers = ["compiled rung (float64)", "packed (SIMD) FP instructions", "scalar FP instructions"]
    return table(rows, headers) if rows else ""


def epoch_passes(facts_by_rung: Mapping[str, RungFacts]) -> str:
    """What each peer's framework reported its epoch does, where the run counted it."""
    rows = [
        [
            f"`{f.name}`",
            f"{f.ops_per_epoch:g}",
            f"{f.x_reads:g}",
            "not reported" if f.x_writes is None else f"{f.x_writes:g}",
            f"{f.m_reads:g}",
            f.ops_traced,
        ]
        for f in facts_by_rung.values()
        if f.present and f.ops_traced
    ]
    headers = ["rung", "operations", "X-sized reads", "X-sized writes", "m-long reads", "counted from"]
    return table(rows, headers) if rows else ""


def memory(facts: Facts) -> str:
    mem = facts.memory
    rows = []
    for rung in facts.order:
        hit = mem[mem["rung"] == rung]
        if hit.empty:
            continue
        row = hit.iloc[0]
        if row["own_allocator"] in (True,):  # its arrays are its framework's, out of the tracer's sight
            rows.append([f"`{rung}`", "not traced (own allocator)", "not traced", row["traced"]])
        else:
            rows.append([f"`{rung}`", fmt_bytes(row["peak_bytes"]), f"{row['m_arrays']:.2f}", row["traced"]])
    headers = ["rung", "peak beyond X and y", "in m-long arrays", "what was traced"]
    return table(rows, headers) if rows else ""


def optimum_table(points: list[dict]) -> str:
    """The ways to the optimum as a table: steps, evaluations of the cost and gradient, wall time."""
    rows = [
        [
            fmt_size(p["size"]),
            f"`{w['rung']}` ({w['method']})",
            f"{w['steps']:,}",
            "" if w["evaluations"] is None else f"{w['evaluations']:,}",
            fmt_time(w["seconds"]),
            fmt_time(w["per_step"]),
        ]
        for p in points
        for w in p["ways"]
    ]
    headers = [
        "size",
        "way",
        "epochs or iterations",
        "evaluations of cost and gradient",
        "wall time",
        "per step",
    ]
    return table(rows, headers) if rows else ""
