"""Selections from a run's table: sweeps, points, sizes, rankings. No prose and no charts here."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bench.report.facts.ratios import Ratios, Stated
from bench.results.load import Results
from bench.results.schema import ROOFLINE

DEFAULT_LAST_LEVEL_CACHE = 32 * 1024**2


def rung_order(results: Results) -> list[str]:
    """Registry order first, then any rung the file has that the registry no longer does."""
    present = set(results.descent["rung"]) | set(results.jit["rung"])
    known = [name for name in results.ladder.order if name in present]
    return known + sorted(present - set(known) - {ROOFLINE})


def m_sweep(results: Results) -> pd.DataFrame:
    """Time against m at the fixed n, float64, all threads."""
    d = results.descent
    n_fixed = results.profile.get("n_fixed", d["n"].mode().iat[0] if len(d) else 0)
    return d[(d["n"] == n_fixed) & (d["dtype"] == "float64") & (d["threads_setting"] == "all")]


def n_sweep(results: Results) -> pd.DataFrame:
    d = results.descent
    m_fixed = results.profile.get("m_fixed")
    if m_fixed is None:
        return d.iloc[0:0]
    return d[(d["m"] == m_fixed) & (d["dtype"] == "float64") & (d["threads_setting"] == "all")]


def at(results: Results, rung: str, m, n, dtype: str = "float64", threads: str = "all"):
    """The row of one measurement, or None when this run did not measure it."""
    if m is None or n is None:
        return None
    d = results.descent
    hit = d[
        (d["rung"] == rung)
        & (d["m"] == m)
        & (d["n"] == n)
        & (d["dtype"] == dtype)
        & (d["threads_setting"] == threads)
    ]
    return None if hit.empty else hit.iloc[0]


def t_epoch(results: Results, rung: str, m, n, dtype="float64", threads="all", column="time_per_epoch_s"):
    """Seconds per epoch of one benchmark: its best round (or ``column``), None if it did not run.

    A time only: no ratio is formed from two of these (two benchmarks timed apart); every ratio the
    lesson states comes from the side-by-side rounds (``facts/ratios.py``).
    """
    row = at(results, rung, m, n, dtype, threads)
    return None if row is None else float(row[column])


def _largest(sweep: pd.DataFrame, rung: str) -> tuple[int, int] | None:
    rows = sweep[sweep["rung"] == rung]
    if rows.empty:
        return None
    return int(rows["m"].max()), int(rows["n"].iat[0])


def big_size(results: Results) -> tuple[int, int] | None:
    """The largest size of the m sweep the reference rung reached: where bandwidth shows."""
    return _largest(m_sweep(results), results.ladder.reference)


def python_size(results: Results) -> tuple[int, int] | None:
    """The largest size of the m sweep at which the baseline rung ran: the speedup reference."""
    return _largest(m_sweep(results), results.ladder.baseline)


def small_size(results: Results) -> tuple[int, int] | None:
    sweep = m_sweep(results)
    return None if sweep.empty else (int(sweep["m"].min()), int(sweep["n"].iat[0]))


def largest_m(results: Results, rung: str) -> tuple[int, int] | None:
    """The largest size of the m sweep at which ``rung`` ran (a slow rung may stop short)."""
    return _largest(m_sweep(results), rung)


def n_ends(results: Results) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """The n sweep's shortest and longest rows, as (m, n) sizes."""
    rows = n_sweep(results)
    if rows.empty:
        return None
    m = int(rows["m"].iat[0])
    return (m, int(rows["n"].min())), (m, int(rows["n"].max()))


def axis_size(results: Results, dtype: str = "float32", threads: str = "all") -> tuple[int, int] | None:
    """The size at which the run measured this dtype and thread setting; the m sweep's n preferred."""
    d = results.descent
    rows = d[(d["dtype"] == dtype) & (d["threads_setting"] == threads)]
    if rows.empty:
        return None
    best = rows.loc[(rows["m"] * rows["n"]).idxmax()]
    same_n = rows[rows["n"] == results.profile.get("n_fixed")]
    if not same_n.empty:
        best = same_n.loc[same_n["m"].idxmax()]
    return int(best["m"]), int(best["n"])


def sweep_sizes(results: Results) -> list[tuple[int, int]]:
    """The sizes of the m sweep (float64, all threads), smallest first."""
    sweep = m_sweep(results)
    return sorted({(int(m), int(n)) for m, n in zip(sweep["m"], sweep["n"], strict=True)})


def against_reference(results: Results, ratios: Ratios, rung: str) -> list[tuple[int, Stated]]:
    """(m, rung's epoch against the reference's in the same rounds) over the m sweep's sizes where the
    two ran side by side."""
    reference = results.ladder.reference
    out = []
    for m, n in sweep_sizes(results):
        stated = ratios(rung, reference, (m, n))
        if stated is not None:
            out.append((m, stated))
    return out


def crossovers(results: Results, ratios: Ratios) -> list[tuple[str, list[tuple[int, Stated]]]]:
    """For each rung but the reference, its side-by-side ratio with the reference at each m of the sweep."""
    rows = []
    reference = results.ladder.reference
    for rung in (r for r in rung_order(results) if r != reference):
        found = against_reference(results, ratios, rung)
        if found:
            rows.append((rung, found))
    return rows


def slower_points(results: Results, ratios: Ratios, rung: str) -> list[tuple[int, Stated]]:
    """(m, rung against the reference) at the sizes of the m sweep past the smallest where ``rung`` is
    slower than the reference by the interval of their side-by-side ratio."""
    small = small_size(results)
    return [
        (m, s)
        for m, s in against_reference(results, ratios, rung)
        if s.verdict == "slower" and (m, s.point[1]) != small
    ]


def break_even_epochs(results: Results, ratios: Ratios, rung: str, compile_s: float) -> pd.Series:
    """Epochs after which compiling ``rung`` has paid for itself against the reference, by m: its
    compile time over what it saves per epoch, the median of the reference's epoch less its own in
    the same side-by-side rounds; NaN where it is not faster there by their ratio's interval."""
    out = {}
    for m, stated in against_reference(results, ratios, rung):
        saving = float("nan")
        if stated.verdict == "faster":
            race = ratios.race(stated.point)
            mine = np.array(race["times_s"][rung])
            saving = float(np.median(np.array(race["times_s"][results.ladder.reference]) - mine))
        out[m] = compile_s / saving if saving > 0 else float("nan")
    return pd.Series(out, dtype=float)


def last_level_cache(machine: dict) -> int:
    """Bytes of the last-level cache: as Linux reported it to the run, else py-cpuinfo's L3, else 32 MiB.

    py-cpuinfo can misreport inside a virtual machine (an L3 smaller than the L2 was seen); such a
    value counts as unknown.
    """
    reported = machine.get("last_level_cache_bytes")
    if isinstance(reported, int) and reported > 0:
        return reported
    cpu = machine.get("cpu") or {}
    l3, l2 = cpu.get("l3_cache_size"), cpu.get("l2_cache_size")
    if isinstance(l3, int) and l3 > 0 and not (isinstance(l2, int) and l3 <= l2):
        return l3
    return DEFAULT_LAST_LEVEL_CACHE


def out_of_cache_sizes(results: Results) -> list[tuple[int, int]]:
    """Every float64 size of the run whose X is more than twice the last-level cache, smallest first."""
    d = results.descent
    big = d[(d["bytes_x"] > 2 * last_level_cache(results.machine)) & (d["dtype"] == "float64")]
    return sorted({(int(r.m), int(r.n)) for r in big.itertuples()}, key=lambda mn: (mn[0] * mn[1], mn[1]))
