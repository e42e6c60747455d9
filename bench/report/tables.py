"""The lesson's tables, as Markdown, built from one run. Rows come from the data, never from a list of labels."""

from __future__ import annotations

from importlib import import_module
from pathlib import Path

import numpy as np

from bench.report import rungs, select
from bench.report.charts import setting
from bench.report.facts import RungFacts
from bench.report.fmt import fmt_bytes, fmt_pct, fmt_size, fmt_time, fmt_x, ratio, table
from bench.report.load import Results
from bench.schema import ROOFLINE
from impls import BASELINE, PLANNED


def ladder(results: Results, facts_by_rung: dict[str, RungFacts]) -> str:
    psize, bsize = select.python_size(results), select.big_size(results)
    headers = ["rung", "what it is"]
    if psize:
        headers += [f"time/epoch at {fmt_size(psize)}", f"speedup over {BASELINE}"]
    if bsize:
        headers += [f"time/epoch at {fmt_size(bsize)}", "share of the roofline"]
    rows = []
    for facts in (f for f in facts_by_rung.values() if f.present):
        row = [f"`{facts.name}`", facts.summary]
        if psize:
            t = facts.t_python
            row += [fmt_time(t) if t else "not measured", fmt_x(ratio(facts_by_rung[BASELINE].t_python, t))]
        if bsize:
            row += [
                fmt_time(facts.t_big) if facts.t_big else "skipped (over the time budget)",
                fmt_pct(facts.share_big),
            ]
        rows.append(row)
    return table(rows, headers)


def crossovers(results: Results) -> str:
    rows = [
        [
            f"`{rung}`",
            ", ".join(f"{m:,}" for m in wins) or "none",
            ", ".join(f"{m:,}" for m in loses) or "none",
        ]
        for rung, wins, loses in select.crossovers(results)
    ]
    return table(rows, ["rung", f"faster than `{select.REFERENCE}` at m =", "slower at m ="]) if rows else ""


def _threaded(results: Results, rows) -> list[str]:
    """The rungs that run on every core, in ladder order, among those in ``rows``."""
    here = set(rows["rung"])
    return [
        r for r in select.rung_order(results) if r in here and (info := rungs.info(r)) and info.uses_threads
    ]


def memory_limit(results: Results) -> str:
    """Rung ÷ probe at every float64 size whose X does not fit in the last-level cache."""
    d = results.descent[results.descent["threads_setting"] == "all"]
    sizes = select.out_of_cache_sizes(results)
    rungs = _threaded(results, d[d["m"].isin([m for m, _ in sizes])])
    rows = []
    for m, n in sizes:
        probe = select.t_epoch(results, ROOFLINE, m, n)
        if probe is None:
            continue
        probe_median = select.t_epoch(results, ROOFLINE, m, n, column="median_per_epoch_s")
        cells = []
        for r in rungs:
            best = ratio(probe, select.t_epoch(results, r, m, n))
            median = ratio(probe_median, select.t_epoch(results, r, m, n, column="median_per_epoch_s"))
            cells.append(f"{fmt_pct(best)} ({fmt_pct(median)})")
        rows.append([fmt_size((m, n)), fmt_bytes(m * n * 8), *cells])
    return table(rows, ["size", "X", *[f"`{r}`" for r in rungs]]) if rows else ""


def beats_probe(results: Results) -> bool:
    """Whether any rung read X faster than the probe at an out-of-cache size (a share above 100%)."""
    for m, n in select.out_of_cache_sizes(results):
        probe = select.t_epoch(results, ROOFLINE, m, n)
        for r in select.rung_order(results):
            share = ratio(probe, select.t_epoch(results, r, m, n))
            if share is not None and share > 1.005:
                return True
    return False


PAIRED_SETTINGS = [("float64", "all"), ("float32", "all"), ("float64", "one")]


def paired(results: Results) -> str:
    """Shares of the probe measured side by side: median of the pairs (middle half in brackets)."""
    p = results.paired
    if p.empty:
        return ""
    sizes = sorted({(int(r.m), int(r.n)) for r in p.itertuples()}, key=lambda mn: (mn[0] * mn[1], mn[1]))
    names = [r for r in select.rung_order(results) if r in set(p["rung"])]
    rows = []
    for (m, n), (dtype, threads) in ((size, s) for size in sizes for s in PAIRED_SETTINGS):
        here = p[(p["m"] == m) & (p["n"] == n) & (p["dtype"] == dtype) & (p["threads_setting"] == threads)]
        if here.empty:
            continue
        cells = []
        for rung in names:
            hit = here[here["rung"] == rung]
            row = None if hit.empty else hit.iloc[0]
            cells.append(
                ""
                if row is None
                else f"{fmt_pct(row.share_median)} ({fmt_pct(row.share_q25)}–{fmt_pct(row.share_q75)})"
            )
        rows.append([_point_label(m, n, dtype, threads), *cells])
    return table(rows, ["size, dtype, threads", *[f"`{r}`" for r in names]])


def same_rounds(results: Results) -> str:
    """Shares of the probe from the races, where the probe ran in the same rounds as every rung."""
    races = [e for e in results.head_to_head if e.get("probe_share_median")]
    if not races:
        return ""
    names = [r for r in select.rung_order(results) if any(r in e["probe_share_median"] for e in races)]
    rows = []
    for e in sorted(races, key=lambda e: (-e["m"] * e["n"], e["dtype"], e["threads_setting"])):
        shares, low, high = e["probe_share_median"], e["probe_share_q25"], e["probe_share_q75"]
        cells = [
            f"{fmt_pct(shares[r])} ({fmt_pct(low[r])}–{fmt_pct(high[r])})" if r in shares else ""
            for r in names
        ]
        rows.append([_point_label(e["m"], e["n"], e["dtype"], e["threads_setting"]), *cells])
    return table(rows, ["size, dtype, threads", *[f"`{r}`" for r in names]])


def _point_label(m: int, n: int, dtype: str, threads: str) -> str:
    return f"{fmt_size((m, n))}, {dtype}, {'1 thread' if threads == 'one' else 'all threads'}"


def tuning(results: Results) -> str:
    rows = []
    for e in select.tuning_entries(results):
        land = e["landscape_best_s"]
        fastest, slowest = min(land, key=land.get), max(land, key=land.get)
        rows.append(
            [
                f"{fmt_size((e['m'], e['n']))}, {setting(e)}",
                f"`{e['tuning_choice']}` ({e['tuning_rounds']} rounds, {e['tuning_measuring_s']:.1f} s)"
                + _against_estimate(e),
                f"`{fastest}` {fmt_time(land[fastest])}",
                f"`{e['plan']}` {fmt_pct(land[fastest] / land[e['plan']])}",
                f"`{slowest}` {fmt_pct(land[fastest] / land[slowest])}",
            ]
        )
    headers = [
        "size, setting",
        "chosen on the tuning data (timing)",
        "fastest here",
        "the plan here",
        "slowest here",
    ]
    return table(rows, headers) if rows else ""


def _against_rule_of_thumb(e: dict) -> str | None:
    """How a tuning race ended against the rule of thumb: the race chose it ("same"), chose another
    that beat it ("replaced"), or chose another that could not show it was faster, so that the rule
    of thumb was kept ("kept"). None where the run did not record it."""
    if "tuning_estimate" not in e:
        return None
    if e["tuning_challenger"] == e["tuning_estimate"]:
        return "same"
    return "kept" if e["tuning_choice"] == e["tuning_estimate"] else "replaced"


def _against_estimate(e: dict) -> str:
    """The tuning table's note on :func:`_against_rule_of_thumb` ("" where the run did not record it)."""
    way, p = _against_rule_of_thumb(e), e.get("tuning_sign_test_p")
    if way is None:
        return ""
    if way == "same":
        return ": the rule of thumb"
    if way == "kept":
        return f": the rule of thumb, kept against `{e['tuning_challenger']}` (p = {p:.2f})"
    return f": beat the rule of thumb `{e['tuning_estimate']}` (p = {p:.2g})"


def _side_by_side(results: Results, m: int, n: int, dtype: str, threads: str) -> str:
    """The planned rung's paired share of the probe against the best other rung's ("" if unmeasured)."""
    p = results.paired
    here = p[(p["m"] == m) & (p["n"] == n) & (p["dtype"] == dtype) & (p["threads_setting"] == threads)]
    mine, others = here[here["rung"] == PLANNED], here[here["rung"] != PLANNED]
    if mine.empty or others.empty:
        return ""
    best = others.loc[others["share_median"].idxmax()]
    share = float(mine["share_median"].iat[0])
    return f"{fmt_pct(share)} against `{best.rung}` {fmt_pct(best.share_median)}: {fmt_pct(share / best.share_median)}"


#: How far the planned rung may trail the fastest other rung and still count as keeping up with it.
KEEPS_UP = 0.95


def _race(results: Results, m: int, n: int, dtype: str, threads: str) -> dict | None:
    """The race of the planned rung against the ladder at this point (None where none ran)."""
    return next(
        (
            e
            for e in results.head_to_head
            if (e["m"], e["n"], e["dtype"], e["threads_setting"]) == (m, n, dtype, threads)
        ),
        None,
    )


def _hardest(race: dict) -> tuple[str, float]:
    """(the other rung hardest to beat, median over rounds of its epoch / the planned rung's)."""
    ratios = race["ratio_median"]
    hardest = min(ratios, key=ratios.get)
    return hardest, float(ratios[hardest])


def _same_rounds(results: Results, m: int, n: int, dtype: str, threads: str) -> str:
    race = _race(results, m, n, dtype, threads)
    if race is None:
        return ""
    hardest, ratio = _hardest(race)
    spread = f"{fmt_pct(race['ratio_q25'][hardest])}–{fmt_pct(race['ratio_q75'][hardest])}"
    return f"`{hardest}` {fmt_pct(ratio)} ({spread}, {race['race_rounds']} rounds)"


def keeping_up(results: Results) -> dict:
    """Over the races: at how many points the planned rung kept within KEEPS_UP of every other rung."""
    points = []
    for e in sorted(results.head_to_head, key=lambda e: (e["dtype"], e["threads_setting"], e["n"], e["m"])):
        hardest, ratio = _hardest(e)
        where = _point_label(e["m"], e["n"], e["dtype"], e["threads_setting"])
        points.append({"where": where, "rung": hardest, "ratio": ratio, "kept_up": ratio >= KEEPS_UP})
    return {"points": points, "kept_up": sum(p["kept_up"] for p in points), "threshold": KEEPS_UP}


def plans(results: Results) -> str:
    """Every point of the planned rung: its plan, its time, and the fastest other rung there."""
    d = results.kind("descent")
    rows = []
    for r in d[d["rung"] == PLANNED].sort_values(["dtype", "threads_setting", "n", "m"]).itertuples():
        other = select.fastest(results, r.m, r.n, r.dtype, r.threads_setting, exclude=(PLANNED,))
        if other is None:
            continue
        t_other = select.t_epoch(results, other, r.m, r.n, r.dtype, r.threads_setting)
        threads = "1" if r.threads_setting == "one" else str(int(r.threads))
        rows.append(
            [
                fmt_size((int(r.m), int(r.n))),
                r.dtype,
                threads,
                f"`{r.plan}`" if r.plan else "?",
                fmt_time(r.time_per_epoch_s),
                f"`{other}` {fmt_time(t_other)}",
                fmt_pct(t_other / r.time_per_epoch_s),
                _side_by_side(results, int(r.m), int(r.n), r.dtype, r.threads_setting),
                _same_rounds(results, int(r.m), int(r.n), r.dtype, r.threads_setting),
            ]
        )
    headers = [
        "size",
        "dtype",
        "threads",
        "plan",
        PLANNED,
        "fastest other rung",
        "share",
        "side by side: share of the probe",
        "same rounds: hardest other rung",
    ]
    return table(rows, headers) if rows else ""


def rule_of_thumb_plans(results: Results) -> tuple[int, int]:
    """(points whose plan was the estimate, points with a plan) for the planned rung."""
    d = results.kind("descent")
    tuned = d[(d["rung"] == PLANNED) & d["plan"].notna() & (d["plan"] != "")]
    estimate = import_module(f"impls.{PLANNED}").estimate  # a label is its module's name
    same = [r for r in tuned.itertuples() if r.plan == estimate(int(r.n), r.dtype).name]
    return len(same), len(tuned)


def plan_classes(results: Results) -> dict[str, list[str]]:
    """The planned rung's plans by data class ("cache", "llc", "memory"), where the run recorded the class."""
    d = results.kind("descent")
    if "plan_data" not in d.columns:
        return {}
    tuned = d[(d["rung"] == PLANNED) & d["plan_data"].notna() & d["plan"].notna()]
    return {
        cls: sorted(set(tuned[tuned["plan_data"] == cls]["plan"])) for cls in sorted(set(tuned["plan_data"]))
    }


def rule_of_thumb_kept(results: Results) -> dict[str, int] | None:
    """How many of the tuning races at the axis sizes ended each way against the rule of thumb
    (:func:`_against_rule_of_thumb`), and how many there were ("measured"). None if not recorded."""
    ways = [way for way in map(_against_rule_of_thumb, results.tuning) if way is not None]
    if not ways:
        return None
    return {"measured": len(ways), **{way: ways.count(way) for way in ("same", "kept", "replaced")}}


def instruction_counts(results: Results) -> str:
    d = results.kind("descent")
    counted = d[d["simd_packed_ops"].notna() & (d["dtype"] == "float64")]
    rows = []
    for rung in select.rung_order(results):
        mine = counted[counted["rung"] == rung]
        if not mine.empty:
            rows.append(
                [f"`{rung}`", int(mine["simd_packed_ops"].iat[0]), int(mine["simd_scalar_ops"].iat[0])]
            )
    headers = ["compiled rung (float64)", "packed (SIMD) FP instructions", "scalar FP instructions"]
    return table(rows, headers) if rows else ""


def epoch_passes(facts_by_rung: dict[str, RungFacts]) -> str:
    """What each peer's framework reported its epoch does, where the run counted it."""
    rows = [
        [
            f"`{f.name}`",
            f"{f.ops_per_epoch:g}",
            f"{f.x_reads:g}",
            "not reported" if f.x_writes is None else f"{f.x_writes:g}",
            f"{f.m_reads:g}",
            f.ops_traced,
        ]
        for f in facts_by_rung.values()
        if f.present and f.ops_traced
    ]
    headers = ["rung", "operations", "X-sized reads", "X-sized writes", "m-long reads", "counted from"]
    return table(rows, headers) if rows else ""


def memory(results: Results) -> str:
    mem = results.memory
    rows = []
    for rung in select.rung_order(results):
        hit = mem[mem["rung"] == rung]
        if not hit.empty:
            row = hit.iloc[0]
            rows.append([f"`{rung}`", fmt_bytes(row["peak_bytes"]), f"{row['m_arrays']:.2f}", row["traced"]])
    headers = ["rung", "peak beyond X and y", "in m-long arrays", "what was traced"]
    return table(rows, headers) if rows else ""


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


def findings_text() -> str:
    """bench/FINDINGS.md: what the investigation found (words only; the numbers are the run's)."""
    path = Path(__file__).resolve().parents[1] / "FINDINGS.md"
    return path.read_text() if path.exists() else ""


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
    """Each JIT rung's cold compile (float64, median round) and the epochs it takes to repay it."""
    jit = results.jit[results.jit["dtype"] == "float64"]
    out = []
    for rung in [r for r in select.rung_order(results) if r in set(jit["rung"])]:
        seconds = float(jit[jit["rung"] == rung]["median_s"].iat[0])
        epochs = select.break_even_epochs(results, rung, seconds).dropna()
        last = (float(epochs.iat[-1]), int(epochs.index[-1])) if not epochs.empty else (None, None)
        out.append({"rung": rung, "seconds": seconds, "epochs": last[0], "m": last[1]})
    return out


def measuring_seconds(results: Results) -> float | None:
    """The longest first use of the planner at the run's axis sizes: data, warm-up and timing."""
    spent = [
        e["tuning_data_s"] + (e["tuning_warmup_s"] or 0.0) + e["tuning_measuring_s"] for e in results.tuning
    ]
    return max(spent) if spent else None


def optimum(results: Results) -> list[dict]:
    """Per size: each way to the optimum, its steps, its wall time and time per step (fastest first)."""
    rows = results.optimum
    out = []
    for (m, n), here in rows.groupby(["m", "n"]):
        ways = [
            {"method": r.method, "rung": r.rung, "steps": int(r.steps), "seconds": float(r.min_s)}
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
                "optimum": float(first["optimum"]),
            }
        )
    return out


def optimum_table(points: list[dict]) -> str:
    """The ways to the optimum as a table: steps, wall time, time per step."""
    rows = [
        [
            fmt_size(p["size"]),
            f"`{w['rung']}` ({w['method']})",
            f"{w['steps']:,}",
            fmt_time(w["seconds"]),
            fmt_time(w["per_step"]),
        ]
        for p in points
        for w in p["ways"]
    ]
    return table(rows, ["size", "way", "epochs or iterations", "wall time", "per step"]) if rows else ""


def hidden_arithmetic(results: Results) -> dict | None:
    """How much of the planned rung's arithmetic its epoch hid behind the reads of X, per row.

    Per row, float64 on all threads, at n_fixed: the planned rung's epoch where X sits in the
    last-level cache (at most half of it, the largest such m of the m sweep: the arithmetic with
    the data close by); at the largest size, the probe's read (the memory's time) and the planned
    rung's epoch, both from the side-by-side benchmark (best pair rounds), so that the two were
    timed in the same moments. An epoch that hid all its arithmetic would take the probe's time;
    one that hid none, the sum of the two.
    """
    big = select.big_size(results)
    sweep = select.m_sweep(results)
    mine = sweep[sweep["rung"] == PLANNED]
    in_cache = mine[mine["bytes_x"] <= select.last_level_cache(results.machine) / 2]
    if big is None or in_cache.empty:
        return None
    m_cache, (m_big, n) = int(in_cache["m"].max()), big
    p = results.paired
    side = p[(p["rung"] == PLANNED) & (p["m"] == m_big) & (p["n"] == n) & (p["dtype"] == "float64")]
    side = side[side["threads_setting"] == "all"]
    row = select.at(results, PLANNED, m_cache, n)  # the in-cache epoch, and the candidate that ran it
    if row is None or side.empty or m_cache >= m_big:
        return None
    arithmetic = float(row["time_per_epoch_s"]) / m_cache
    plan = row.get("plan")
    memory = float(side["probe_best_s"].iat[0]) / m_big
    epoch = float(side["epoch_best_s"].iat[0]) / m_big
    return {
        "cache_size": (m_cache, n),
        "plan": plan if isinstance(plan, str) and plan else None,  # None in runs that did not record it
        "big_size": big,
        "arithmetic_row_s": arithmetic,
        "memory_row_s": memory,
        "epoch_row_s": epoch,
        "sum_row_s": arithmetic + memory,
        "arithmetic_share": arithmetic / memory,
        "hidden": (arithmetic + memory - epoch) / arithmetic,
    }
