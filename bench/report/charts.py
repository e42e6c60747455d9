"""The lesson's charts: one function each, all listed in CHARTS. Each returns None when the run lacks its data."""

from __future__ import annotations

from collections.abc import Callable

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from bench.report import beyond, rungs, select
from bench.report.fmt import fmt_size, fmt_x, machine_footer
from bench.report.load import Results
from bench.schema import ROOFLINE
from impls import BASELINE, PLANNED, REFERENCE

# Okabe & Ito's colour-blind-safe palette; black is kept for the roofline probe.
OKABE_ITO = ["#E69F00", "#56B4E9", "#009E73", "#CC79A7", "#0072B2", "#D55E00", "#999999", "#F0E442"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]


def _style_index(results: Results, rung: str) -> int:
    """A rung's fixed place in the palette: its registry position, so colours agree across charts and runs."""
    ladder = rungs.ladder_order()
    names = ladder + sorted(set(select.rung_order(results)) - set(ladder))
    return names.index(rung)


def colour(results: Results, rung: str) -> str:
    return "#000000" if rung == ROOFLINE else OKABE_ITO[_style_index(results, rung) % len(OKABE_ITO)]


def marker(results: Results, rung: str) -> str:
    return "" if rung == ROOFLINE else MARKERS[_style_index(results, rung) % len(MARKERS)]


def new_figure(footer: str, title: str, xlabel: str, ylabel: str) -> tuple[Figure, plt.Axes]:
    fig, ax = plt.subplots(figsize=(8.5, 5.2), dpi=110)
    fig.subplots_adjust(left=0.11, right=0.74, top=0.9, bottom=0.17)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, which="major", alpha=0.3)
    fig.text(0.01, 0.015, footer, fontsize=7, color="#444444")
    return fig, ax


def _figure(results: Results, title: str, xlabel: str, ylabel: str) -> tuple[Figure, plt.Axes]:
    return new_figure(machine_footer(results.machine, results.datetime), title, xlabel, ylabel)


def legend(ax: plt.Axes) -> None:
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)


def _lines_by_rung(
    results: Results, sweep: pd.DataFrame, x: str, y: str, labels: tuple[str, str, str], probe: str
):
    """One log-log line per rung (best round; for times, a band up to the median) and the probe dashed."""
    fig, ax = _figure(results, *labels)
    for rung in select.rung_order(results):
        rows = sweep[sweep["rung"] == rung].sort_values(x)
        if rows.empty:
            continue
        ax.plot(rows[x], rows[y], marker=marker(results, rung), color=colour(results, rung), label=rung)
        if y == "time_per_epoch_s":
            ax.fill_between(
                rows[x],
                rows[y],
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
    legend(ax)
    return fig


def plot_time_vs_m(results: Results) -> Figure | None:
    sweep = select.m_sweep(results)
    if sweep.empty:
        return None
    n = int(sweep["n"].iat[0])
    labels = (f"Time per epoch against m (n = {n}, float64)", "examples m", "time per epoch (s)")
    return _lines_by_rung(results, sweep, "m", "time_per_epoch_s", labels, "roofline: read X once")


def plot_speedup_over_baseline(results: Results) -> Figure | None:
    size = select.python_size(results)
    if size is None:
        return None
    base = select.t_epoch(results, BASELINE, *size)
    times = {r: select.t_epoch(results, r, *size) for r in select.rung_order(results)}
    names = [r for r, t in times.items() if t is not None]
    speedups = [base / times[r] for r in names]
    fig, ax = _figure(results, f"Speedup over {BASELINE} at {fmt_size(size)}", "speedup (×, log scale)", "")
    ax.barh(names[::-1], speedups[::-1], color=[colour(results, r) for r in names[::-1]])
    ax.set_xscale("log")
    for y, value in enumerate(speedups[::-1]):
        ax.text(value, y, f" {fmt_x(value)}", va="center", fontsize=8)
    fig.subplots_adjust(left=0.2, right=0.9)
    return fig


def plot_speedup_over_reference(results: Results) -> Figure | None:
    sweep = select.m_sweep(results)
    if REFERENCE not in set(sweep["rung"]):
        return None
    n = int(sweep["n"].iat[0])
    title = f"Speedup over {REFERENCE} against m (n = {n}, float64)"
    fig, ax = _figure(results, title, "examples m", f"speedup over {REFERENCE} (×)")
    for rung in (r for r in select.rung_order(results) if r != REFERENCE):
        base, mine = select.against_reference(results, rung)
        if not mine.empty:
            ax.plot(
                mine.index, base / mine, marker=marker(results, rung), color=colour(results, rung), label=rung
            )
    ax.axhline(1.0, color="black", linewidth=1)
    ax.text(sweep[sweep["rung"] == REFERENCE]["m"].min(), 1.0, f" {REFERENCE}", va="bottom", fontsize=8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    legend(ax)
    return fig


def plot_bandwidth(results: Results) -> Figure | None:
    sweep = select.m_sweep(results)
    if sweep.empty:
        return None
    n = int(sweep["n"].iat[0])
    labels = (f"Effective bandwidth: bytes of X per epoch ÷ time (n = {n}, float64)", "examples m", "GB/s")
    return _lines_by_rung(results, sweep, "m", "bandwidth_gb_s", labels, "roofline probe")


def plot_n_sweep(results: Results) -> Figure | None:
    sweep = select.n_sweep(results)
    if sweep.empty:
        return None
    m = int(sweep["m"].iat[0])
    labels = (f"Time per epoch against n (m = {m:,}, float64)", "features n", "time per epoch (s)")
    return _lines_by_rung(results, sweep, "n", "time_per_epoch_s", labels, "roofline: read X once")


def _axis_bars(
    results: Results, title: str, pairs: list[tuple[str, str, str]], size: tuple[int, int]
) -> Figure:
    """Grouped bars of time per epoch: one group per rung, one bar per (label, dtype, threads)."""
    fig, ax = _figure(results, title, "", "time per epoch (s)")
    names = [
        r
        for r in [*select.rung_order(results), ROOFLINE]
        if any(select.t_epoch(results, r, *size, d, th) for _, d, th in pairs)
    ]
    width = 0.8 / len(pairs)
    for k, (label, dtype, threads) in enumerate(pairs):
        values = [select.t_epoch(results, r, *size, dtype, threads) or 0.0 for r in names]
        xs = np.arange(len(names)) + (k - (len(pairs) - 1) / 2) * width
        ax.bar(
            xs,
            values,
            width,
            color=[colour(results, r) for r in names],
            hatch=["", "//"][k % 2],
            edgecolor=["white" if r == ROOFLINE else "black" for r in names],
            linewidth=0.5,
            label=label,
        )
    ax.set_xticks(np.arange(len(names)), names, rotation=30, ha="right")
    ax.set_yscale("log")
    fig.subplots_adjust(bottom=0.3)
    legend(ax)
    return fig


def plot_dtype(results: Results) -> Figure | None:
    size = select.axis_size(results, "float32", "all")
    if size is None:
        return None
    pairs = [("float64", "float64", "all"), ("float32", "float32", "all")]
    return _axis_bars(results, f"float32 against float64 at {fmt_size(size)}", pairs, size)


def plot_threads(results: Results) -> Figure | None:
    size = select.axis_size(results, "float64", "one")
    if size is None:
        return None
    pairs = [("all threads", "float64", "all"), ("one thread", "float64", "one")]
    return _axis_bars(results, f"One thread against all at {fmt_size(size)} (float64)", pairs, size)


def plot_jit(results: Results) -> Figure | None:
    jit = results.jit[results.jit["dtype"] == "float64"]
    if jit.empty:
        return None
    fig, (ax_compile, ax_even) = plt.subplots(1, 2, figsize=(10, 4.8), dpi=110)
    fig.subplots_adjust(left=0.16, right=0.97, top=0.86, bottom=0.2, wspace=0.45)
    fig.suptitle(f"JIT compilation: its cost, and when it pays off against {REFERENCE}")
    fig.text(0.01, 0.015, machine_footer(results.machine, results.datetime), fontsize=7, color="#444444")
    names = [r for r in select.rung_order(results) if r in set(jit["rung"])]
    seconds = [float(jit[jit["rung"] == r]["median_s"].iat[0]) for r in names]
    ax_compile.barh(names[::-1], seconds[::-1], color=[colour(results, r) for r in names[::-1]])
    ax_compile.set_xlabel("compile time, first call (s)")
    ax_compile.set_title("compile time (float64)")
    for rung, compile_s in zip(names, seconds, strict=True):
        epochs = select.break_even_epochs(results, rung, compile_s).dropna()
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
    ax_even.set_title(f"break-even against {REFERENCE} (n fixed)")
    ax_even.grid(True, alpha=0.3)
    if ax_even.lines:
        ax_even.legend(fontsize=8, frameon=False)
    return fig


def setting(entry: dict) -> str:
    threads = "1 thread" if entry["threads_setting"] == "one" else f"{entry['threads']} threads"
    return f"{entry['dtype']}, {threads}"


def plot_tuning(results: Results) -> Figure | None:
    """The planned rung's candidates at the main axis size: each one's speed as a share of the fastest's."""
    size = select.axis_size(results, "float64", "all")
    entries = select.tuning_entries(results, size) if size else []
    if not entries:
        return None
    fig, axes = plt.subplots(
        1, len(entries), figsize=(4.2 * len(entries), 5.6), dpi=110, sharey=True, layout="constrained"
    )
    names = list(entries[0]["landscape_best_s"])
    for ax, entry in zip(np.atleast_1d(axes), entries, strict=True):
        best = entry["landscape_best_s"]
        shares = [min(best.values()) / best[name] for name in names]
        colours = ["#0072B2" if name == entry["plan"] else "#999999" for name in names]
        ax.barh(names[::-1], shares[::-1], color=colours[::-1])
        ax.set_xlim(0, 1.08)
        ax.set_title(setting(entry), fontsize=9)
        ax.set_xlabel("speed, share of the fastest candidate")
        ax.grid(True, axis="x", alpha=0.3)
    fig.suptitle(
        f"{PLANNED}'s candidates at {fmt_size(size)}, timed interleaved on this data (blue: the plan used)",
        fontsize=10,
    )
    fig.supxlabel(machine_footer(results.machine, results.datetime), fontsize=7, color="#444444")
    return fig


def plot_memory(results: Results) -> Figure | None:
    """Bytes each rung allocates during one epoch beyond X and y, in m-long arrays of the dtype."""
    mem = results.memory
    if mem.empty:
        return None
    names = [r for r in select.rung_order(results) if r in set(mem["rung"])]
    arrays = [float(mem[mem["rung"] == r]["m_arrays"].iat[0]) for r in names]
    m, n = int(mem["m"].iat[0]), int(mem["n"].iat[0])
    fig, ax = _figure(
        results,
        f"Memory allocated during one epoch, beyond X and y ({fmt_size((m, n))})",
        "m-long arrays (peak bytes ÷ 8m)",
        "",
    )
    ax.barh(names[::-1], arrays[::-1], color=[colour(results, r) for r in names[::-1]])
    for y, value in enumerate(arrays[::-1]):
        ax.text(value, y, f" {value:.2f}", va="center", fontsize=8)
    fig.subplots_adjust(left=0.2, right=0.9)
    return fig


def plot_dask(results: Results) -> Figure | None:
    """The distributed rung: its epoch and its empty epoch against m, and against the number of blocks."""
    facts = beyond.beyond(results)
    if facts is None or not facts.sweep:
        return None
    panels = 2 if facts.blocks else 1
    fig, axes = plt.subplots(1, panels, figsize=(5.6 * panels, 5.0), dpi=110, layout="constrained")
    left = np.atleast_1d(axes)[0]
    sweep = pd.DataFrame(facts.sweep)
    one = sweep.dropna(subset=["one_process"])
    style = {"marker": marker(results, facts.rung), "color": colour(results, facts.rung)}
    left.plot(sweep["m"], sweep["epoch"], label=f"{facts.rung}: epoch", **style)
    left.plot(
        sweep["m"], sweep["empty"], linestyle=":", label=f"{facts.rung}: empty epoch (scheduling)", **style
    )
    other = {"marker": marker(results, beyond.ONE_PROCESS), "color": colour(results, beyond.ONE_PROCESS)}
    left.plot(one["m"], one["one_process"], label=f"{beyond.ONE_PROCESS}: epoch", **other)
    left.set(xscale="log", yscale="log", xlabel="examples m", ylabel="time per epoch (s)")
    left.set_title(f"Against m (n = {int(sweep['n'].iat[0])}, float64, its own blocks)", fontsize=10)
    left.grid(True, alpha=0.3)
    left.legend(fontsize=8, frameon=False)
    if facts.blocks:
        right = np.atleast_1d(axes)[1]
        blocks = pd.DataFrame(facts.blocks)
        right.plot(blocks["blocks"], blocks["epoch"], label="epoch", **style)
        right.plot(blocks["blocks"], blocks["empty"], linestyle=":", label="empty epoch", **style)
        right.set(xscale="log", yscale="log", xlabel="blocks of X", ylabel="time per epoch (s)")
        size = (int(blocks["m"].iat[0]), int(blocks["n"].iat[0]))
        right.set_title(f"Against the number of blocks ({fmt_size(size)})", fontsize=10)
        right.grid(True, alpha=0.3)
        right.legend(fontsize=8, frameon=False)
    fig.supxlabel(machine_footer(results.machine, results.datetime), fontsize=7, color="#444444")
    return fig


#: Every chart of the lesson: file key → (caption, function). The lesson's templates place them by key.
CHARTS: dict[str, tuple[str, Callable[[Results], Figure | None]]] = {
    "time_vs_m": ("Time per epoch against m", plot_time_vs_m),
    "speedup_python": (f"Speedup over {BASELINE}", plot_speedup_over_baseline),
    "speedup_numpy": (f"Speedup over {REFERENCE} against m", plot_speedup_over_reference),
    "bandwidth": ("Effective bandwidth against the roofline", plot_bandwidth),
    "n_sweep": ("The n sweep", plot_n_sweep),
    "dtype": ("float32 against float64", plot_dtype),
    "threads": ("One thread against all", plot_threads),
    "jit": ("JIT compile time and break-even", plot_jit),
    "tuning": (f"{PLANNED}'s candidates, timed on this machine", plot_tuning),
    "memory": ("Memory allocated per epoch", plot_memory),
    "distributed": ("The descent on a Dask cluster: epochs, scheduling and blocks", plot_dask),
}
