"""The ladder's tables as Markdown: the rungs at a glance, shares of the roofline, memory, counts."""

from __future__ import annotations

from collections.abc import Mapping

from bench.report.facts import Facts
from bench.report.facts.compare import ratio
from bench.report.facts.rungs import RungFacts
from bench.report.fmt import fmt_bytes, fmt_pct, fmt_size, fmt_time, fmt_x, point_label, table


def ladder(facts: Facts) -> str:
    psize, bsize = facts.sizes.python, facts.sizes.big
    baseline, facts_by_rung = facts.ladder.baseline, facts.rungs
    headers = ["rung", "what it is"]
    if psize:
        headers += [f"time/epoch at {fmt_size(psize)}", f"speedup over {baseline}"]
    if bsize:
        headers += [f"time/epoch at {fmt_size(bsize)}"]
    rows = []
    for rung in (f for f in facts_by_rung.values() if f.present):
        row = [f"`{rung.name}`", rung.summary]
        if psize:
            t = rung.t_python
            row += [fmt_time(t) if t else "not measured", fmt_x(ratio(facts_by_rung[baseline].t_python, t))]
        if bsize:
            row += [fmt_time(rung.t_big) if rung.t_big else "skipped (over the time budget)"]
        rows.append(row)
    return table(rows, headers)


def crossovers(facts: Facts) -> str:
    """Where each rung is faster, level and slower than the reference."""

    def ms(sizes: list[int]) -> str:
        return ", ".join(f"{m:,}" for m in sizes) or "none"

    rows = [[f"`{rung}`", ms(wins), ms(level), ms(loses)] for rung, wins, level, loses in facts.crossovers]
    headers = ["rung", f"faster than `{facts.ladder.reference}` at m =", "level at m =", "slower at m ="]
    return table(rows, headers) if rows else ""


PAIRED_SETTINGS = [("float64", "all"), ("float32", "all"), ("float64", "one")]


def paired(facts: Facts) -> str:
    """Shares of the probe measured side by side: median of the pairs (middle half in brackets)."""
    p = facts.paired
    if p.empty:
        return ""
    sizes = sorted({(int(r.m), int(r.n)) for r in p.itertuples()}, key=lambda mn: (mn[0] * mn[1], mn[1]))
    names = [r for r in facts.order if r in set(p["rung"])]
    rows = []
    for (m, n), (dtype, threads) in ((size, s) for size in sizes for s in PAIRED_SETTINGS):
        here = p[(p["m"] == m) & (p["n"] == n) & (p["dtype"] == dtype) & (p["threads_setting"] == threads)]
        if here.empty:
            continue
        cells = []
        for rung in names:
            hit = here[here["rung"] == rung]
            row = None if hit.empty else hit.iloc[0]
            cells.append(
                ""
                if row is None
                else f"{fmt_pct(row.share_median)} ({fmt_pct(row.share_q25)}–{fmt_pct(row.share_q75)})"
            )
        rows.append([point_label(m, n, dtype, threads), *cells])
    return table(rows, ["size, dtype, threads", *[f"`{r}`" for r in names]])


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
