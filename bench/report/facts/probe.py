"""The probe, a bare read of X: its reads as a rung's facts, how far its rate moved between benchmarks
and with the order of a pair, how much arithmetic an epoch hid behind its reads, and the rounds of the
benchmarks that time it beside the rungs."""

from __future__ import annotations

import math

from bench.report.facts import select
from bench.report.facts.compare import ratio
from bench.report.facts.rungs import RungFacts, sizes
from bench.results.load import Results
from bench.results.schema import ROOFLINE
from ladderstats import alternating, least_rounds

#: A share of the probe above this (100%, and a little for rounding) means a rung read X faster than it.
BEATEN = 1.005
#: Where the probe's rate across a size's side-by-side benchmarks spans this factor or more, the memory
#: drifted between them: two rungs' shares there compare two states of the machine.
DRIFT = 1.2
#: A probe read after an epoch more than this share away from its neighbours before one: order matters.
ORDER_EFFECT = 0.10


def probe(results: Results) -> RungFacts:
    """The roofline probe's reads at the lesson's sizes, as a rung's facts."""
    s = sizes(results)

    def read(size, threads="all"):
        return None if size is None else select.t_epoch(results, ROOFLINE, *size, "float64", threads)

    return RungFacts(
        name=ROOFLINE, present=True, t_big=read(s.big), t_big_one=read(s.big, "one"), t64=read(s.axis32)
    )


def beats_probe(results: Results) -> bool:
    """Whether any rung read X faster than the probe at an out-of-cache size (a share above 100%)."""
    for m, n in select.out_of_cache_sizes(results):
        probe_s = select.t_epoch(results, ROOFLINE, m, n)
        for r in select.rung_order(results):
            share = ratio(probe_s, select.t_epoch(results, r, m, n))
            if share is not None and share > BEATEN:
                return True
    return False


def probe_spread(results: Results, size=None, dtype: str = "float64", threads: str = "all") -> dict | None:
    """How fast the probe read X in each rung's side-by-side pairs at ``size`` (the big size by
    default): the slowest and the fastest, in bytes per second, with the rungs they were paired with.

    The pairs of two rungs run minutes apart; where the memory gave the probe a different rate in
    between, their shares compare two states of the machine, not only two kernels.
    """
    size = size or sizes(results).big
    p = results.paired
    if size is None or p.empty or "probe_best_s" not in p or "bytes_x" not in p:
        return None
    hit = p[
        (p["m"] == size[0]) & (p["n"] == size[1]) & (p["dtype"] == dtype) & (p["threads_setting"] == threads)
    ]
    hit = hit[hit["probe_best_s"] > 0]
    if len(hit) < 2:
        return None
    rate = hit["bytes_x"] / hit["probe_best_s"]
    slow, fast = rate.idxmin(), rate.idxmax()
    return {
        "size": size,
        "slow_rung": hit.loc[slow, "rung"],
        "slow": float(rate[slow]),
        "fast_rung": hit.loc[fast, "rung"],
        "fast": float(rate[fast]),
        "spread": float(rate[fast] / rate[slow]),
        "drifts": bool(rate[fast] / rate[slow] >= DRIFT),
    }


def probe_order(results: Results) -> dict | None:
    """Whether the probe's read depends on what ran before it, in the side-by-side benchmarks.

    Their pairs alternate which goes first, so the probe reads X before the epoch in one round
    and right after it in the next. Per benchmark, each read after an epoch over its neighbours
    before one (``alternating``: a drift of the machine cancels); the benchmark
    where that ratio lies furthest from 1, and how many lie further than ORDER_EFFECT from it.
    """
    found = []
    for row in results.pairs:
        probes = [probe for probe, _ in row.get("pairs_s") or []]
        if len(probes) < 2 * least_rounds():
            continue
        found.append((alternating(probes), row))
    if not found:
        return None
    effect, row = max(found, key=lambda f: abs(math.log(f[0].estimate)))
    return {
        "benchmarks": len(found),
        "beyond": sum(abs(r.estimate - 1) > ORDER_EFFECT for r, _ in found),
        "margin": ORDER_EFFECT,
        "worst": effect,
        "rung": row["rung"],
        "size": (row["m"], row["n"]),
        "dtype": row["dtype"],
        "threads": row.get("threads_setting", "all"),
    }


def hidden_arithmetic(results: Results, rung: str) -> dict | None:
    """How much of ``rung``'s arithmetic its epoch hid behind the reads of X, per row.

    Per row, float64 on all threads, at n_fixed: the rung's epoch where X sits in the
    last-level cache (at most half of it, the largest such m of the m sweep: the arithmetic with
    the data close by); at the largest size, the probe's read (the memory's time) and the rung's
    epoch, both from the side-by-side benchmark (best pair rounds), timed in the same moments. An epoch that hid all its arithmetic would take the probe's time;
    one that hid none, the sum of the two.
    """
    big = select.big_size(results)
    sweep = select.m_sweep(results)
    mine = sweep[sweep["rung"] == rung]
    in_cache = mine[mine["bytes_x"] <= select.last_level_cache(results.machine) / 2]
    if big is None or in_cache.empty:
        return None
    m_cache, (m_big, n) = int(in_cache["m"].max()), big
    p = results.paired
    side = p[(p["rung"] == rung) & (p["m"] == m_big) & (p["n"] == n) & (p["dtype"] == "float64")]
    side = side[side["threads_setting"] == "all"]
    row = select.at(results, rung, m_cache, n)  # the in-cache epoch
    if row is None or side.empty or m_cache >= m_big:
        return None
    arithmetic = float(row["time_per_epoch_s"]) / m_cache
    memory = float(side["probe_best_s"].iat[0]) / m_big
    epoch = float(side["epoch_best_s"].iat[0]) / m_big
    hidden = (arithmetic + memory - epoch) / arithmetic
    return {
        "cache_size": (m_cache, n),
        "rung": rung,
        "big_size": big,
        "arithmetic_row_s": arithmetic,
        "memory_row_s": memory,
        "epoch_row_s": epoch,
        "sum_row_s": arithmetic + memory,
        "arithmetic_share": arithmetic / memory,
        "hidden": hidden,
        "told_apart": arithmetic < epoch,  # the in-cache epoch is the shorter: the overlap can be read off
        "in_range": 0 <= hidden <= 1,  # a share of the in-cache time (else the sizes met different machines)
    }


def rounds(results: Results) -> dict:
    """Rounds of the paired benchmarks (most), and of the races ("40", or "12 to 200")."""
    races = sorted({e["race_rounds"] for e in results.head_to_head})
    return {
        "paired_rounds": int(results.paired["rounds"].max()) if not results.paired.empty else None,
        "race_rounds": "" if not races else f"{races[0]}" + (f" to {races[-1]}" if len(races) > 1 else ""),
    }
