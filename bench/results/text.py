"""A results file's values as text: times, ratios, shares, sizes and the machine's name.

The report's pages and ``bench.compare`` both print through these, so a time or a CPU reads the
same wherever it appears.
"""

from __future__ import annotations

import math


def _missing(value) -> bool:
    return value is None or not math.isfinite(value)


def fmt_time(seconds: float | None) -> str:
    if _missing(seconds):
        return "n/a"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def fmt_x(ratio: float | None) -> str:
    if _missing(ratio):
        return "n/a"
    return f"{ratio:,.0f}×" if ratio >= 100 else f"{ratio:.3g}×"


def fmt_pct(fraction: float | None) -> str:
    return "n/a" if _missing(fraction) else f"{100 * fraction:.0f}%"


def fmt_size(size) -> str:
    m, n = size
    return f"m = {m:,} × n = {n:,}"


def fmt_bytes(count: float | None) -> str:
    if _missing(count):
        return "n/a"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= scale:
            return f"{count / scale:.3g} {unit}"
    return f"{count:.0f} B"


def cpu_name(machine: dict) -> str:
    return (machine.get("cpu") or {}).get("brand_raw") or machine.get("processor") or "unknown CPU"
