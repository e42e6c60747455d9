"""Turn a benchmark results file into the lesson in reports/: charts, a CSV and README.md.

    python -m bench.report reports/results.json --out reports/

A pure function of the results file: nothing is timed here. Every number in the lesson
is computed from the file; the code excerpts are read from impls/ at generation time and
checked against the source digest the benchmark recorded.
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import sys
import textwrap
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from tabulate import tabulate

from impls import IMPLEMENTATIONS, LABEL_ALIASES, numba_tuned
from impls._common import source_digest

ROOFLINE = "roofline"
BEST_ROUND = (
    "Every time in this lesson is the best of a benchmark's timed rounds, per epoch. Other work on the "
    "machine only ever adds time, and on a shared machine it can slow every round of one benchmark for a "
    "minute or more, so the fastest round is the closest to what the code itself costs."
)
# Okabe & Ito's colour-blind-safe palette; black is kept for the roofline probe.
OKABE_ITO = ["#E69F00", "#56B4E9", "#009E73", "#CC79A7", "#0072B2", "#D55E00", "#999999", "#F0E442"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]


class ResultsError(Exception):
    """The results file cannot be used; the message says why and what to do."""


@dataclass
class Results:
    table: pd.DataFrame  # one row per benchmark: the tidy table
    machine: dict
    profile: dict
    datetime: str
    source_digest: str | None
    path: Path
    tuning: list[dict] = field(default_factory=list)  # extra_info of each numba_tuned tuning benchmark
    gaps: list[str] = field(default_factory=list)

    @property
    def descent(self) -> pd.DataFrame:
        return self.table[self.table["kind"].isin(["descent", "roofline"])]

    @property
    def jit(self) -> pd.DataFrame:
        return self.table[self.table["kind"] == "jit"]

    @property
    def paired(self) -> pd.DataFrame:
        return self.table[self.table["kind"] == "paired"]


# --------------------------------------------------------------------------- loading


def load(path: str | Path) -> Results:
    """Read a pytest-benchmark JSON file into a tidy table; ResultsError if it cannot be used."""
    path = Path(path)
    if not path.exists():
        raise ResultsError(
            f"results file {path} does not exist. Make one with `tox -e bench` or "
            f"`pytest --benchmark-only --benchmark-json={path}`."
        )
    text = path.read_text()
    if not text.strip():
        raise ResultsError(f"results file {path} is empty: the benchmark run that wrote it did not finish.")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ResultsError(
            f"results file {path} is not valid JSON ({exc.msg} at line {exc.lineno})."
        ) from None
    if not isinstance(raw, dict) or not isinstance(raw.get("benchmarks"), list):
        raise ResultsError(
            f"results file {path} is not a pytest-benchmark results file: no 'benchmarks' list."
        )
    rows = [row for bench in raw["benchmarks"] if (row := _tidy_row(bench)) is not None]
    if not rows:
        raise ResultsError(
            f"results file {path} holds no benchmark of this suite (no 'extra_info' with a 'kind'); "
            "was it written by `pytest --benchmark-only` in this repository?"
        )
    machine = raw.get("machine_info") if isinstance(raw.get("machine_info"), dict) else {}
    table = pd.DataFrame(rows)
    per_epoch = table["epochs"].clip(lower=1)
    # The best round, not the median: on a shared machine other work only ever adds time, and
    # a disturbance of a minute or two can move every round of one point (see BEST_ROUND).
    table["time_per_epoch_s"] = table["min_s"] / per_epoch
    table["median_per_epoch_s"] = table["median_s"] / per_epoch
    table["bandwidth_gb_s"] = table["bytes_x"] / table["time_per_epoch_s"] / 1e9
    return Results(
        table=table,
        machine=machine,
        profile=machine.get("bench_profile") or {},
        datetime=str(raw.get("datetime", "unknown date")),
        source_digest=machine.get("impls_source_digest"),
        path=path,
        tuning=[
            b["extra_info"] for b in raw["benchmarks"] if (b.get("extra_info") or {}).get("kind") == "tuning"
        ],
    )


def _tidy_row(bench: dict) -> dict | None:
    info = bench.get("extra_info") if isinstance(bench, dict) else None
    stats = bench.get("stats") if isinstance(bench, dict) else None
    if not isinstance(info, dict) or "kind" not in info or not isinstance(stats, dict):
        return None
    try:
        row = {
            "kind": str(info["kind"]),
            # results files of earlier versions name some rungs by their old labels
            "rung": LABEL_ALIASES.get(str(info["rung"]), str(info["rung"]))
            if info["kind"] != "roofline"
            else ROOFLINE,
            "m": int(info["m"]),
            "n": int(info["n"]),
            "dtype": str(info["dtype"]),
            "epochs": int(info.get("epochs", 1)),
            "threads": int(info.get("threads", 1)),
            "threads_setting": str(info.get("threads_setting", "all")),
            "bytes_x": int(info.get("bytes_x", 0)),
            "median_s": float(stats["median"]),
            "q1_s": float(stats["q1"]),
            "q3_s": float(stats["q3"]),
            "min_s": float(stats["min"]),
            "rounds": int(stats["rounds"]),
            "max_rel_error": float(info.get("max_rel_error", math.nan)),
            "simd_packed_ops": float(info.get("simd_packed_ops", math.nan)),
            "simd_scalar_ops": float(info.get("simd_scalar_ops", math.nan)),
            "plan": str(info.get("plan", "")),
            "share_median": float(info.get("share_median", math.nan)),
            "share_q25": float(info.get("share_q25", math.nan)),
            "share_q75": float(info.get("share_q75", math.nan)),
        }
    except (KeyError, TypeError, ValueError):
        return None
    return row


# --------------------------------------------------------------------------- selections


def rung_order(results: Results) -> list[str]:
    """Registry order first, then any rung the file has that the registry no longer does."""
    present = set(results.descent["rung"]) | set(results.jit["rung"])
    known = [name for name in IMPLEMENTATIONS if name in present]
    return known + sorted(present - set(known) - {ROOFLINE})


def _style_index(results: Results, rung: str) -> int:
    """A rung's fixed place in the palette: its registry position, so colours agree across charts and runs."""
    names = list(IMPLEMENTATIONS) + sorted(set(rung_order(results)) - set(IMPLEMENTATIONS))
    return names.index(rung)


def colour(results: Results, rung: str) -> str:
    return "#000000" if rung == ROOFLINE else OKABE_ITO[_style_index(results, rung) % len(OKABE_ITO)]


def marker(results: Results, rung: str) -> str:
    return "" if rung == ROOFLINE else MARKERS[_style_index(results, rung) % len(MARKERS)]


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


def at(results: Results, rung: str, m: int, n: int, dtype: str = "float64", threads: str = "all"):
    """The row of one measurement, or None when this run did not measure it."""
    d = results.descent
    hit = d[
        (d["rung"] == rung)
        & (d["m"] == m)
        & (d["n"] == n)
        & (d["dtype"] == dtype)
        & (d["threads_setting"] == threads)
    ]
    return None if hit.empty else hit.iloc[0]


def t_epoch(
    results: Results,
    rung: str,
    m: int,
    n: int,
    dtype: str = "float64",
    threads: str = "all",
    column: str = "time_per_epoch_s",
):
    """Seconds per epoch of one benchmark: its best round (or ``column``), None if it did not run."""
    row = at(results, rung, m, n, dtype, threads)
    return None if row is None else float(row[column])


def big_size(results: Results) -> tuple[int, int] | None:
    """The largest size of the m sweep that the numpy rung reached: where bandwidth shows."""
    sweep = m_sweep(results)
    numpy_rows = sweep[sweep["rung"] == "numpy_vectorized"]
    if numpy_rows.empty:
        return None
    m = int(numpy_rows["m"].max())
    return m, int(numpy_rows["n"].iat[0])


def python_size(results: Results) -> tuple[int, int] | None:
    """The largest size of the m sweep at which the pure-Python rung ran: the speedup reference."""
    sweep = m_sweep(results)
    rows = sweep[sweep["rung"] == "python_loops"]
    if rows.empty:
        return None
    return int(rows["m"].max()), int(rows["n"].iat[0])


# --------------------------------------------------------------------------- formatting


def fmt_time(seconds: float | None) -> str:
    if seconds is None or not np.isfinite(seconds):
        return "n/a"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def fmt_x(ratio: float | None) -> str:
    if ratio is None or not np.isfinite(ratio):
        return "n/a"
    return f"{ratio:,.0f}×" if ratio >= 100 else f"{ratio:.3g}×"


def fmt_pct(fraction: float | None) -> str:
    return "n/a" if fraction is None or not np.isfinite(fraction) else f"{100 * fraction:.0f}%"


def fmt_size(m: int, n: int) -> str:
    return f"m = {m:,} × n = {n:,}"


def versus(t: float | None, other: float | None) -> str:
    """'2.1× faster than' or '1.3× slower than', whichever the two times say."""
    if t is None or other is None or t <= 0 or other <= 0:
        return "n/a against"
    return f"{fmt_x(other / t)} faster than" if t < other else f"{fmt_x(t / other)} slower than"


def ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def machine_footer(results: Results) -> str:
    mi = results.machine
    cpu = (mi.get("cpu") or {}).get("brand_raw") or mi.get("processor") or "unknown CPU"
    blas = _blas(mi)
    numba = mi.get("numba") or {}
    return (
        f"{cpu}, {mi.get('cpu_count', '?')} cores · BLAS: {blas} · Numba {numba.get('version', '?')}, "
        f"{numba.get('num_threads', '?')} threads ({numba.get('threading_layer') or 'layer ?'}) · "
        f"{results.datetime[:10]}"
    )


def _blas(machine: dict) -> str:
    pools = [p for p in machine.get("threadpoolctl") or [] if p.get("user_api") == "blas"]
    if not pools:
        return "unknown"
    p = pools[0]
    return f"{p.get('internal_api')} {p.get('version')} ({p.get('architecture')}), {p.get('num_threads')} threads"


# --------------------------------------------------------------------------- charts


def _new_figure(results: Results, title: str, xlabel: str, ylabel: str) -> tuple[Figure, plt.Axes]:
    fig, ax = plt.subplots(figsize=(8.5, 5.2), dpi=110)
    fig.subplots_adjust(left=0.11, right=0.74, top=0.9, bottom=0.17)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, which="major", alpha=0.3)
    fig.text(0.01, 0.015, machine_footer(results), fontsize=7, color="#444444")
    return fig, ax


def _legend(ax: plt.Axes) -> None:
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)


def _lines_by_rung(
    results: Results, sweep: pd.DataFrame, x: str, y: str, title: str, xlabel: str, ylabel: str, probe: str
) -> Figure:
    """One log-log line per rung (best round; for times, a band up to the median) and the probe dashed."""
    fig, ax = _new_figure(results, title, xlabel, ylabel)
    for rung in rung_order(results):
        rows = sweep[sweep["rung"] == rung].sort_values(x)
        if rows.empty:
            continue
        ax.plot(rows[x], rows[y], marker=marker(results, rung), color=colour(results, rung), label=rung)
        if y == "time_per_epoch_s":
            ax.fill_between(
                rows[x],
                rows["time_per_epoch_s"],
                rows["median_per_epoch_s"],
                color=colour(results, rung),
                alpha=0.2,
                linewidth=0,
            )
    rows = sweep[sweep["rung"] == ROOFLINE].sort_values(x)
    if not rows.empty:
        ax.plot(rows[x], rows[y], "k--", label=probe)
    ax.set_xscale("log")
    ax.set_yscale("log")
    _legend(ax)
    return fig


def plot_time_vs_m(results: Results) -> Figure | None:
    sweep = m_sweep(results)
    if sweep.empty:
        return None
    n = int(sweep["n"].iat[0])
    return _lines_by_rung(
        results,
        sweep,
        "m",
        "time_per_epoch_s",
        f"Time per epoch against m (n = {n}, float64)",
        "examples m",
        "time per epoch (s)",
        "roofline: read X once",
    )


def plot_speedup_over_python(results: Results) -> Figure | None:
    size = python_size(results)
    if size is None:
        return None
    m, n = size
    base = t_epoch(results, "python_loops", m, n)
    names, speedups = [], []
    for rung in rung_order(results):
        t = t_epoch(results, rung, m, n)
        if t is not None:
            names.append(rung)
            speedups.append(base / t)
    fig, ax = _new_figure(
        results, f"Speedup over python_loops at {fmt_size(m, n)}", "speedup (×, log scale)", ""
    )
    ax.barh(names[::-1], speedups[::-1], color=[colour(results, r) for r in names[::-1]])
    ax.set_xscale("log")
    for y, value in enumerate(speedups[::-1]):
        ax.text(value, y, f" {fmt_x(value)}", va="center", fontsize=8)
    fig.subplots_adjust(left=0.2, right=0.9)
    return fig


def plot_speedup_over_numpy(results: Results) -> Figure | None:
    sweep = m_sweep(results)
    base = sweep[sweep["rung"] == "numpy_vectorized"].set_index("m")["time_per_epoch_s"]
    if base.empty:
        return None
    n = int(sweep["n"].iat[0])
    fig, ax = _new_figure(
        results,
        f"Speedup over the numpy rung against m (n = {n}, float64)",
        "examples m",
        "speedup over numpy (×)",
    )
    for rung in rung_order(results):
        rows = sweep[sweep["rung"] == rung].set_index("m")["time_per_epoch_s"]
        common = rows.index.intersection(base.index).sort_values()
        if rung == "numpy_vectorized" or common.empty:
            continue
        ax.plot(
            common,
            base[common] / rows[common],
            marker=marker(results, rung),
            color=colour(results, rung),
            label=rung,
        )
    ax.axhline(1.0, color="black", linewidth=1)
    ax.text(base.index.min(), 1.0, " numpy_vectorized", va="bottom", fontsize=8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    _legend(ax)
    return fig


def plot_bandwidth(results: Results) -> Figure | None:
    sweep = m_sweep(results)
    if sweep.empty:
        return None
    n = int(sweep["n"].iat[0])
    return _lines_by_rung(
        results,
        sweep,
        "m",
        "bandwidth_gb_s",
        f"Effective bandwidth: bytes of X per epoch ÷ time (n = {n}, float64)",
        "examples m",
        "GB/s",
        "roofline probe",
    )


def plot_n_sweep(results: Results) -> Figure | None:
    sweep = n_sweep(results)
    if sweep.empty:
        return None
    m = int(sweep["m"].iat[0])
    return _lines_by_rung(
        results,
        sweep,
        "n",
        "time_per_epoch_s",
        f"Time per epoch against n (m = {m:,}, float64)",
        "features n",
        "time per epoch (s)",
        "roofline: read X once",
    )


def _axis_bars(
    results: Results, title: str, pairs: list[tuple[str, str, str]], size: tuple[int, int]
) -> Figure:
    """Grouped bars of time per epoch: one group per rung, one bar per (label, dtype, threads)."""
    m, n = size
    fig, ax = _new_figure(results, title, "", "time per epoch (s)")
    names = [
        r
        for r in [*rung_order(results), ROOFLINE]
        if any(t_epoch(results, r, m, n, d, th) for _, d, th in pairs)
    ]
    width = 0.8 / len(pairs)
    hatches = ["", "//"]
    for k, (label, dtype, threads) in enumerate(pairs):
        values = [t_epoch(results, r, m, n, dtype, threads) or 0.0 for r in names]
        xs = np.arange(len(names)) + (k - (len(pairs) - 1) / 2) * width
        ax.bar(
            xs,
            values,
            width,
            color=[colour(results, r) for r in names],
            hatch=hatches[k % 2],
            edgecolor=["white" if r == ROOFLINE else "black" for r in names],
            linewidth=0.5,
            label=label,
        )
    ax.set_xticks(np.arange(len(names)), names, rotation=30, ha="right")
    ax.set_yscale("log")
    fig.subplots_adjust(bottom=0.3)
    _legend(ax)
    return fig


def axis_size(results: Results, dtype: str = "float32", threads: str = "all") -> tuple[int, int] | None:
    """The size at which the run measured float32 (or one thread): the largest such size."""
    d = results.descent
    rows = d[(d["dtype"] == dtype) & (d["threads_setting"] == threads)]
    if rows.empty:
        return None
    best = rows.loc[(rows["m"] * rows["n"]).idxmax()]
    # Prefer the axis size of the profile whose n is the m sweep's n (1e6 x 100 in the default profile).
    n_fixed = results.profile.get("n_fixed")
    same_n = rows[rows["n"] == n_fixed]
    if not same_n.empty:
        best = same_n.loc[same_n["m"].idxmax()]
    return int(best["m"]), int(best["n"])


def plot_dtype(results: Results) -> Figure | None:
    size = axis_size(results, "float32", "all")
    if size is None:
        return None
    return _axis_bars(
        results,
        f"float32 against float64 at {fmt_size(*size)}",
        [("float64", "float64", "all"), ("float32", "float32", "all")],
        size,
    )


def plot_threads(results: Results) -> Figure | None:
    size = axis_size(results, "float64", "one")
    if size is None:
        return None
    return _axis_bars(
        results,
        f"One thread against all at {fmt_size(*size)} (float64)",
        [("all threads", "float64", "all"), ("one thread", "float64", "one")],
        size,
    )


def break_even_epochs(results: Results, rung: str, compile_s: float) -> pd.Series:
    """Epochs after which compiling ``rung`` has paid for itself against numpy, at each m."""
    sweep = m_sweep(results)
    base = sweep[sweep["rung"] == "numpy_vectorized"].set_index("m")["time_per_epoch_s"]
    mine = sweep[sweep["rung"] == rung].set_index("m")["time_per_epoch_s"]
    common = base.index.intersection(mine.index).sort_values()
    saving = base[common] - mine[common]
    epochs = (compile_s / saving).where(saving > 0)
    return epochs


def plot_jit(results: Results) -> Figure | None:
    jit = results.jit[results.jit["dtype"] == "float64"]
    if jit.empty:
        return None
    fig, (ax_compile, ax_even) = plt.subplots(1, 2, figsize=(10, 4.8), dpi=110)
    fig.subplots_adjust(left=0.16, right=0.97, top=0.86, bottom=0.2, wspace=0.45)
    fig.suptitle("JIT compilation: its cost, and when it pays off against numpy")
    fig.text(0.01, 0.015, machine_footer(results), fontsize=7, color="#444444")
    names = [r for r in rung_order(results) if r in set(jit["rung"])]
    seconds = [float(jit[jit["rung"] == r]["median_s"].iat[0]) for r in names]
    ax_compile.barh(names[::-1], seconds[::-1], color=[colour(results, r) for r in names[::-1]])
    ax_compile.set_xlabel("compile time, first call (s)")
    ax_compile.set_title("compile time (float64)")
    for rung, compile_s in zip(names, seconds, strict=True):
        epochs = break_even_epochs(results, rung, compile_s).dropna()
        if not epochs.empty:
            ax_even.plot(
                epochs.index,
                epochs.values,
                marker=marker(results, rung),
                color=colour(results, rung),
                label=rung,
            )
    ax_even.set_xscale("log")
    ax_even.set_yscale("log")
    ax_even.set_xlabel("examples m")
    ax_even.set_ylabel("epochs to repay compilation")
    ax_even.set_title("break-even against numpy (n fixed)")
    ax_even.grid(True, alpha=0.3)
    if ax_even.lines:
        ax_even.legend(fontsize=8, frameon=False)
    return fig


def tuning_entries(results: Results, size: tuple[int, int] | None = None) -> list[dict]:
    """The tuning benchmarks' records (at ``size``, if given), float64 all threads first."""
    order = {("float64", "all"): 0, ("float32", "all"): 1, ("float64", "one"): 2}
    entries = [
        e
        for e in results.tuning
        if size is None or (int(e["m"]), int(e["n"])) == (int(size[0]), int(size[1]))
    ]
    return sorted(
        entries, key=lambda e: (-int(e["m"]) * int(e["n"]), order.get((e["dtype"], e["threads_setting"]), 3))
    )


def _setting(entry: dict) -> str:
    threads = "1 thread" if entry["threads_setting"] == "one" else f"{entry['threads']} threads"
    return f"{entry['dtype']}, {threads}"


def plot_tuning(results: Results) -> Figure | None:
    """numba_tuned's candidates at the main axis size: each one's speed as a share of the fastest's."""
    size = axis_size(results, "float64", "all")
    entries = tuning_entries(results, size) if size else []
    if not entries:
        return None
    fig, axes = plt.subplots(
        1, len(entries), figsize=(4.2 * len(entries), 5.6), dpi=110, sharey=True, layout="constrained"
    )
    axes = np.atleast_1d(axes)
    names = list(entries[0]["landscape_best_s"])
    for ax, entry in zip(axes, entries, strict=True):
        best = entry["landscape_best_s"]
        fastest = min(best.values())
        shares = [fastest / best[name] for name in names]
        colours = ["#0072B2" if name == entry["plan"] else "#999999" for name in names]
        ax.barh(names[::-1], shares[::-1], color=colours[::-1])
        ax.set_xlim(0, 1.08)
        ax.set_title(_setting(entry), fontsize=9)
        ax.set_xlabel("speed, share of the fastest candidate")
        ax.grid(True, axis="x", alpha=0.3)
    fig.suptitle(
        f"numba_tuned's candidates at {fmt_size(*size)}, timed interleaved on this data (blue: the plan used)",
        fontsize=10,
    )
    fig.supxlabel(machine_footer(results), fontsize=7, color="#444444")  # laid out below the axes
    return fig


CHARTS: dict[str, tuple[str, Callable[[Results], Figure | None]]] = {
    "time_vs_m": ("Time per epoch against m", plot_time_vs_m),
    "speedup_python": ("Speedup over python_loops", plot_speedup_over_python),
    "speedup_numpy": ("Speedup over numpy against m", plot_speedup_over_numpy),
    "bandwidth": ("Effective bandwidth against the roofline", plot_bandwidth),
    "n_sweep": ("The n sweep", plot_n_sweep),
    "dtype": ("float32 against float64", plot_dtype),
    "threads": ("One thread against all", plot_threads),
    "jit": ("JIT compile time and break-even", plot_jit),
    "tuning": ("numba_tuned's candidates, timed on this machine", plot_tuning),
}


# --------------------------------------------------------------------------- numerics demonstrations


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

    # The smallest logit at which float32 rounds sigmoid(z) to exactly 1.
    grid32 = np.arange(0, 40, 0.01, dtype=np.float32)
    p32 = (np.float32(1) / (np.float32(1) + np.exp(-grid32))).astype(np.float32)
    saturate32 = float(grid32[np.argmax(p32 == np.float32(1))])
    grid64 = np.arange(0, 60, 0.01)
    saturate64 = float(grid64[np.argmax(1.0 / (1.0 + np.exp(-grid64)) == 1.0)])

    # Summation order: the same million numbers summed front to back, and pairwise.
    values = np.random.default_rng(0).standard_normal(1_000_000)
    sequential = 0.0
    for v in values.tolist():
        sequential += v
    return {
        "z": z.tolist(),
        "naive_loss": naive_loss.tolist(),
        "stable_loss": stable_loss,
        "saturate32": saturate32,
        "saturate64": saturate64,
        "sum_sequential": sequential,
        "sum_pairwise": float(np.sum(values)),
        "sum_exact": math.fsum(values.tolist()),
    }


# --------------------------------------------------------------------------- the lesson


def source_of(rung: str) -> str:
    """The code of a rung's core functions, read from impls/ now."""
    parts = []
    for func in IMPLEMENTATIONS[rung].core:
        func = getattr(func, "py_func", func)
        parts.append(textwrap.dedent(inspect.getsource(func)))
    return "\n\n".join(parts).rstrip()


def per_multiply_add(results: Results, rung: str, m: int, n: int) -> float | None:
    """Seconds per multiply-add: each epoch does two per element of X (forward and gradient)."""
    t = t_epoch(results, rung, m, n)
    return None if t is None else t / (2 * m * n)


def crossovers(results: Results) -> list[list[str]]:
    """For each rung, the sizes of the m sweep where it is faster than numpy."""
    sweep = m_sweep(results)
    base = sweep[sweep["rung"] == "numpy_vectorized"].set_index("m")["time_per_epoch_s"]
    rows = []
    for rung in rung_order(results):
        if rung == "numpy_vectorized":
            continue
        mine = sweep[sweep["rung"] == rung].set_index("m")["time_per_epoch_s"]
        common = mine.index.intersection(base.index).sort_values()
        if common.empty:
            continue
        wins = [f"{m:,}" for m in common if mine[m] < base[m]]
        loses = [f"{m:,}" for m in common if mine[m] >= base[m]]
        rows.append([rung, ", ".join(wins) or "none", ", ".join(loses) or "none"])
    return rows


def ladder_table(results: Results) -> str:
    psize, bsize = python_size(results), big_size(results)
    headers = ["rung", "what it is"]
    if psize:
        headers += [f"time/epoch at {fmt_size(*psize)}", "speedup over python_loops"]
    if bsize:
        headers += [f"time/epoch at {fmt_size(*bsize)}", "share of the roofline"]
    probe = t_epoch(results, ROOFLINE, *bsize) if bsize else None
    rows = []
    for rung in rung_order(results):
        summary = (
            IMPLEMENTATIONS[rung].summary if rung in IMPLEMENTATIONS else "(not in the registry any more)"
        )
        row = [f"`{rung}`", summary]
        if psize:
            t = t_epoch(results, rung, *psize)
            row += [
                fmt_time(t) if t else "not measured",
                fmt_x(ratio(t_epoch(results, "python_loops", *psize), t)),
            ]
        if bsize:
            t = t_epoch(results, rung, *bsize)
            row += [fmt_time(t) if t else "skipped (over the time budget)", fmt_pct(ratio(probe, t))]
        rows.append(row)
    return tabulate(rows, headers=headers, tablefmt="github")


def _say(results: Results, topic: str, sentence: str, needed: list) -> str:
    """A sentence whose numbers all exist in this run, or else a labelled gap naming its topic."""
    if any(value is None for value in needed):
        results.gaps.append(f"{topic}: not measured in this run")
        return f"_(Not measured in this run: {topic}.)_"
    return sentence


def steps_section(results: Results) -> str:
    psize, bsize = python_size(results), big_size(results)
    out = []
    pm, pn = psize or (None, None)
    bm, bn = bsize or (None, None)
    T = lambda rung, m, n, *a: t_epoch(results, rung, m, n, *a) if m else None  # noqa: E731
    probe_big = T(ROOFLINE, bm, bn)

    # python_loops
    pma = per_multiply_add(results, "python_loops", pm, pn) if pm else None
    nma = per_multiply_add(results, "numba_loops", pm, pn) if pm else None
    out.append("### 1. `python_loops`: the interpreter's price\n")
    out.append(f"```python\n{source_of('python_loops')}\n```\n")
    out.append(
        _say(
            results,
            "python_loops against numba per multiply-add",
            f"Each multiply-add is one trip through the interpreter: at {fmt_size(pm, pn) if pm else ''} an epoch takes "
            f"{fmt_time(T('python_loops', pm, pn))}, {fmt_time(pma)} per multiply-add. The same loops compiled by Numba "
            f"(rung 5) take {fmt_time(nma)} per multiply-add, {fmt_x(ratio(pma, nma))} less: that factor is what the "
            "interpreter costs — boxing every float, dispatching every `+` and `*`, checking types on every step.",
            [pma, nma],
        )
    )

    # numpy_rowwise
    t_py, t_row = T("python_loops", pm, pn), T("numpy_rowwise", pm, pn)
    out.append("\n### 2. `numpy_rowwise`: one loop left\n")
    out.append(f"```python\n{source_of('numpy_rowwise')}\n```\n")
    out.append(
        _say(
            results,
            "numpy_rowwise against python_loops",
            f"The loop over features moves into NumPy, the loop over examples stays in Python: "
            f"{fmt_x(ratio(t_py, t_row))} faster than pure Python at {fmt_size(pm, pn) if pm else ''}. What remains is "
            f"a fixed cost per example — {fmt_time(ratio(t_row, pm) if pm else None)} per row — for calling into "
            "NumPy a few times (each call checks its arguments, allocates a result and returns to the interpreter). "
            "The shorter the rows, the larger the share of that fixed cost.",
            [t_py, t_row],
        )
    )

    # numpy
    t_np_p, t_np_b = T("numpy_vectorized", pm, pn), T("numpy_vectorized", bm, bn)
    out.append("\n### 3. `numpy_vectorized`: fully vectorized\n")
    out.append(f"```python\n{source_of('numpy_vectorized')}\n```\n")
    out.append(
        _say(
            results,
            "numpy against the loop rungs",
            f"No Python loop over the data: `X @ w` and `X.T @ error` run in BLAS with SIMD and threads, "
            f"{fmt_x(ratio(t_row, t_np_p))} faster than the row-wise rung and {fmt_x(ratio(t_py, t_np_p))} faster "
            f"than pure Python at {fmt_size(pm, pn) if pm else ''}.",
            [t_row, t_np_p],
        )
    )
    bw_np = ratio(probe_big, t_np_b)
    out.append(
        _say(
            results,
            "numpy against the roofline at the largest size",
            f" Yet at {fmt_size(bm, bn) if bm else ''} it reaches only {fmt_pct(bw_np)} of the roofline: each epoch "
            "reads X twice (once for the logits, once for the gradient) and makes several passes over m-long "
            "temporaries, so it cannot exceed half the machine's read rate.",
            [t_np_b, probe_big],
        )
    )

    # numpy_inplace
    t_in_b = T("numpy_inplace", bm, bn)
    out.append("\n### 4. `numpy_inplace`: no temporaries\n")
    out.append(f"```python\n{source_of('numpy_inplace')}\n```\n")
    if t_in_b is not None and t_np_b is not None:
        change = t_in_b / t_np_b - 1
        verdict = (
            f"{fmt_pct(-change)} faster than `numpy_vectorized`"
            if change < 0
            else f"{fmt_pct(change)} slower than `numpy_vectorized`"
        )
        out.append(
            f"Every buffer is allocated once and every ufunc writes with `out=`. At {fmt_size(bm, bn)} this rung is "
            f"{verdict}. Temporaries are not what limits the vectorized rung: the two reads of X are. "
            "Writing with `out=` saves allocations and page faults, but the in-place form needs a few more "
            "elementwise passes (the stable sigmoid costs several ufunc calls), each one a full trip through "
            "m-long arrays."
        )
    else:
        out.append(_say(results, "numpy_inplace against numpy at the largest size", "", [None]))

    # numba
    sweep = m_sweep(results)
    small_m = int(sweep["m"].min()) if not sweep.empty else None
    n_fixed = int(sweep["n"].iat[0]) if not sweep.empty else None
    t_nb_small, t_np_small = T("numba_loops", small_m, n_fixed), T("numpy_vectorized", small_m, n_fixed)
    # The largest size at which the serial loop ran (it may be over the time budget at bm).
    numba_ms = sweep[sweep["rung"] == "numba_loops"]["m"]
    nm = int(numba_ms.max()) if not numba_ms.empty else None
    t_nb_b, t_np_nm = T("numba_loops", nm, n_fixed), T("numpy_vectorized", nm, n_fixed)
    out.append("\n### 5. `numba_loops`: the same loops, compiled\n")
    out.append(f"```python\n{source_of('numba_loops')}\n```\n")
    out.append(
        _say(
            results,
            "numba against numpy at the smallest and largest sizes",
            f"Compiled, the loops of rung 1 cost {fmt_time(nma)} per multiply-add. At the smallest size, "
            f"{fmt_size(small_m, n_fixed) if small_m else ''}, they are {versus(t_nb_small, t_np_small)} the "
            f"vectorized rung ({fmt_time(t_nb_small)} against {fmt_time(t_np_small)} per epoch): a compiled loop "
            "makes no library calls, where a vectorized epoch makes a dozen. "
            f"At {fmt_size(nm, n_fixed) if nm else ''} they are {versus(t_nb_b, t_np_nm)} `numpy_vectorized` "
            f"({fmt_time(t_nb_b)} against {fmt_time(t_np_nm)}): the loops run on one core, and IEEE order forbids "
            "splitting the dot product's sum across SIMD lanes, while BLAS uses both.",
            [nma, t_nb_small, t_np_small, t_nb_b, t_np_nm],
        )
    )

    # numba_fused
    t_fus_b = T("numba_fused", bm, bn)
    t_fus_one = T("numba_fused", bm, bn, "float64", "one")
    out.append("\n### 6. `numba_fused`: fused, SIMD, all cores\n")
    out.append(f"```python\n{source_of('numba_fused')}\n```\n")
    threads = int(results.machine.get("numba_loops", {}).get("num_threads") or 0) or None
    out.append(
        _say(
            results,
            "numba_fused at the largest size, all threads and one",
            f"Three ideas at once. Fusion: each row is read from memory once and used twice while it sits in L1, "
            f"so X crosses the memory bus once per epoch instead of twice. SIMD: `fastmath` (reassociation) lets "
            f"LLVM split the dot product over vector lanes. Threads: chunks of rows run on all {threads} cores, each "
            f"chunk with its own gradient accumulator (no locks, and the same answer at any thread count). At "
            f"{fmt_size(bm, bn) if bm else ''}: {fmt_time(t_fus_b)} per epoch, {fmt_x(ratio(t_np_b, t_fus_b))} the "
            f"speed of `numpy_vectorized`, {fmt_pct(ratio(probe_big, t_fus_b))} of the roofline; one thread takes "
            f"{fmt_time(t_fus_one)}, so the second core is worth {fmt_x(ratio(t_fus_one, t_fus_b))}.",
            [t_fus_b, t_np_b, probe_big, t_fus_one],
        )
    )

    # numba_tiled
    t_tile_b = T("numba_tiled", bm, bn)
    out.append("\n### 7. `numba_tiled`: SIMD for exp and log1p too\n")
    out.append(f"```python\n{source_of('numba_tiled')}\n```\n")
    n_rows = n_sweep(results)
    short_n = int(n_rows["n"].min()) if not n_rows.empty else None
    m_fixed = int(n_rows["m"].iat[0]) if not n_rows.empty else None
    t_fus_short, t_tile_short = T("numba_fused", m_fixed, short_n), T("numba_tiled", m_fixed, short_n)
    out.append(
        _say(
            results,
            "numba_tiled against numba_fused at the largest size",
            f"Once the dot products are SIMD, the scalar `exp` and `log1p` of every example are a large part of "
            f"the compute. Computing them over a tile of rows, with polynomials LLVM can vectorize, brings an epoch "
            f"at {fmt_size(bm, bn) if bm else ''} to {fmt_time(t_tile_b)}, {versus(t_tile_b, t_fus_b)} "
            f"`numba_fused` and {fmt_pct(ratio(probe_big, t_tile_b))} of the roofline.",
            [t_tile_b, t_fus_b, probe_big],
        )
    )
    out.append(
        _say(
            results,
            "numba_tiled against numba_fused at the shortest rows",
            f" The shorter the rows, the more examples per byte, and the larger the share of the transcendental "
            f"functions: at {fmt_size(m_fixed, short_n) if m_fixed else ''} the tiled rung takes "
            f"{fmt_time(t_tile_short)} against {fmt_time(t_fus_short)}, {versus(t_tile_short, t_fus_short)} "
            "`numba_fused`.",
            [t_tile_short, t_fus_short],
        )
    )

    # numba_blocked
    t_par_b = T("numba_blocked", bm, bn)
    size32 = axis_size(results, "float32", "all")
    t_par_32 = T("numba_blocked", *size32, "float32") if size32 else None
    t_par_64 = T("numba_blocked", *size32) if size32 else None
    t_tile_32 = T("numba_tiled", *size32, "float32") if size32 else None
    t_tile_64 = T("numba_tiled", *size32) if size32 else None
    out.append("\n### 8. `numba_blocked`: blocks of rows in L1, the next rows prefetched\n")
    out.append(f"```python\n{source_of('numba_blocked')}\n```\n")
    t_par_one = T("numba_blocked", bm, bn, "float64", "one")
    t_tile_one = T("numba_tiled", bm, bn, "float64", "one")
    probe_one = T(ROOFLINE, bm, bn, "float64", "one")
    verdict = (
        ""
        if t_par_b and t_tile_b and t_par_b < t_tile_b
        else " In this run it did not pay off at this size with all threads; the one-thread "
        "figures and the table below show how it fares elsewhere."
    )
    out.append(
        _say(
            results,
            "numba_blocked against numba_tiled and numpy at the largest size",
            "A core can only have a few cache misses in flight, and its out-of-order window reaches only a row "
            "or two ahead when every row also carries gradient work: while `numba_tiled` computes a tile's loss "
            "and gradient, no new data is on its way. `numba_blocked` works on blocks of 4 to 16 rows that stay "
            "in L1 from their logits to their gradient, computes a block's loss and error as one SIMD vector, "
            "takes the dot products and the gradient four rows at a time (all three written directly as LLVM "
            "vector code: LLVM leaves loops that short scalar, or buries them in remainder loops), and asks "
            "for the next "
            "lines explicitly (software prefetch) a few KiB ahead, a little before every four rows. Its block size "
            "and prefetch distance come from a rule of thumb measured on one CPU. At "
            f"{fmt_size(bm, bn) if bm else ''} an epoch takes {fmt_time(t_par_b)}: {versus(t_par_b, t_tile_b)} "
            f"`numba_tiled`, {fmt_x(ratio(t_np_b, t_par_b))} the speed of `numpy_vectorized`, "
            f"{fmt_pct(ratio(probe_big, t_par_b))} of the roofline." + verdict,
            [t_par_b, t_tile_b, t_np_b, probe_big],
        )
    )
    out.append(
        _say(
            results,
            "numba_blocked against numba_tiled on one thread",
            f" On one thread, where one core's misses in flight are the whole limit, an epoch takes "
            f"{fmt_time(t_par_one)}, {versus(t_par_one, t_tile_one)} `numba_tiled` ({fmt_time(t_tile_one)}): "
            f"{fmt_pct(ratio(probe_one, t_par_one))} and {fmt_pct(ratio(probe_one, t_tile_one))} of the "
            "one-thread probe.",
            [t_par_one, t_tile_one, probe_one],
        )
    )
    out.append(
        _say(
            results,
            "float32 against float64 for numba_blocked and numba_tiled",
            " Float32 halves the bytes of X; it only halves the time if the arithmetic keeps up. "
            "`numba_tiled` converts every float32 element to float64 before multiplying, so its arithmetic "
            "costs the same as for float64 data: float32 makes it "
            f"{fmt_x(ratio(t_tile_64, t_tile_32))} faster at {fmt_size(*size32) if size32 else ''}. "
            "`numba_blocked` multiplies float32 in float32 (twice the SIMD lanes) and adds its float32 "
            f"gradient into float64 every 64 rows: {fmt_x(ratio(t_par_64, t_par_32))} faster.",
            [t_tile_32, t_tile_64, t_par_32, t_par_64],
        )
    )
    table = memory_limit_table(results)
    if table:
        out.append(
            "\n\nEvery size of this run whose X is larger than the last-level cache, as a share of the "
            "roofline measured at the same size (bytes of X per epoch ÷ time, against the probe's rate):\n"
        )
        out.append(table)
    out.append(paired_table(results))
    out.append(tuned_section(results))
    return "\n".join(out)


def memory_limit_table(results: Results) -> str:
    """Rung ÷ probe at every float64 size whose X does not fit in the last-level cache."""
    d = results.descent
    cache = last_level_cache(results.machine)
    big = d[(d["bytes_x"] > 2 * cache) & (d["dtype"] == "float64") & (d["threads_setting"] == "all")]
    sizes = sorted({(int(r.m), int(r.n)) for r in big.itertuples()}, key=lambda mn: (mn[0] * mn[1], mn[1]))
    rungs = [
        r
        for r in ("numpy_vectorized", "numba_fused", "numba_tiled", "numba_blocked", "numba_tuned")
        if r in set(big["rung"])
    ]
    rows, beaten = [], False
    for m, n in sizes:
        probe = t_epoch(results, ROOFLINE, m, n)
        if probe is None:
            continue
        shares = [ratio(probe, t_epoch(results, r, m, n)) for r in rungs]
        probe_median = t_epoch(results, ROOFLINE, m, n, column="median_per_epoch_s")
        medians = [ratio(probe_median, t_epoch(results, r, m, n, column="median_per_epoch_s")) for r in rungs]
        beaten = beaten or any(share is not None and share > 1.005 for share in shares)  # "101%" or more
        gigabytes = big[(big["m"] == m) & (big["n"] == n)]["bytes_x"].iat[0] / 1e9
        cells = [f"{fmt_pct(best)} ({fmt_pct(median)})" for best, median in zip(shares, medians, strict=True)]
        rows.append([fmt_size(m, n), f"{gigabytes:.2f} GB", *cells])
    if not rows:
        return ""
    text = tabulate(rows, headers=["size", "X", *[f"`{r}`" for r in rungs]], tablefmt="github") + "\n"
    text += (
        "\nEach share compares best rounds; in brackets, the same with median rounds. Where the two differ "
        "by much, the rung's or the probe's rounds met a busier machine.\n"
    )
    if beaten:
        text += (
            "\nA share above 100% means the rung read X faster than the probe did at that size: part of X "
            "was still in cache between epochs, or the probe's rounds met a busier machine. The probe is a "
            "measurement taken in the same run, not a law.\n"
        )
    return text


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
    return 32 * 1024**2


def paired_table(results: Results) -> str:
    """Shares of the probe measured side by side: one probe read and one epoch per round, alternating."""
    paired = results.paired
    if paired.empty:
        return ""
    settings = [("float64", "all"), ("float32", "all"), ("float64", "one")]
    sizes = sorted({(int(r.m), int(r.n)) for r in paired.itertuples()}, key=lambda mn: (mn[0] * mn[1], mn[1]))
    rows = []
    for m, n in sizes:
        for dtype, threads in settings:
            here = paired[(paired["m"] == m) & (paired["n"] == n) & (paired["dtype"] == dtype)]
            here = here[here["threads_setting"] == threads]
            if here.empty:
                continue
            label = f"{fmt_size(m, n)}, {dtype}, {'1 thread' if threads == 'one' else 'all threads'}"
            cells = []
            for rung in rung_order(results):
                hit = here[here["rung"] == rung]
                if hit.empty:
                    cells.append("")
                    continue
                row = hit.iloc[0]
                cells.append(
                    f"{fmt_pct(row.share_median)} ({fmt_pct(row.share_q25)}–{fmt_pct(row.share_q75)})"
                )
            rows.append([label, *cells])
    names = [r for r in rung_order(results)]
    keep = [k for k, _ in enumerate(names) if any(row[1 + k] for row in rows)]
    table = tabulate(
        [[row[0], *[row[1 + k] for k in keep]] for row in rows],
        headers=["size, dtype, threads", *[f"`{names[k]}`" for k in keep]],
        tablefmt="github",
    )
    rounds = int(paired["rounds"].max())
    return (
        "\n**Measured side by side.** The shares above compare benchmarks run minutes apart, and the bandwidth "
        "a process gets on a shared machine can change within minutes. At the axis sizes, and at the sweeps' "
        "sizes from m = 100,000 up, the benchmark also "
        f"times the probe and one epoch of each compiled rung back to back, {rounds} rounds, alternating which "
        "goes first; each pair gives a share, and the table gives their median (and the middle half of the "
        "pairs in brackets). The serial `numba_loops` is compared with the probe on the same thread setting.\n\n"
        + table
        + "\n"
    )


def _side_by_side(results: Results, m: int, n: int, dtype: str, threads: str) -> str:
    """numba_tuned's paired share of the probe against the best other rung's, at one point ("" if unmeasured)."""
    p = results.paired
    here = p[(p["m"] == m) & (p["n"] == n) & (p["dtype"] == dtype) & (p["threads_setting"] == threads)]
    tuned = here[here["rung"] == "numba_tuned"]
    others = here[here["rung"] != "numba_tuned"]
    if tuned.empty or others.empty:
        return ""
    best = others.loc[others["share_median"].idxmax()]
    mine = float(tuned["share_median"].iat[0])
    return (
        f"{fmt_pct(mine)} against `{best.rung}` {fmt_pct(best.share_median)}: "
        f"{fmt_pct(mine / best.share_median)}"
    )


def _plan_rows(results: Results) -> list[list[str]]:
    """Every numba_tuned point of the run: its plan, its time, and the fastest other rung there."""
    d = results.descent
    tuned = d[(d["rung"] == "numba_tuned") & (d["kind"] == "descent")]
    rows = []
    for r in tuned.sort_values(["dtype", "threads_setting", "n", "m"]).itertuples():
        others = d[
            (d["kind"] == "descent")
            & (d["m"] == r.m)
            & (d["n"] == r.n)
            & (d["dtype"] == r.dtype)
            & (d["threads_setting"] == r.threads_setting)
            & ~d["rung"].isin(["numba_tuned", ROOFLINE])
        ]
        if others.empty:
            continue
        fastest = others.loc[others["time_per_epoch_s"].idxmin()]
        rows.append(
            [
                fmt_size(int(r.m), int(r.n)),
                r.dtype,
                "1" if r.threads_setting == "one" else str(int(r.threads)),
                f"`{r.plan}`" if r.plan else "?",
                fmt_time(r.time_per_epoch_s),
                f"`{fastest.rung}` {fmt_time(fastest.time_per_epoch_s)}",
                fmt_pct(fastest.time_per_epoch_s / r.time_per_epoch_s),
                _side_by_side(results, int(r.m), int(r.n), r.dtype, r.threads_setting),
            ]
        )
    return rows


def same_kernel_text(results: Results) -> str:
    """Where numba_tuned's plan was numba_blocked's own rule of thumb, the two ran the same code."""
    d = results.descent
    tuned = d[(d["rung"] == "numba_tuned") & (d["kind"] == "descent") & (d["plan"] != "")]
    if tuned.empty:
        return ""
    same = [r for r in tuned.itertuples() if r.plan == numba_tuned.estimate(int(r.n), r.dtype).name]
    if not same:
        return (
            "At none of these points was the plan `numba_blocked`'s rule of thumb: measuring chose "
            "another kernel or other knobs everywhere.\n"
        )
    return (
        f"At {len(same)} of these {len(tuned)} points the plan was `numba_blocked`'s own rule of thumb, so the "
        "two rungs ran the same machine code there: a gap between them at those points is the machine's "
        "noise, not the plan, and it shows how much to trust a difference of that size elsewhere.\n"
    )


def tuned_section(results: Results) -> str:
    """Step 9: what numba_tuned tried on this machine, what won, and where its plans ran."""
    out = ["\n### 9. `numba_tuned`: let the machine choose\n"]
    out.append(f"```python\n{source_of('numba_tuned')}\n```\n")
    entries = tuning_entries(results)
    if not entries:
        out.append(_say(results, "numba_tuned's tuning measurements", "", [None]))
        return "\n".join(out)
    first = entries[0]
    count = len(first["landscape_best_s"])
    out.append(
        "Which kernel is fastest, and with which block size and prefetch distance, depends on the CPU: its "
        "cache sizes, how many misses one core keeps in flight, how well its hardware prefetcher follows a "
        "stream on its own, the width of its vectors. A rule of thumb tuned on one CPU is a guess on the next. "
        f"`numba_tuned` does what FFTW does: on first use it times {count} candidates (every kernel of the rungs "
        "below, their knobs swept, prefetch off included) one epoch at a time in shuffled rounds, on "
        f"{first['tuning_data_bytes'] / 2**20:.0f} MiB of generated data (several times the last-level cache), "
        "keeps the fastest, and remembers it per CPU, dtype, row-length class and thread count "
        "(`python -m impls.wisdom show` lists what it chose and why).\n"
    )
    rows = []
    for e in entries:
        landscape = e["landscape_best_s"]
        fastest_name = min(landscape, key=landscape.get)
        slowest_name = max(landscape, key=landscape.get)
        rows.append(
            [
                f"{fmt_size(int(e['m']), int(e['n']))}, {_setting(e)}",
                f"`{e['tuning_choice']}` ({e['tuning_rounds']} rounds, {e['tuning_measuring_s']:.1f} s)",
                f"`{fastest_name}` {fmt_time(landscape[fastest_name])}",
                f"`{e['plan']}` {fmt_pct(landscape[fastest_name] / landscape[e['plan']])}",
                f"`{slowest_name}` {fmt_pct(landscape[fastest_name] / landscape[slowest_name])}",
            ]
        )
    out.append(
        "What measuring chose, and how the candidates compare on the benchmark's own data at the axis sizes "
        "(interleaved rounds, best epoch each; a share is the fastest candidate's time over this one's):\n"
    )
    out.append(
        tabulate(
            rows,
            headers=[
                "size, setting",
                "chosen on the tuning data (timing)",
                "fastest here",
                "the plan here",
                "slowest here",
            ],
            tablefmt="github",
        )
        + "\n"
    )
    plan_rows = _plan_rows(results)
    if plan_rows:
        out.append(
            "Every size the run timed `numba_tuned` at, with the candidate its plan ran and the fastest other "
            "rung at that point. \"share\" is that rung's time over `numba_tuned`'s (above 100% when "
            "`numba_tuned` was faster), from benchmarks run minutes apart; where the run also measured the rungs "
            "side by side with the probe, the last column compares their median shares of the probe, which "
            "that drift does not touch:\n"
        )
        out.append(
            tabulate(
                plan_rows,
                headers=[
                    "size",
                    "dtype",
                    "threads",
                    "plan",
                    "numba_tuned",
                    "fastest other rung",
                    "share",
                    "side by side: share of the probe",
                ],
                tablefmt="github",
            )
            + "\n"
        )
        out.append(same_kernel_text(results))
    return "\n".join(out)


def _findings(results: Results) -> str:
    """bench/FINDINGS.md (words only), then the instruction counts this run recorded."""
    path = Path(__file__).with_name("FINDINGS.md")
    text = path.read_text() if path.exists() else ""
    d = results.descent
    counted = (
        d[d["simd_packed_ops"].notna() & (d["dtype"] == "float64")] if "simd_packed_ops" in d else d.iloc[0:0]
    )
    if counted.empty:
        return text
    rows = []
    for rung in rung_order(results):
        mine = counted[counted["rung"] == rung]
        if not mine.empty:
            first = mine.iloc[0]
            rows.append([f"`{rung}`", int(first["simd_packed_ops"]), int(first["simd_scalar_ops"])])
    table = tabulate(
        rows,
        headers=["compiled rung (float64)", "packed (SIMD) FP instructions", "scalar FP instructions"],
        tablefmt="github",
    )
    return (
        text + "\nFloating-point arithmetic instructions in each rung's compiled kernels, counted in "
        "the machine code by the benchmark (static counts, not executions; scalar ones include the "
        "remainder loops that finish each vectorized loop):\n\n" + table + "\n"
    )


def write_lesson(results: Results, figures: dict[str, str]) -> str:
    """The whole of reports/README.md, as text."""
    demo = numerics_demo()
    mi = results.machine

    def figure(key: str) -> str:
        if key in figures:
            return f"![{CHARTS[key][0]}]({figures[key]})\n"
        return f"_Chart not drawn: {CHARTS[key][0].lower()} was not measured in this run._\n"

    sections = [
        f"# Why vectorized code is faster: one algorithm, {len(rung_order(results))} rungs\n",
        "_Generated by `python -m bench.report` from "
        f"[`{results.path.name}`]({results.path.name}) (run of {results.datetime[:19]}). Every number below comes "
        "from that file; regenerate on your own machine to get your own._\n",
        "## The algorithm\n",
        "Logistic regression trained by batch gradient descent. The data are $m$ examples with $n$ features, "
        "the rows of $X \\in \\mathbb{R}^{m\\times n}$, and labels $y_i \\in \\{0, 1\\}$. One epoch:\n",
        "$$z = Xw + b, \\qquad \\hat y = \\sigma(z) = \\frac{1}{1 + e^{-z}}$$\n",
        "$$J(w, b) = -\\frac{1}{m}\\sum_{i=1}^{m}\\Big[y_i \\log \\hat y_i + (1 - y_i)\\log(1 - \\hat y_i)\\Big]$$\n",
        "$$\\frac{\\partial J}{\\partial w} = \\frac{1}{m} X^\\top(\\hat y - y), \\qquad "
        "\\frac{\\partial J}{\\partial b} = \\frac{1}{m}\\sum_{i=1}^{m} (\\hat y_i - y_i)$$\n",
        "$$w \\leftarrow w - \\alpha \\frac{\\partial J}{\\partial w}, \\qquad "
        "b \\leftarrow b - \\alpha \\frac{\\partial J}{\\partial b}$$\n",
        "Every element of $X$ is used twice per epoch (once in $Xw$, once in $X^\\top(\\hat y - y)$): "
        "$2mn$ multiply-adds against $mn$ numbers to read. That ratio is small, so once the code is fast enough "
        "the limit is how quickly the machine can stream $X$ from memory: the **roofline** below is a probe that "
        "does nothing but read $X$ with every core.\n",
        "## The ladder at a glance\n",
        ladder_table(results) + "\n",
        figure("speedup_python"),
        figure("time_vs_m"),
        BEST_ROUND + " In the chart, each band reaches up to the median round; the dashed line is the time "
        "to read $X$ once at the probe's rate.\n",
        "## Each step up, and why it is faster\n",
        steps_section(results) + "\n",
        figure("tuning"),
        figure("bandwidth"),
        "## Where vectorization does not pay\n",
        figure("speedup_numpy"),
        "Sizes of the m sweep at which each rung beats the `numpy_vectorized` rung, and at which it does not:\n",
        tabulate(
            crossovers(results),
            headers=["rung", "faster than numpy at m =", "slower at m ="],
            tablefmt="github",
        )
        + "\n",
        small_sizes_text(results),
        figure("n_sweep"),
        n_sweep_text(results),
        "## Threads and precision\n",
        figure("threads"),
        threads_text(results),
        figure("dtype"),
        dtype_text(results),
        "## Compilation\n",
        figure("jit"),
        jit_text(results),
        "## Numerics\n",
        numerics_text(results, demo),
        "## What the investigation found\n" if _findings(results) else "",
        _findings(results),
        "## Reproduce\n",
        "```bash\npython -m pip install tox && tox -e report    # benchmarks (default profile), then this report\n"
        f"python -m bench.report {results.path.as_posix()} --out reports/   # the report alone, from a results file\n"
        "```\n",
        f"This run used the `{results.profile.get('name', '?')}` profile: {results.profile.get('epochs', '?')} "
        f"epochs per timed round, learning rate {results.profile.get('lr', '?')}, seed "
        f"{results.profile.get('seed', '?')}; rungs predicted to need more than {results.profile.get('budget_s', '?')} s "
        "per round were skipped (see the benchmark's output for each reason).\n",
        "### Machine and libraries\n",
        tabulate(machine_rows(mi), headers=["", ""], tablefmt="github") + "\n",
    ]
    if results.gaps:
        sections.append("### Gaps in this run\n")
        sections.append("\n".join(f"- {gap}" for gap in dict.fromkeys(results.gaps)) + "\n")
    return "\n".join(s for s in sections if s)


def small_sizes_text(results: Results) -> str:
    sweep = m_sweep(results)
    if sweep.empty:
        return ""
    m0, n0 = int(sweep["m"].min()), int(sweep["n"].iat[0])
    t_np, t_nb, t_par = (
        t_epoch(results, r, m0, n0) for r in ("numpy_vectorized", "numba_loops", "numba_blocked")
    )
    return _say(
        results,
        "numpy, numba and numba_blocked at the smallest size",
        f"At {fmt_size(m0, n0)} X is {m0 * n0 * 8 / 1024:.0f} KiB and fits in L1/L2: the work is tiny and fixed "
        f"costs decide. One epoch of `numpy_vectorized` takes {fmt_time(t_np)} — a dozen NumPy calls, each a few "
        f"microseconds of argument checking and allocation. The serial `numba_loops` loop takes {fmt_time(t_nb)}: no "
        f"calls at all. `numba_blocked` takes {fmt_time(t_par)}, {versus(t_par, t_nb)} the serial loop"
        + (
            ": waking the worker threads for each epoch costs more than the work they share.\n"
            if t_par and t_nb and t_par > t_nb
            else ".\n"
        ),
        [t_np, t_nb, t_par],
    )


def n_sweep_text(results: Results) -> str:
    rows = n_sweep(results)
    if rows.empty:
        return _say(results, "the n sweep", "", [None])
    m = int(rows["m"].iat[0])
    n_lo, n_hi = int(rows["n"].min()), int(rows["n"].max())
    lo = {r: t_epoch(results, r, m, n_lo) for r in ("python_loops", "numpy_vectorized", "numba_blocked")}
    hi = {r: t_epoch(results, r, m, n_hi) for r in ("numpy_vectorized", "numba_blocked")}
    return _say(
        results,
        "the n sweep at its ends",
        f"With n = {n_lo} the rows are a single number and per-example costs (the sigmoid, the loss, the loop "
        f"itself) dominate: `numpy_vectorized` is only {fmt_x(ratio(lo['python_loops'], lo['numpy_vectorized']))} faster than pure "
        f"Python at m = {m:,}. Going from n = {n_lo} to n = {n_hi} multiplies the data by {n_hi // n_lo:,} but "
        f"the time of `numpy_vectorized` by {fmt_x(ratio(hi['numpy_vectorized'], lo['numpy_vectorized']))} and of `numba_blocked` by "
        f"{fmt_x(ratio(hi['numba_blocked'], lo['numba_blocked']))}.\n",
        [
            lo["python_loops"],
            lo["numpy_vectorized"],
            hi["numpy_vectorized"],
            lo["numba_blocked"],
            hi["numba_blocked"],
        ],
    )


def threads_text(results: Results) -> str:
    size = axis_size(results, "float64", "one")
    if size is None:
        return _say(results, "one thread against all", "", [None])
    parts = []
    for rung in (*rung_order(results), ROOFLINE):
        one, every = t_epoch(results, rung, *size, "float64", "one"), t_epoch(results, rung, *size)
        if one and every:
            parts.append(f"`{rung}` {fmt_x(one / every)}")
    return (
        f"Speedup from one thread to all at {fmt_size(*size)}: " + ", ".join(parts) + ". The probe shows "
        "what the memory system gives a second core; a rung that gains less than the probe was not "
        "limited by memory on one core.\n"
    )


def dtype_text(results: Results) -> str:
    size = axis_size(results, "float32", "all")
    if size is None:
        return _say(results, "float32 against float64", "", [None])
    parts = []
    for rung in (*rung_order(results), ROOFLINE):
        t64, t32 = t_epoch(results, rung, *size), t_epoch(results, rung, *size, "float32")
        if t64 and t32:
            parts.append(f"`{rung}` {fmt_x(t64 / t32)}")
    return (
        f"float32 halves the bytes of X. Speedup of float32 over float64 at {fmt_size(*size)}: "
        + ", ".join(parts)
        + ". Only a rung limited by memory can gain the full 2×, and only if its arithmetic gets cheaper "
        "too: `numba_loops`, `numba_fused` and `numba_tiled` multiply each float32 element in float64 (their "
        "sums start from a float64 zero), while `numba_blocked`, and `numba_tuned` whenever its plan is a "
        "block kernel, multiply float32 in float32, with twice the SIMD lanes.\n"
    )


def jit_text(results: Results) -> str:
    jit = results.jit[results.jit["dtype"] == "float64"]
    if jit.empty:
        return _say(results, "JIT compile time", "", [None])
    sentences = []
    for rung in [r for r in rung_order(results) if r in set(jit["rung"])]:
        compile_s = float(jit[jit["rung"] == rung]["median_s"].iat[0])
        epochs = break_even_epochs(results, rung, compile_s).dropna()
        tail = (
            f"; against `numpy_vectorized` it pays for itself after {epochs.iat[-1]:,.0f} epochs at m = "
            f"{epochs.index[-1]:,}"
            if not epochs.empty
            else "; it never beats `numpy_vectorized` in this run"
        )
        sentences.append(f"`{rung}` compiles in {fmt_time(compile_s)}{tail}")
    return (
        "Numba compiles on the first call for each type signature (float64 and float32 are two "
        "compilations). The benchmark times that first call separately on a fresh copy of the kernel, with "
        "Numba's disk cache bypassed: "
        + "; ".join(sentences)
        + ". `numba_tuned` compiles every candidate's kernel, since its first use on a machine times them all.\n\n"
        + first_use_text(results)
    )


def first_use_text(results: Results) -> str:
    """What a new machine pays once (compile, measure) and what every later process pays."""
    d = results.table
    warm = d[d["kind"] == "first_fit"]
    cold = results.jit[(results.jit["rung"] == "numba_tuned") & (results.jit["dtype"] == "float64")]
    measuring = [
        e["tuning_data_s"] + e.get("tuning_warmup_s", 0.0) + e["tuning_measuring_s"] for e in results.tuning
    ]
    compile_s = float(cold["median_s"].iat[0]) if not cold.empty else None  # as in the sentence above
    warm_s = float(warm["min_s"].iat[0]) if not warm.empty else None
    measure_s = max(measuring) if measuring else None
    size = f"{fmt_size(int(warm['m'].iat[0]), int(warm['n'].iat[0]))}" if not warm.empty else ""
    return _say(
        results,
        "the cost of numba_tuned's first use and of a later process",
        "**Once per machine, then never.** Every JIT rung keeps its machine code in Numba's disk cache, in a "
        "folder per version of the ladder's source, and `numba_tuned` keeps its plans in a wisdom file. On a "
        f"new machine the first use of `numba_tuned` costs its compilation ({fmt_time(compile_s)} for float64) "
        f"plus measuring for each new key (up to {fmt_time(measure_s)} at the axis sizes of this run, data "
        "generation and loading the compiled kernels included). "
        f"A later process pays neither: its first `fit` of `numba_tuned` at {size}, interpreter start and "
        f"import included, took {fmt_time(warm_s)} (best of the benchmark's rounds).\n",
        [compile_s, warm_s, measure_s],
    )


def numerics_text(results: Results, demo: dict) -> str:
    d = results.descent
    err = d[d["kind"] == "descent"].groupby(["dtype", "rung"])["max_rel_error"].max()
    error_list = "; ".join(
        f"{dtype}: "
        + ", ".join(
            f"`{r}` {err[dtype, r]:.1e}"
            for r in rung_order(results)
            if (dtype, r) in err.index and np.isfinite(err[dtype, r])
        )
        for dtype in ("float64", "float32")
        if dtype in err.index.get_level_values(0)
    )
    return (
        "**A stable sigmoid and cost.** The textbook form computes $\\hat y = 1/(1+e^{-z})$ and then "
        f"$\\log \\hat y$. At z = {demo['z'][0]:g} with label 1 (and z = {demo['z'][1]:g} with label 0), "
        f"$e^{{-z}}$ overflows or $\\hat y$ rounds to 0 or 1, and the naive loss comes out as "
        f"{demo['naive_loss'][0]} and {demo['naive_loss'][1]}. Every rung here computes the loss from the logit "
        "instead, $\\log(1+e^{z}) - yz = \\max(z,0) + \\log(1+e^{-|z|}) - yz$, which takes $e$ only of "
        f"non-positive numbers: {demo['stable_loss'][0]:g} and {demo['stable_loss'][1]:g}, the exact values.\n\n"
        f"**float32 saturates early.** In float32, $\\sigma(z)$ rounds to exactly 1 from z ≈ "
        f"{demo['saturate32']:.2f} (float64: z ≈ {demo['saturate64']:.2f}). Beyond that the naive $\\log(1-\\hat y)$ is "
        "$-\\infty$; the logit form has no such cliff. The compiled float32 rungs add their gradients up in "
        "float64 (the block kernels after at most 64 rows in float32), so rounding stays local.\n\n"
        "**Summation order.** `fastmath` lets LLVM reorder sums, and so does BLAS, and so does splitting rows "
        "across threads. Floating-point addition is not associative: the same million standard-normal numbers "
        f"summed front to back give {demo['sum_sequential']!r}, NumPy's pairwise sum gives "
        f"{demo['sum_pairwise']!r}, and the correctly rounded sum is {demo['sum_exact']!r}. Reordering changes "
        "the last digits, not the answer; that is why each rung carries a tolerance with its reason "
        "(`impls/_common.py`, `Rung.tolerance`), and why every timed call in this run was checked against the "
        "float64 `numpy_vectorized` rung. Largest relative difference from it seen per rung in this run, "
        "by the dtype the rung ran in: " + error_list + ".\n"
    )


def machine_rows(mi: dict) -> list[list[str]]:
    cpu = mi.get("cpu") or {}
    numba = mi.get("numba") or {}
    packages = mi.get("packages") or {}
    env = {k: v for k, v in (mi.get("thread_env") or {}).items() if v}
    rows = [
        ["CPU", f"{cpu.get('brand_raw', '?')} ({cpu.get('arch_string_raw', mi.get('machine', '?'))})"],
        ["cores", str(mi.get("cpu_count", "?"))],
        ["BLAS", _blas(mi)],
        ["Numba threads", f"{numba.get('num_threads', '?')} ({numba.get('threading_layer') or '?'} layer)"],
        ["Python", f"{mi.get('python_implementation', '')} {mi.get('python_version', '?')}"],
        ["system", mi.get("platform_detail") or mi.get("system", "?")],
        ["thread variables", ", ".join(f"{k}={v}" for k, v in env.items()) or "none set"],
    ]
    rows += [[name, version or "not installed"] for name, version in packages.items()]
    return rows


# --------------------------------------------------------------------------- main


def write_report(results: Results, out: Path) -> list[Path]:
    """Write the figures, the CSV and README.md into ``out``; return the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    figures = {}
    for key, (label, plot) in CHARTS.items():
        fig = plot(results)
        if fig is None:
            results.gaps.append(f"{label}: not measured in this run")
            continue
        name = f"fig_{key}.png"
        fig.savefig(out / name)
        plt.close(fig)
        figures[key] = name
        written.append(out / name)
    csv = out / "results.csv"
    results.table.sort_values(["kind", "rung", "m", "n", "dtype", "threads_setting"]).to_csv(csv, index=False)
    written.append(csv)
    readme = out / "README.md"
    readme.write_text(write_lesson(results, figures))
    written.append(readme)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Write the vectorization lesson from a benchmark results file."
    )
    parser.add_argument("results", type=Path, help="pytest-benchmark JSON (e.g. reports/results.json)")
    parser.add_argument(
        "--out", type=Path, default=Path("reports"), help="folder for README.md, figures, CSV"
    )
    args = parser.parse_args(argv)
    try:
        results = load(args.results)
    except ResultsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if results.source_digest and results.source_digest != source_digest():
        print(
            f"warning: impls/ has changed since {args.results} was written; the code shown in the lesson "
            "is today's, the timings are not. Re-run the benchmarks.",
            file=sys.stderr,
        )
    written = write_report(results, args.out)
    for gap in dict.fromkeys(results.gaps):
        print(f"gap: {gap}", file=sys.stderr)
    print(f"wrote {len(written)} files to {args.out}/ from {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
