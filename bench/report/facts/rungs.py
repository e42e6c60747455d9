"""The ladder's numbers: each rung's times at the lesson's sizes, speedups, threads, dtypes,
compilation, memory, errors and the ways to the optimum."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, fields, replace

import numpy as np

from bench.report.facts import select
from bench.report.fmt import ratio
from bench.results.load import Results
from bench.results.schema import ROOFLINE
from ladderstats import alternating, least_rounds


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
    ops_per_epoch: float | None = None  # a peer's epoch as its framework reports it, at the largest size
    x_reads: float | None = None  # X-sized operands read per epoch
    x_writes: float | None = None  # X-sized results written per epoch
    m_reads: float | None = None  # m-long operands read per epoch
    ops_traced: str | None = None  # how they were counted
    share_big: float | None = None  # share of the probe at the largest size, side by side (median of pairs)
    share_one: float | None = None  # the same on one thread
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
    t["share_big"] = select.paired_share(results, rung, s.big)
    t["share_one"] = select.paired_share(results, rung, s.big, threads="one")
    return t


def _other(results: Results, rung: str) -> dict:
    """Compile time, memory, threads, and the largest size at which the rung ran."""
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


def rung_facts(results: Results) -> dict[str, RungFacts]:
    """Every rung of the run's ladder (absent ones with no numbers), then any other rung the run has."""
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
    return out


def probe(results: Results) -> RungFacts:
    """The roofline probe's reads at the lesson's sizes, as a rung's facts."""
    s = sizes(results)
    return RungFacts(
        name=ROOFLINE,
        present=True,
        t_big=_t(results, ROOFLINE, s.big),
        t_big_one=_t(results, ROOFLINE, s.big, threads="one"),
        t64=_t(results, ROOFLINE, s.axis32),
    )


def beats_probe(results: Results) -> bool:
    """Whether any rung read X faster than the probe at an out-of-cache size (a share above 100%)."""
    for m, n in select.out_of_cache_sizes(results):
        probe_s = select.t_epoch(results, ROOFLINE, m, n)
        for r in select.rung_order(results):
            share = ratio(probe_s, select.t_epoch(results, r, m, n))
            if share is not None and share > 1.005:
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
    }


def probe_order(results: Results) -> dict | None:
    """Whether the probe's read depends on what ran before it, in the side-by-side benchmarks.

    Their pairs alternate which goes first, so the probe reads X before the epoch in one round
    and right after it in the next. Per benchmark, each read after an epoch over its neighbours
    before one (``alternating``: a drift of the machine cancels); the benchmark
    where that ratio lies furthest from 1, and how many lie beyond a tenth.
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
        "beyond_tenth": sum(abs(r.estimate - 1) > 0.10 for r, _ in found),
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
    return {
        "cache_size": (m_cache, n),
        "rung": rung,
        "big_size": big,
        "arithmetic_row_s": arithmetic,
        "memory_row_s": memory,
        "epoch_row_s": epoch,
        "sum_row_s": arithmetic + memory,
        "arithmetic_share": arithmetic / memory,
        "hidden": (arithmetic + memory - epoch) / arithmetic,
    }


def gains(results: Results, size, slow: tuple[str, str], fast: tuple[str, str]) -> list[tuple[str, float]]:
    """Each rung's (and the probe's) time at ``slow`` (dtype, threads) over its time at ``fast``."""
    if size is None:
        return []
    out = []
    for rung in (*select.rung_order(results), ROOFLINE):
        t_slow = select.t_epoch(results, rung, *size, *slow)
        t_fast = select.t_epoch(results, rung, *size, *fast)
        if t_slow and t_fast:
            out.append((rung, t_slow / t_fast))
    return out


def compile_costs(results: Results) -> list[dict]:
    """Each JIT rung's cold compile (float64, best round) and the epochs it takes to repay it."""
    jit = results.jit[results.jit["dtype"] == "float64"]
    out = []
    for rung in [r for r in select.rung_order(results) if r in set(jit["rung"])]:
        seconds = float(jit[jit["rung"] == rung]["min_s"].iat[0])
        epochs = select.break_even_epochs(results, rung, seconds).dropna()
        last = (float(epochs.iat[-1]), int(epochs.index[-1])) if not epochs.empty else (None, None)
        out.append({"rung": rung, "seconds": seconds, "epochs": last[0], "m": last[1]})
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


def first_fit(results: Results) -> dict | None:
    """A new process's first fit of the planned rung: seconds (best round) and size."""
    warm = results.kind("first_fit")
    if warm.empty:
        return None
    row = warm.iloc[0]
    return {"seconds": float(row["min_s"]), "size": (int(row["m"]), int(row["n"]))}


def _int_or_none(value) -> int | None:
    return None if value is None or value != value else int(value)


def optimum(results: Results) -> list[dict]:
    """Per size: each way to the optimum, its steps and evaluations, its wall time and time per step
    (fastest first), and how the tolerance was meant (relative, or in runs before that was recorded,
    cost - optimum <= tolerance * max(1, optimum))."""
    out = []
    for (m, n), here in results.optimum.groupby(["m", "n"]):
        ways = [
            {
                "method": r.method,
                "rung": r.rung,
                "steps": int(r.steps),
                "evaluations": _int_or_none(r.evaluations),
                "seconds": float(r.min_s),
            }
            for r in here.sort_values("min_s").itertuples()
        ]
        for way in ways:
            way["per_step"] = way["seconds"] / max(way["steps"], 1)
        first = here.iloc[0]
        out.append(
            {
                "size": (int(m), int(n)),
                "ways": ways,
                "tolerance": float(first["tolerance"]),
                "relative": first["relative"] in (True,),  # a bool, or None in runs before it was recorded
                "optimum": float(first["optimum"]),
            }
        )
    return out


def rounds(results: Results) -> dict:
    """Rounds of the paired benchmarks (most), and of the races ("40", or "12 to 200")."""
    races = sorted({e["race_rounds"] for e in results.head_to_head})
    return {
        "paired_rounds": int(results.paired["rounds"].max()) if not results.paired.empty else None,
        "race_rounds": "" if not races else f"{races[0]}" + (f" to {races[-1]}" if len(races) > 1 else ""),
    }


def curve(results: Results) -> dict | None:
    """The cost-against-time record: how long each rung takes to train to the tolerance, by its
    time per epoch at that size, and how long L-BFGS took."""
    if not results.curves:
        return None
    c = results.curves[0]
    size, epochs = (c["m"], c["n"]), len(c["descent_costs"])
    ways = []
    for rung in select.rung_order(results):
        t = select.t_epoch(results, rung, *size)
        if t is not None:
            ways.append({"rung": rung, "epoch_s": t, "train_s": t * epochs})
    # Rungs more than 5% slower than some rung below them on the ladder: their curves sit right of it.
    behind = [
        w["rung"]
        for i, w in enumerate(ways)
        if i and w["epoch_s"] > 1.05 * min(v["epoch_s"] for v in ways[:i])
    ]
    return {
        "size": size,
        "epochs": epochs,
        "tolerance": c["tolerance"],
        "optimum": c["optimum"],
        "first_cost": c["descent_costs"][0],
        "ways": ways,
        "behind": behind,
        "lbfgs_s": c["lbfgs_times_s"][-1] if c["lbfgs_times_s"] else None,
        "lbfgs_iterations": len(c["lbfgs_costs"]),
    }


def teaching_code(steps: list[RungFacts], leave_out: tuple[str, ...] = ()) -> list[RungFacts]:
    """The steps of a page with each one's code and, after it, the helpers it calls that no earlier
    step of the page showed; ``shown_above`` names the others. Helpers named in ``leave_out`` (by
    their last name) are not listed: the page describes them and names their file."""
    shown: set[str] = set()
    out = []
    for facts in steps:
        new = [
            (name, code)
            for name, code in facts.helpers
            if name not in shown and name.rsplit(".", 1)[-1] not in leave_out
        ]
        above = [name.rsplit(".", 1)[-1] for name, _ in facts.helpers if name in shown]
        shown |= {name for name, _ in facts.helpers}
        blocks = [block for block in facts.code.split("\n\n\n") if _defines(block) not in leave_out]
        code = "\n\n\n".join([*blocks, *(code for _, code in new)]) if facts.code else ""
        out.append(replace(facts, code=code, shown_above=above))
    return out


def _defines(block: str) -> str | None:
    """The name of the function a block of source defines (after its decorators), if it is one."""
    found = re.search(r"^def (\w+)\(", block, re.M)
    return found.group(1) if found else None


def ns_per_multiply_add(results: Results) -> tuple[list[tuple[str, float, tuple[int, int]]], float | None]:
    """Each one-process rung's nanoseconds per multiply-add (an epoch does 2 m n of them: X @ w, then
    X.T @ error) at the largest m of the m sweep it ran, and the floor that the probe's read of X
    sets there: one read of X per epoch and no arithmetic at all."""
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
        return out, None
    row = probe.loc[probe["m"].idxmax()]
    return out, float(row["time_per_epoch_s"]) / (2 * int(row["m"]) * int(row["n"])) * 1e9
