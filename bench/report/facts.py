"""The numbers the lesson's templates speak of, computed from one run, per rung and per section.

A fact this run did not measure is None; the templates then print a labelled gap instead of a
sentence. Nothing here knows a rung by its label except through the registry's roles.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, fields

import numpy as np

from bench.report import rungs, select
from bench.report.fmt import ratio
from bench.report.load import Results
from bench.schema import ROOFLINE
from impls import REFERENCE


@dataclass
class RungFacts:
    """One rung in this run; every time is seconds per epoch (best round), None where not measured."""

    name: str
    summary: str = "(not in the registry any more)"
    step: int | None = None  # its place on the ladder, counted among the rungs this run has
    code: str = ""
    present: bool = False
    threads: int | None = None  # threads its all-threads points ran with
    t_python: float | None = None  # at the baseline rung's largest size
    per_madd: float | None = None  # seconds per multiply-add there (two per element of X)
    t_big: float | None = None  # at the reference rung's largest size
    t_big_one: float | None = None  # same, one thread
    pinned_cpu_one: float | None = None  # a pinned one-thread point: CPU seconds per timed second
    ops_per_epoch: float | None = None  # a peer's epoch as its framework reports it, at the largest size
    x_reads: float | None = None  # X-sized operands read per epoch
    x_writes: float | None = None  # X-sized results written per epoch
    m_reads: float | None = None  # m-long operands read per epoch
    ops_traced: str | None = None  # how they were counted
    share_big: float | None = None  # probe ÷ rung at the largest size
    share_one: float | None = None  # one-thread probe ÷ one-thread rung
    t_small: float | None = None  # smallest size of the m sweep
    largest: tuple[int, int] | None = None  # largest size of the m sweep at which it ran
    t_largest: float | None = None
    reference_at_largest: float | None = None  # the reference rung there
    t_short: float | None = None  # n sweep, shortest rows
    t_long: float | None = None  # n sweep, longest rows
    t64: float | None = None  # at the float32 axis size, float64
    t32: float | None = None  # same size, float32
    compile_s: float | None = None  # cold compile, float64 (median)
    mem_bytes: int | None = None  # peak bytes during one epoch beyond X and y
    mem_arrays: float | None = None  # the same in m-long arrays of the dtype
    mem_traced: str | None = None


def source_of(rung: str) -> str:
    """The code of a rung's core functions, read from impls/ now ("" for a rung impls/ lacks)."""
    described = rungs.info(rung)
    return described.code if described else ""


@dataclass
class Sizes:
    python: tuple[int, int] | None
    big: tuple[int, int] | None
    small: tuple[int, int] | None
    axis32: tuple[int, int] | None
    axis_one: tuple[int, int] | None
    short: tuple[int, int] | None
    long: tuple[int, int] | None


def sizes(results: Results) -> Sizes:
    ends = select.n_ends(results)
    return Sizes(
        python=select.python_size(results),
        big=select.big_size(results),
        small=select.small_size(results),
        axis32=select.axis_size(results, "float32", "all"),
        axis_one=select.axis_size(results, "float64", "one"),
        short=ends[0] if ends else None,
        long=ends[1] if ends else None,
    )


def _t(results: Results, rung: str, size, dtype="float64", threads="all") -> float | None:
    return None if size is None else select.t_epoch(results, rung, *size, dtype, threads)


def _times(results: Results, rung: str, s: Sizes) -> dict:
    t = {
        "t_python": _t(results, rung, s.python),
        "t_big": _t(results, rung, s.big),
        "t_big_one": _t(results, rung, s.big, threads="one"),
        "t_small": _t(results, rung, s.small),
        "t_short": _t(results, rung, s.short),
        "t_long": _t(results, rung, s.long),
        "t64": _t(results, rung, s.axis32),
        "t32": _t(results, rung, s.axis32, "float32"),
    }
    t["per_madd"] = None if t["t_python"] is None else t["t_python"] / (2 * s.python[0] * s.python[1])
    t["share_big"] = ratio(_t(results, ROOFLINE, s.big), t["t_big"])
    t["share_one"] = ratio(_t(results, ROOFLINE, s.big, threads="one"), t["t_big_one"])
    return t


def _other(results: Results, rung: str) -> dict:
    """Compile time, memory, and the largest size at which the rung ran."""
    facts: dict = {"largest": select.largest_m(results, rung)}
    if facts["largest"]:
        facts["t_largest"] = _t(results, rung, facts["largest"])
        facts["reference_at_largest"] = _t(results, REFERENCE, facts["largest"])
    jit = results.jit[(results.jit["rung"] == rung) & (results.jit["dtype"] == "float64")]
    if not jit.empty:
        facts["compile_s"] = float(jit["median_s"].iat[0])
    mem = results.memory[results.memory["rung"] == rung]
    if not mem.empty:
        row = mem.iloc[0]
        facts.update(
            mem_bytes=int(row["peak_bytes"]), mem_arrays=float(row["m_arrays"]), mem_traced=row["traced"]
        )
    threads = results.descent[
        (results.descent["rung"] == rung) & (results.descent["threads_setting"] == "all")
    ]
    if not threads.empty:
        facts["threads"] = int(threads["threads"].max())
    one = results.descent[
        (results.descent["rung"] == rung)
        & (results.descent["threads_setting"] == "one")
        & results.descent["pinned_cpu_per_wall"].notna()
    ]
    if not one.empty:
        facts["pinned_cpu_one"] = float(one["pinned_cpu_per_wall"].max())
    return facts


def _epoch_counts(results: Results, rung: str, size) -> dict:
    """What a peer's framework reported its epoch does, at ``size`` (float64, all threads)."""
    if size is None:
        return {}
    d = results.descent
    rows = d[
        (d["rung"] == rung)
        & (d["m"] == size[0])
        & (d["n"] == size[1])
        & (d["dtype"] == "float64")
        & (d["threads_setting"] == "all")
        & d["ops_traced"].notna()
    ]
    if rows.empty:
        return {}
    row = rows.iloc[0]
    keys = ("ops_per_epoch", "x_reads", "x_writes", "m_reads")
    return {k: None if row[k] is None or row[k] != row[k] else float(row[k]) for k in keys} | {
        "ops_traced": row["ops_traced"]
    }


def rung_facts(results: Results) -> dict[str, RungFacts]:
    """Every registered rung (absent ones with no numbers), then any other rung the run has."""
    present = select.rung_order(results)
    s = sizes(results)
    ladder = rungs.ladder_order()
    names = ladder + [r for r in present if r not in ladder]
    out = {}
    for name in names:
        facts = RungFacts(name=name)
        described = rungs.info(name)
        if described:
            facts.summary, facts.code = described.summary, described.code
        if name in present:
            facts.present = True
            facts.step = present.index(name) + 1
            known = {f.name for f in fields(RungFacts)}
            found = {
                **_times(results, name, s),
                **_other(results, name),
                **_epoch_counts(results, name, s.big),
            }
            for key, value in found.items():
                assert key in known, key
                setattr(facts, key, value)
        out[name] = facts
    return out


def numerics_demo() -> dict:
    """Small computations for the numerics section: naive against stable, float32 saturation."""
    from impls._scalar import logistic_terms

    z = np.array([-1000.0, 1000.0])
    y = np.array([1.0, 0.0])  # both confidently wrong: the true loss is 1000 each
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        naive_p = 1.0 / (1.0 + np.exp(-z))
        naive_loss = -(y * np.log(naive_p) + (1 - y) * np.log(1 - naive_p))
    stable_loss = [logistic_terms(float(zi), float(yi))[0] for zi, yi in zip(z, y, strict=True)]
    # The smallest logit at which sigmoid(z) rounds to exactly 1.
    grid32 = np.arange(0, 40, 0.01, dtype=np.float32)
    p32 = (np.float32(1) / (np.float32(1) + np.exp(-grid32))).astype(np.float32)
    grid64 = np.arange(0, 60, 0.01)
    # Summation order: the same million numbers summed front to back, and pairwise.
    values = np.random.default_rng(0).standard_normal(1_000_000)
    sequential = 0.0
    for v in values.tolist():
        sequential += v
    return {
        "z": z.tolist(),
        "naive_loss": naive_loss.tolist(),
        "stable_loss": stable_loss,
        "saturate32": float(grid32[np.argmax(p32 == np.float32(1))]),
        "saturate64": float(grid64[np.argmax(1.0 / (1.0 + np.exp(-grid64)) == 1.0)]),
        "sum_sequential": sequential,
        "sum_pairwise": float(np.sum(values)),
        "sum_exact": math.fsum(values.tolist()),
    }
