"""The ladder's charts: time and bandwidth against size, speedups, threads, dtypes, compilation, memory."""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, NullFormatter

from bench.report.charts.style import PROBE, add_footer, colour, figure, footer, legend, style
from bench.report.facts import Facts
from bench.report.fmt import fmt_size, numbers
from bench.results.schema import ROOFLINE


def _lines_by_rung(
    facts: Facts, sweep: pd.DataFrame, x: str, y: str, labels: tuple[str, str, str], probe: str
):
    """One log-log line per rung (best round; for times, a band up to the median) and the probe dashed."""
    fig, ax = figure(facts, *labels)
    for rung in facts.order:
        rows = sweep[sweep["rung"] == rung].sort_values(x)
        if rows.empty:
            continue
        ax.plot(rows[x], rows[y], label=rung, **style(facts, rung).line_kwargs())
        if y == "time_per_epoch_s":
            ax.fill_between(
                rows[x],
                rows[y],
                rows["median_per_epoch_s"],
                color=colour(facts, rung),
                alpha=0.2,
                linewidth=0,
            )
    rows = sweep[sweep["rung"] == ROOFLINE].sort_values(x)
    if not rows.empty:
        ax.plot(rows[x], rows[y], label=probe, **PROBE.line_kwargs())
    ax.set_xscale("log")
    ax.set_yscale("log")
    legend(ax)
    return fig


def plot_time_vs_m(facts: Facts) -> Figure | None:
    sweep = facts.m_sweep
    if sweep.empty:
        return None
    n = int(sweep["n"].iat[0])
    labels = (f"Time per epoch against m (n = {n}, float64)", "examples m", "time per epoch (s)")
    return _lines_by_rung(facts, sweep, "m", "time_per_epoch_s", labels, "roofline: read X once")


def _speedups(found) -> tuple[list[float], list[list[float]]]:
    """The other's epoch over each subject's (a speedup: above 1 the subject is faster), and how far
    its 95% interval reaches below and above it: what an error bar draws."""
    values, low, high = [], [], []
    for stated in found:
        r = stated.ratio  # the subject's epoch over the other's
        values.append(1 / r.estimate)
        low.append(1 / r.estimate - 1 / r.high)
        high.append(1 / r.low - 1 / r.estimate)
    return values, [low, high]


def plot_speedup_over_baseline(facts: Facts) -> Figure | None:
    """Each rung's epoch against the baseline rung's in the same side-by-side rounds, at the baseline's
    largest size: the speedup with its 95% interval."""
    size = facts.sizes.python
    if size is None:
        return None
    baseline = facts.ladder.baseline
    found = [facts.ratios(r, baseline, size) for r in facts.order if r != baseline]
    found = [s for s in found if s is not None]
    if not found:
        return None
    names = [s.subject for s in found]
    speedups, errors = _speedups(found)
    title = f"Speedup over {baseline} at {fmt_size(size)}, side by side (95% interval)"
    fig, ax = figure(facts, title, "speedup (×, log scale)", "")
    ax.barh(names[::-1], speedups[::-1], color=[colour(facts, r) for r in names[::-1]])
    ax.errorbar(
        speedups[::-1], names[::-1], xerr=[e[::-1] for e in errors], fmt="none", ecolor="black", capsize=3
    )
    ax.set_xscale("log")
    for y, (value, above, stated) in enumerate(zip(speedups, errors[1], found, strict=True)):
        ax.text((value + above) * 1.05, len(found) - 1 - y, f" {numbers(stated)}", va="center", fontsize=8)
    fig.subplots_adjust(left=0.2, right=0.9)
    return fig


def plot_speedup_over_reference(facts: Facts) -> Figure | None:
    """The one-process rung's epoch against the reference's along the m sweep, each point the ratio of
    the same side-by-side rounds with its 95% interval as an error bar."""
    reference, rung = facts.ladder.reference, facts.ladder.one_process
    found = dict(next((f for r, f in facts.crossovers if r == rung), []))
    if not found:
        return None
    n = found[min(found)].point[1]
    title = f"Speedup over {reference} against m (n = {n}, float64), side by side (95% interval)"
    fig, ax = figure(facts, title, "examples m", f"speedup over {reference} (×)")
    ms = sorted(found)
    speedups, errors = _speedups([found[m] for m in ms])
    kwargs = style(facts, rung).line_kwargs()
    ax.errorbar(ms, speedups, yerr=errors, label=rung, capsize=3, **kwargs)
    ax.axhline(1.0, color="black", linewidth=1)
    ax.text(ms[-1], 1.0, f"{reference} ", ha="right", va="bottom", fontsize=8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    low, high = ax.get_ylim()  # plain ticks (0.5×, 1×, 2×), not 5×10⁻¹
    ax.set_yticks(
        [
            t
            for t in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 0.7, 1, 1.5, 2, 3, 5, 10, 20, 50, 100)
            if low <= t <= high
        ]
    )
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}×"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    legend(ax)
    return fig


def plot_bandwidth(facts: Facts) -> Figure | None:
    sweep = facts.m_sweep
    if sweep.empty:
        return None
    n = int(sweep["n"].iat[0])
    labels = (f"Effective bandwidth: bytes of X per epoch ÷ time (n = {n}, float64)", "examples m", "GB/s")
    return _lines_by_rung(facts, sweep, "m", "bandwidth_gb_s", labels, "roofline probe")


def plot_n_sweep(facts: Facts) -> Figure | None:
    sweep = facts.n_sweep
    if sweep.empty:
        return None
    m = int(sweep["m"].iat[0])
    labels = (f"Time per epoch against n (m = {m:,}, float64)", "features n", "time per epoch (s)")
    return _lines_by_rung(facts, sweep, "n", "time_per_epoch_s", labels, "roofline: read X once")


def _axis_bars(facts: Facts, title: str, pairs: list[tuple[str, str, str]], size: tuple[int, int]) -> Figure:
    """Grouped bars of time per epoch: one group per rung, one bar per (label, dtype, threads)."""
    fig, ax = figure(facts, title, "", "time per epoch (s)")
    names = [r for r in [*facts.order, ROOFLINE] if any(facts.t_epoch(r, size, d, th) for _, d, th in pairs)]
    width = 0.8 / len(pairs)
    for k, (label, dtype, threads) in enumerate(pairs):
        values = [facts.t_epoch(r, size, dtype, threads) or 0.0 for r in names]
        xs = np.arange(len(names)) + (k - (len(pairs) - 1) / 2) * width
        ax.bar(
            xs,
            values,
            width,
            color=[colour(facts, r) for r in names],
            hatch=["", "//"][k % 2],
            edgecolor=["white" if r == ROOFLINE else "black" for r in names],
            linewidth=0.5,
            label=label,
        )
    ax.set_xticks(np.arange(len(names)), names, rotation=30, ha="right")
    ax.set_yscale("log")
    fig.subplots_adjust(bottom=0.3)
    # The colours are the rungs'; the legend says what the hatching means.
    handles = [
        Patch(facecolor="white", edgecolor="black", hatch=["", "//"][k % 2]) for k in range(len(pairs))
    ]
    ax.legend(
        handles,
        [label for label, _, _ in pairs],
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        fontsize=9,
        frameon=False,
    )
    return fig


def plot_dtype(facts: Facts) -> Figure | None:
    size = facts.sizes.axis32
    if size is None:
        return None
    pairs = [("float64", "float64", "all"), ("float32", "float32", "all")]
    return _axis_bars(facts, f"float32 against float64 at {fmt_size(size)}", pairs, size)


def plot_threads(facts: Facts) -> Figure | None:
    size = facts.sizes.axis_one
    if size is None:
        return None
    pairs = [("all threads", "float64", "all"), ("one thread", "float64", "one")]
    fig = _axis_bars(facts, f"One thread against all at {fmt_size(size)} (float64)", pairs, size)
    without = [r for r in facts.order if facts.t_epoch(r, size, "float64", "all")]
    without = [r for r in without if facts.t_epoch(r, size, "float64", "one") is None]
    serial = [r for r in without if not facts.ladder.threaded(r)]
    cluster = [r for r in without if r in facts.ladder.distributed]
    notes = [f"{', '.join(serial)}: one thread in both settings (serial code)"] if serial else []
    notes += (
        [f"{', '.join(cluster)}: no one-thread setting (the cluster's workers are its own)"]
        if cluster
        else []
    )
    if notes:
        lines = ["No one-thread bar:", *(line for note in notes for line in textwrap.wrap(note, 34))]
        fig.text(0.74, 0.62, "\n".join(lines), fontsize=8, va="top")
    return fig


def plot_jit(facts: Facts) -> Figure | None:
    jit = facts.jit[facts.jit["dtype"] == "float64"]
    if jit.empty:
        return None
    fig, (ax_compile, ax_even) = plt.subplots(1, 2, figsize=(10, 4.8), dpi=110)
    fig.subplots_adjust(left=0.16, right=0.97, top=0.86, bottom=0.2, wspace=0.45)
    reference = facts.ladder.reference
    fig.suptitle(f"JIT compilation: its cost, and when it pays off against {reference}")
    add_footer(fig, footer(facts))
    names = [r for r in facts.order if r in set(jit["rung"])]
    seconds = [float(jit[jit["rung"] == r]["min_s"].iat[0]) for r in names]
    ax_compile.barh(names[::-1], seconds[::-1], color=[colour(facts, r) for r in names[::-1]])
    ax_compile.set_xlabel("compile time, first call (s; best round)")
    ax_compile.set_title("compile time (float64)")
    never_repaid = False
    for rung in names:
        epochs = facts.break_even[rung]  # NaN where the rung is not faster: it never repays, no point
        if epochs.notna().any():
            ax_even.plot(epochs.index, epochs.values, label=rung, **style(facts, rung).line_kwargs())
            never_repaid = never_repaid or epochs.isna().any()
    ax_even.set_xscale("log")
    ax_even.set_yscale("log")
    ax_even.set_xlabel("examples m")
    ax_even.set_ylabel("epochs to repay compilation")
    ax_even.set_title(f"break-even against {reference} (n fixed)")
    if never_repaid:
        ax_even.text(
            0.02, 0.02, "no point: never repaid (not faster there)", transform=ax_even.transAxes, fontsize=7
        )
    ax_even.grid(True, alpha=0.3)
    if ax_even.lines:
        ax_even.legend(fontsize=8, frameon=False)
    return fig


def plot_memory(facts: Facts) -> Figure | None:
    """Bytes each rung allocates in a fit of one epoch beyond X and y, in m-long arrays of the dtype."""
    mem = facts.memory
    if mem.empty:
        return None
    hidden = set(mem[mem["own_allocator"] == True]["rung"])  # noqa: E712 (a column of objects)
    names = [r for r in facts.order if r in set(mem["rung"]) - hidden]
    arrays = [float(mem[mem["rung"] == r]["m_arrays"].iat[0]) for r in names]
    m, n = int(mem["m"].iat[0]), int(mem["n"].iat[0])
    fig, ax = figure(
        facts,
        f"Peak memory of a one-epoch fit beyond X and y ({fmt_size((m, n))}, float64)",
        "peak, in m-long arrays (peak bytes ÷ 8m)",
        "",
    )
    ax.barh(names[::-1], arrays[::-1], color=[colour(facts, r) for r in names[::-1]])
    for y, value in enumerate(arrays[::-1]):
        ax.text(value, y, f" {value:.2f}", va="center", fontsize=8)
    fig.subplots_adjust(left=0.2, right=0.9)
    if hidden:
        ordered = [r for r in facts.order if r in hidden]
        ax.set_title(
            ax.get_title() + f"\n(not shown: {', '.join(ordered)}, whose allocators Python cannot trace)",
            fontsize=10,
        )
    return fig


def plot_cost_vs_time(facts: Facts, lbfgs: bool = False) -> Figure | None:
    """The training cost against wall-clock time: the descent's costs, epoch by epoch, placed at the
    main page's three rungs' own time per epoch at that size (``lbfgs``: the one-process rung's
    only, beside L-BFGS's costs at the times its iterations ended)."""
    if not facts.curves or (lbfgs and not facts.curves[0]["lbfgs_times_s"]):
        return None
    curve = facts.curves[0]
    m, n = curve["m"], curve["n"]
    costs = np.asarray(curve["descent_costs"])
    what = "descent against L-BFGS" if lbfgs else "the three steps"
    title = f"Training cost against time, {what} ({fmt_size((m, n))})"
    fig, ax = figure(facts, title, "wall-clock time (s, log scale)", "training cost J(w, b)")
    epochs = np.arange(1, len(costs))
    ladder = facts.ladder
    drawn = (ladder.one_process,) if lbfgs else (ladder.baseline, ladder.reference, ladder.one_process)
    for rung in [r for r in facts.order if r in drawn]:
        t = facts.t_epoch(rung, (m, n))
        if t is not None:
            kwargs = style(facts, rung).line_kwargs() | {"marker": None}
            ax.plot(epochs * t, costs[1:], label=rung, **kwargs)
    if lbfgs:
        ax.plot(
            curve["lbfgs_times_s"], curve["lbfgs_costs"], color="black", linewidth=2.5, label="L-BFGS (SciPy)"
        )
    ax.axhline(curve["optimum"], color="#444444", linewidth=0.8, linestyle=":", label="the optimum")
    ax.set_xscale("log")
    legend(ax)
    return fig


def plot_ns_per_multiply_add(facts: Facts) -> Figure | None:
    """The one picture: what one multiply-add costs, rung by rung, and the floor that reading X sets."""
    found, floor, _ = facts.sections["ns_per_mac"]
    three = (facts.ladder.baseline, facts.ladder.reference, facts.ladder.one_process)  # the main page's
    found = [row for row in found if row[0] in three]
    if len(found) < 2:
        return None
    fig, ax = figure(facts, "What one multiply-add costs, rung by rung", "nanoseconds (log scale)", "")
    names = [name for name, _, _ in found][::-1]
    values = [ns for _, ns, _ in found][::-1]
    ax.barh(names, values, color=[colour(facts, r) for r in names])
    for y, (ns, (m, n)) in enumerate(zip(values, [size for _, _, size in found][::-1], strict=True)):
        ax.text(ns, y, f" {ns:.3g} ns  ({fmt_size((m, n))})", va="center", fontsize=8)
    ax.set_xscale("log")
    if floor is not None:
        ax.axvline(floor, color="black", linestyle="--")
        ax.text(
            floor, len(names) - 0.45, f" the floor: reading X once, {floor:.3g} ns", fontsize=8, va="bottom"
        )
        ax.set_ylim(top=len(names) - 0.1)  # room for the floor's label below the title
    ax.set_xlim(left=min([*values, floor or min(values)]) / 3, right=max(values) * 30)
    fig.subplots_adjust(left=0.2, right=0.95)
    return fig
