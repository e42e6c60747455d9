"""The probe, a bare read of X: its reads as a rung's facts (best rounds), a rung that beat it side by
side, and how much arithmetic an epoch hid behind its reads (medians of side-by-side rounds)."""

from __future__ import annotations

import numpy as np

from bench.report.facts import select
from bench.report.facts.ratios import Ratios, Stated
from bench.report.facts.rungs import RungFacts, sizes
from bench.results import side
from bench.results.load import Results
from bench.results.schema import ROOFLINE


def probe(results: Results) -> RungFacts:
    """The roofline probe's reads at the lesson's sizes, as a rung's facts."""
    s = sizes(results)

    def read(size, threads="all"):
        return None if size is None else select.t_epoch(results, ROOFLINE, *size, "float64", threads)

    return RungFacts(
        name=ROOFLINE, present=True, t_big=read(s.big), t_big_one=read(s.big, "one"), t64=read(s.axis32)
    )


def times(results: Results, s) -> dict:
    """The probe's best rounds in the settings the threads and float32 sections compare (None where
    not measured): one thread and all at the one-thread axis size, float64 and float32 at the float32
    one."""

    def read(size, dtype, threads):
        return None if size is None else select.t_epoch(results, ROOFLINE, *size, dtype, threads)

    return {
        "one": read(s.axis_one, "float64", "one"),
        "all": read(s.axis_one, "float64", "all"),
        "float64": read(s.axis32, "float64", "all"),
        "float32": read(s.axis32, "float32", "all"),
    }


def below_one_read(results: Results, ratios: Ratios) -> Stated | None:
    """A rung whose epoch took surely less than one read of X, side by side with the probe, at a
    point whose X is well beyond the last-level cache (the first in the registry's order of points
    and the ladder's): part of X stayed in the caches between its epochs, or the probe is not the
    fastest read of X on this machine."""
    beyond = set(select.out_of_cache_sizes(results))
    for point in (p for p in ratios.points() if p[:2] in beyond and p[2] == "float64"):
        for rung in select.rung_order(results):
            stated = ratios.reads(rung, point[:2], *point[2:])
            if stated is not None and stated.verdict == "faster":
                return stated
    return None


def _median_row_s(race: dict, name: str, m: int) -> float:
    values = race["probe_s"] if name == ROOFLINE else race["times_s"][name]
    return float(np.median(values)) / m


def hidden_arithmetic(results: Results, ratios: Ratios, rung: str) -> dict | None:
    """How much of ``rung``'s arithmetic its epoch hid behind the reads of X, per row, in times.

    Per row, float64 on all threads, at n_fixed, each the median of side-by-side rounds: the rung's
    epoch where X sits in the last-level cache (at most half of it, the largest such m of the m
    sweep: the arithmetic with the data close by); at the largest size, the probe's read (the
    memory's time) and the rung's epoch, timed in the same rounds. An epoch that hid all its
    arithmetic would take the probe's time; one that hid none, the sum of the two.
    """
    big = select.big_size(results)
    sweep = select.m_sweep(results)
    mine = sweep[sweep["rung"] == rung]
    in_cache = mine[mine["bytes_x"] <= select.last_level_cache(results.machine) / 2]
    if big is None or in_cache.empty:
        return None
    (m_cache, n), m_big = (int(in_cache["m"].max()), big[1]), big[0]
    small, large = ratios.race((m_cache, n, "float64", "all")), ratios.race((m_big, n, "float64", "all"))
    if m_cache >= m_big or not (ratios.ran(rung, (m_cache, n, "float64", "all")) and large):
        return None
    if not (side.ran(large, rung) and side.ran(large, ROOFLINE)):
        return None
    arithmetic = _median_row_s(small, rung, m_cache)
    memory, epoch = _median_row_s(large, ROOFLINE, m_big), _median_row_s(large, rung, m_big)
    return {
        "cache_size": (m_cache, n),
        "rung": rung,
        "big_size": big,
        "arithmetic_row_s": arithmetic,
        "memory_row_s": memory,
        "epoch_row_s": epoch,
        "sum_row_s": arithmetic + memory,
        "told_apart": arithmetic < epoch,  # the in-cache epoch is the shorter: the overlap can be read off
        "in_range": memory <= epoch <= arithmetic + memory,  # between all hidden and none
    }
