"""The ladder's numbers: each rung's times at the lesson's sizes (best rounds), its epoch in reads of
X in each setting (side by side with the probe), its compilation, memory, errors and instruction
counts, and what a multiply-add costs on it."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

from bench.report.facts import select
from bench.report.facts.compare import Against, Versus
from bench.report.facts.ratios import Ratios, Stated
from bench.results.load import Results
from bench.results.schema import ROOFLINE

#: A pinned one-thread point whose process used at most this many CPU-seconds per second held to one core.
ONE_CORE = 1.05
#: A rung whose epoch on one thread is surely more than this share more reads of X than on all threads
#: (its gain from the threads that much above the probe's) was held back on one core by its arithmetic,
#: which the threads share out.
HELD_BACK = 0.10


@dataclass
class RungFacts:
    """One rung in this run; every time is seconds per epoch (best round), None where not measured."""

    name: str
    summary: str = "(not in the run's ladder)"
    step: int | None = None  # its place on the ladder, counted among the rungs this run has
    code: str = ""  # its core functions, and the helpers they call not shown before on the page
    helpers: tuple = ()  # (qualified name, source) of every helper its code calls
    present: bool = False
    threads: int | None = None  # threads its all-threads points ran with
    t_python: float | None = None  # at the baseline rung's largest size
    per_madd: float | None = None  # seconds per multiply-add there (two per element of X)
    t_big: float | None = None  # at the reference rung's largest size
    t_big_one: float | None = None  # same, one thread
    pinned_cpu_one: float | None = None  # a pinned one-thread point: CPU seconds per timed second
    pinned_one_core: bool | None = None  # that point held to one core (at most ONE_CORE)
    ops_per_epoch: float | None = None  # a peer's epoch as its framework reports it, at the largest size
    x_reads: float | None = None  # X-sized operands read per epoch
    x_writes: float | None = None  # X-sized results written per epoch
    m_reads: float | None = None  # m-long operands read per epoch
    ops_traced: str | None = None  # how they were counted
    t_small: float | None = None  # smallest size of the m sweep
    largest: tuple[int, int] | None = None  # largest size of the m sweep at which it ran
    t_largest: float | None = None
    reference_at_largest: float | None = None  # the reference rung there
    t_short: float | None = None  # n sweep, shortest rows
    t_long: float | None = None  # n sweep, longest rows
    t64: float | None = None  # at the float32 axis size, float64
    t32: float | None = None  # same size, float32
    compile_s: float | None = None  # cold compile, float64 (best round)
    mem_bytes: int | None = None  # peak bytes during one epoch beyond X and y
    mem_arrays: float | None = None  # the same in m-long arrays of the dtype
    mem_traced: str | None = None
    shown_above: list = field(default_factory=list)  # helpers of its code shown with an earlier step
    # Its side-by-side ratios with every rung of the run (vs[other][slot]) and with the probe
    # (reads[slot]: its epoch in reads of X), and what its step states (claims): set once the run's
    # rungs are all built.
    vs: Versus | None = field(default=None, compare=False, repr=False)
    reads: Against | None = field(default=None, compare=False, repr=False)
    claims: dict = field(default_factory=dict, compare=False, repr=False)


@dataclass
class Sizes:
    python: tuple[int, int] | None
    big: tuple[int, int] | None
    small: tuple[int, int] | None
    axis32: tuple[int, int] | None
    axis_one: tuple[int, int] | None
    short: tuple[int, int] | None
    long: tuple[int, int] | None
    axis_all: tuple[int, int] | None = None  # the float64 all-threads axis size (where tuning is drawn)


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
        axis_all=select.axis_size(results, "float64", "all"),
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
    return t


def _other(results: Results, rung: str) -> dict:
    """Compile time, memory, threads, and the largest size of the m sweep at which the rung ran."""
    facts: dict = {"largest": select.largest_m(results, rung)}
    if facts["largest"]:
        facts["t_largest"] = _t(results, rung, facts["largest"])
        facts["reference_at_largest"] = _t(results, results.ladder.reference, facts["largest"])
    jit = results.jit[(results.jit["rung"] == rung) & (results.jit["dtype"] == "float64")]
    if not jit.empty:
        facts["compile_s"] = float(jit["min_s"].iat[0])
    mem = results.memory[results.memory["rung"] == rung]
    if not mem.empty:
        row = mem.iloc[0]
        facts.update(
            mem_bytes=int(row["peak_bytes"]), mem_arrays=float(row["m_arrays"]), mem_traced=row["traced"]
        )
    d = results.descent[results.descent["rung"] == rung]
    every = d[d["threads_setting"] == "all"]
    if not every.empty:
        facts["threads"] = int(every["threads"].max())
    one = d[(d["threads_setting"] == "one") & d["pinned_cpu_per_wall"].notna()]
    if not one.empty:
        facts["pinned_cpu_one"] = float(one["pinned_cpu_per_wall"].max())
        facts["pinned_one_core"] = facts["pinned_cpu_one"] <= ONE_CORE
    return facts


def _epoch_counts(results: Results, rung: str, size) -> dict:
    """What a peer's framework reported its epoch does, at ``size`` (float64, all threads)."""
    row = None if size is None else select.at(results, rung, *size)
    if row is None or row["ops_traced"] is None or row["ops_traced"] != row["ops_traced"]:
        return {}
    keys = ("ops_per_epoch", "x_reads", "x_writes", "m_reads")
    return {k: None if row[k] is None or row[k] != row[k] else float(row[k]) for k in keys} | {
        "ops_traced": row["ops_traced"]
    }


def rung_facts(results: Results, ratios: Ratios) -> dict[str, RungFacts]:
    """Every rung of the run's ladder (absent ones with no numbers), then any other rung the run has;
    their comparisons are the registry's (``ratios``)."""
    present = select.rung_order(results)
    s = sizes(results)
    names = list(results.ladder.order) + [r for r in present if r not in results.ladder.order]
    known = {f.name for f in fields(RungFacts)}
    out = {}
    for name in names:
        facts = RungFacts(name=name)
        described = results.ladder.info(name)
        if described:
            facts.summary, facts.code, facts.helpers = described.summary, described.code, described.helpers
        if name in present:
            facts.present = True
            facts.step = present.index(name) + 1
            found = {
                **_times(results, name, s),
                **_other(results, name),
                **_epoch_counts(results, name, s.big),
            }
            for key, value in found.items():
                assert key in known, key
                setattr(facts, key, value)
        out[name] = facts
    s = sizes(results)
    for facts in out.values():
        facts.vs, facts.reads = Versus(facts, out, ratios, s), Versus(facts, out, ratios, s)[ROOFLINE]
    return out


def settings(ratios: Ratios, order, size, first: tuple[str, str], second: tuple[str, str]) -> list[dict]:
    """Each rung's epoch in reads of X in two settings (dtype, threads) at ``size``, each side by side
    with the probe of its own setting: where the rung keeps pace with the memory in both, the counts
    are alike. Rungs not timed side by side in both settings are left out."""
    if size is None:
        return []
    out = []
    for rung in order:
        a, b = ratios.reads(rung, size, *first), ratios.reads(rung, size, *second)
        if a is not None and b is not None:
            out.append({"rung": rung, "first": a, "second": b})
    return out


def _surely_more(a: Stated, b: Stated, margin: float = 0.0) -> bool:
    """``a``'s whole interval lies above ``b``'s, by more than ``margin`` of it."""
    return a.ratio.low > (1 + margin) * b.ratio.high


def thread_reading(threads: list[dict], reference: str) -> dict:
    """What one thread against all says, from each rung's reads of X in both (``settings`` with one
    thread first): whether the reference rung took surely fewer reads of X on one thread than on all
    (it gained less from the threads than the probe: its elementwise work runs on one core), and
    which rungs took surely more, by more than HELD_BACK (held back on one core by their arithmetic)."""
    return {
        "reference_below_probe": any(
            t["rung"] == reference and _surely_more(t["second"], t["first"]) for t in threads
        ),
        "held_back": [t["rung"] for t in threads if _surely_more(t["first"], t["second"], HELD_BACK)],
        "margin": HELD_BACK,
    }


def beyond_the_bytes(dtypes: list[dict]) -> list[str]:
    """The rungs whose epoch took surely fewer reads of X in float32 than in float64 (``settings`` with
    float64 first): they gained more from half the bytes than the probe's read did."""
    return [t["rung"] for t in dtypes if _surely_more(t["first"], t["second"])]


def compile_costs(results: Results, ratios: Ratios) -> list[dict]:
    """Each JIT rung's cold compile (float64, the best of its ``rounds`` rounds) and the epochs it takes to repay it against
    the reference at the largest m where it is faster side by side (``compared``: whether the two ran
    side by side at any m of the sweep)."""
    jit = results.jit[results.jit["dtype"] == "float64"]
    out = []
    for rung in [r for r in select.rung_order(results) if r in set(jit["rung"])]:
        mine = jit[jit["rung"] == rung]
        seconds, rounds = float(mine["min_s"].iat[0]), int(mine["rounds"].iat[0])
        every = select.break_even_epochs(results, ratios, rung, seconds)
        epochs = every.dropna()
        last = (float(epochs.iat[-1]), int(epochs.index[-1])) if not epochs.empty else (None, None)
        out.append(
            {
                "rung": rung,
                "seconds": seconds,
                "rounds": rounds,
                "epochs": last[0],
                "m": last[1],
                "compared": not every.empty,
            }
        )
    return out


def errors(results: Results) -> dict[str, list[tuple[str, float]]]:
    """Largest relative difference from the reference per dtype and rung, as the run measured it."""
    d = results.kind("descent")
    out: dict[str, list[tuple[str, float]]] = {}
    for dtype in ("float64", "float32"):
        worst = d[d["dtype"] == dtype].groupby("rung")["max_rel_error"].max()
        out[dtype] = [
            (r, float(worst[r])) for r in select.rung_order(results) if r in worst and np.isfinite(worst[r])
        ]
    return {k: v for k, v in out.items() if v}


def instruction_counts(results: Results) -> list[tuple[str, int, int]]:
    """(rung, packed SIMD, scalar) floating-point instructions the run counted per compiled rung, float64.

    The compile benchmark counts them (older runs counted them beside the descent)."""
    d = results.kind("jit", "descent")
    if "simd_packed_ops" not in d:
        return []
    counted = d[d["simd_packed_ops"].notna() & (d["dtype"] == "float64")]
    out = []
    for rung in select.rung_order(results):
        mine = counted[counted["rung"] == rung]
        if not mine.empty:
            out.append((rung, int(mine["simd_packed_ops"].iat[0]), int(mine["simd_scalar_ops"].iat[0])))
    return out


def memory_size(results: Results) -> tuple[int, int] | None:
    mem = results.memory
    return None if mem.empty else (int(mem["m"].iat[0]), int(mem["n"].iat[0]))


def ns_per_multiply_add(results: Results) -> tuple[list, float | None, tuple[int, int] | None]:
    """Each one-process rung's (name, nanoseconds per multiply-add, size) at the largest m of the m
    sweep it ran (an epoch does 2 m n of them: X @ w, then X.T @ error), and the floor that the
    probe's read of X sets at the sweep's largest size, with that size: one read of X per epoch and no
    arithmetic at all. Times only (best rounds)."""
    sweep = select.m_sweep(results)
    aside = set(results.ladder.peers) | set(results.ladder.distributed)
    out = []
    for rung in (r for r in select.rung_order(results) if r not in aside):
        mine = sweep[sweep["rung"] == rung]
        if not mine.empty:
            row = mine.loc[mine["m"].idxmax()]
            m, n = int(row["m"]), int(row["n"])
            out.append((rung, float(row["time_per_epoch_s"]) / (2 * m * n) * 1e9, (m, n)))
    probe = sweep[sweep["rung"] == ROOFLINE]
    if probe.empty:
        return out, None, None
    row = probe.loc[probe["m"].idxmax()]
    m, n = int(row["m"]), int(row["n"])
    return out, float(row["time_per_epoch_s"]) / (2 * m * n) * 1e9, (m, n)
