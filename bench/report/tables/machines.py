"""The machines page's tables: what each run was, and each rung's epoch in reads of its machine's X."""

from __future__ import annotations

from bench.report.facts.machines import Machine, rungs
from bench.report.fmt import fmt_bytes, fmt_size, numbers, table


def overview(machines: list[Machine]) -> str:
    rows = [
        ["CPU", *[m.cpu for m in machines]],
        ["cores", *[str(m.facts.machine.get("cpu_count", "?")) for m in machines]],
        ["last-level cache", *[fmt_bytes(m.last_level_cache) for m in machines]],
        ["run of", *[m.facts.datetime[:10] for m in machines]],
        ["ladder source digest", *[f"`{m.facts.source_digest}`" for m in machines]],
        ["size compared", *[fmt_size(m.size) if m.size else "n/a" for m in machines]],
        ["probe reads X at", *[f"{m.probe_gb_s:.1f} GB/s" if m.probe_gb_s else "n/a" for m in machines]],
    ]
    return table(rows, ["", *[m.label for m in machines]])


def reads(machines: list[Machine]) -> str:
    """Each rung's epoch in reads of its machine's X, side by side with the probe (95% interval), per
    machine."""
    rows = []
    for rung in rungs(machines):
        cells = [numbers(m.reads[rung]) if rung in m.reads else "—" for m in machines]
        if any(cell != "—" for cell in cells):
            rows.append([f"`{rung}`", *cells])
    return table(rows, ["rung", *[m.label for m in machines]])
