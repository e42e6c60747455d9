"""The distributed rung's tables: its epochs against the one-process rung's, and against block sizes."""

from __future__ import annotations

from bench.report.facts.beyond import Beyond
from bench.report.facts.compare import ratio
from bench.report.fmt import fmt_bytes, fmt_size, fmt_time, fmt_x, table


def sweep_table(facts: Beyond) -> str:
    rows = [
        [
            fmt_size((p["m"], p["n"])),
            p["blocks"],
            p["tasks"],
            fmt_time(p["epoch"]),
            fmt_time(p["one_process"]) if p["one_process"] else "not measured",
            fmt_x(ratio(p["epoch"], p["one_process"])) if p["one_process"] else "",
            fmt_time(p["empty"]),
            f"{p['empty'] / p['epoch']:.0%}",
        ]
        for p in facts.sweep
    ]
    headers = [
        "size",
        "blocks",
        "tasks per epoch",
        f"`{facts.rung}` epoch",
        f"`{facts.one_process}` epoch",
        f"`{facts.rung}` ÷ `{facts.one_process}`",
        "empty epoch (scheduling only)",
        "its share of the epoch",
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
