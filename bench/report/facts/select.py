"""Selections from a run's table: sweeps, points, sizes, rankings. No prose and no charts here."""

from __future__ import annotations

import pandas as pd

from bench.report.facts.compare import Comparison, Timing, compare
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

    The best round comes as a :class:`Timing`, which carries the benchmark's rounds per epoch
    (or, in files that kept none, its middle half) for the intervals of the lesson's words.
    """
    row = at(results, rung, m, n, dtype, threads)
    if row is None:
        return None
    if column != "time_per_epoch_s":
        return float(row[column])
    epochs = max(int(row["epochs"]), 1)
    rounds = results.rounds.get(row["benchmark"]) if "benchmark" in row else None
    return Timing(
        float(row[column]),
        rounds=tuple(r / epochs for r in rounds) if rounds else (),
        middle=(float(row["q1_s"]) / epochs, float(row["median_s"]) / epochs, float(row["q3_s"]) / epochs),
    )


def paired_share(results: Results, rung: str, size, dtype: str = "float64", threads: str = "all"):
    """The rung's share of the probe measured side by side at ``size``: the median over the pairs of
    the probe's read over the rung's epoch, or None where it was not measured."""
    if size is None:
        return None
    p = results.paired
    hit = p[
        (p["rung"] == rung)
        & (p["m"] == size[0])
        & (p["n"] == size[1])
        & (p["dtype"] == dtype)
        & (p["threads_setting"] == threads)
    ]
    if hit.empty:
        return None
    row = hit.iloc[0]
    return float(row["share_median"])


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


def against_reference(
    results: Results, rung: str, column: str = "time_per_epoch_s"
) -> tuple[pd.Series, pd.Series]:
    """(reference's, rung's) seconds per epoch (best round, or ``column``) over the m sweep's sizes
    where both ran, by m."""
    sweep = m_sweep(results).set_index("m")
    base = sweep[sweep["rung"] == results.ladder.reference][column]
    mine = sweep[sweep["rung"] == rung][column]
    common = base.index.intersection(mine.index).sort_values()
    return base[common], mine[common]


def break_even_epochs(results: Results, rung: str, compile_s: float) -> pd.Series:
    """Epochs after which compiling ``rung`` has paid for itself against the reference, at each m."""
    base, mine = against_reference(results, rung)
    saving = base - mine
    return (compile_s / saving).where(saving > 0)


def _against_reference(results: Results, rung: str) -> list[tuple[int, str, Comparison]]:
    """(m, verdict, rung's epoch against the reference's) over the m sweep's sizes where both ran. The
    verdict ("faster", "level" or "slower") is by the interval of their ratio (95% where the run kept
    rounds, else the span of their middle halves); level where it includes 1, or where there is none."""
    sweep = m_sweep(results)
    n = results.profile.get("n_fixed", int(sweep["n"].iat[0]) if len(sweep) else 0)
    reference = results.ladder.reference
    out = []
    for m in against_reference(results, rung)[0].index:
        c = compare(t_epoch(results, rung, m, n), t_epoch(results, reference, m, n))
        out.append((int(m), c.interval.verdict() if c is not None and c.interval is not None else "level", c))
    return out


def crossovers(results: Results) -> list[tuple[str, list[int], list[int], list[int]]]:
    """For each rung, the sizes of the m sweep where it is faster than the reference, level with it,
    and slower (by :func:`_against_reference`)."""
    rows = []
    reference = results.ladder.reference
    for rung in (r for r in rung_order(results) if r != reference):
        verdicts = _against_reference(results, rung)
        if verdicts:
            rows.append(
                (rung, *([m for m, v, _ in verdicts if v == word] for word in ("faster", "level", "slower")))
            )
    return rows


def slower_points(results: Results, rung: str) -> list[tuple[int, Comparison]]:
    """(m, rung's epoch against the reference's) at the sizes of the m sweep where ``rung`` is slower
    than the reference by the interval of all their rounds."""
    return [(m, c) for m, v, c in _against_reference(results, rung) if v == "slower"]


def fastest(results: Results, m: int, n: int, dtype="float64", threads="all", exclude=()) -> str | None:
    """The rung with the shortest epoch at a point, leaving out the probe and ``exclude``."""
    d = results.kind("descent")
    here = d[(d["m"] == m) & (d["n"] == n) & (d["dtype"] == dtype) & (d["threads_setting"] == threads)]
    here = here[~here["rung"].isin(exclude)]
    return None if here.empty else str(here.loc[here["time_per_epoch_s"].idxmin(), "rung"])


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
