"""The distributed rung's tables: its epochs beside the one-process rung's, and along block sizes (best
rounds of benchmarks timed apart: times only, no ratio)."""

from __future__ import annotations

from bench.report.facts.beyond import Beyond
from bench.report.fmt import fmt_bytes, fmt_size, fmt_time, table


def sweep_table(facts: Beyond) -> str:
    rows = [
        [
            fmt_size((p["m"], p["n"])),
            p["blocks"],
            p["tasks"],
            fmt_time(p["epoch"]),
            fmt_time(p["one_process"]) if p["one_process"] else "not measured",
            fmt_time(p["empty"]),
        ]
        for p in facts.sweep
    ]
    headers = [
        "size",
        "blocks",
        "tasks per epoch",
        f"`{facts.rung}` epoch",
        f"`{facts.one_process}` epoch",
        "empty epoch (scheduling only)",
    ]
    return table(rows, headers) if rows else ""


def blocks_table(facts: Beyond) -> str:
    rows = [
        [
            f"{p['per_worker']:g}",
            p["blocks"],
            fmt_bytes(p["block_bytes"]),
            p["tasks"],
            fmt_time(p["epoch"]),
            fmt_time(p["empty"]) if p["empty"] is not None else "not measured",
        ]
        for p in facts.blocks
    ]
    headers = ["blocks per worker thread", "blocks", "block of X", "tasks per epoch", "epoch", "empty epoch"]
    return table(rows, headers) if rows else ""
