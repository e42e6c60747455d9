"""The planned rung's chart: every candidate's speed at the main axis size, the plan marked."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from bench.report.charts.style import footer
from bench.report.facts import Facts
from bench.report.fmt import fmt_size, setting


def plot_tuning(facts: Facts) -> Figure | None:
    """The planned rung's candidates at the main axis size: each one's best epoch on the benchmark's data
    (times only: no ratio is formed from best rounds)."""
    size = facts.sizes.axis_all
    entries = [e for e in facts.tuning if size and (e["m"], e["n"]) == tuple(size)]
    if not entries:
        return None
    fig, axes = plt.subplots(
        1, len(entries), figsize=(4.2 * len(entries), 5.6), dpi=110, sharey=True, layout="constrained"
    )
    names = list(entries[0]["landscape_best_s"])
    for ax, entry in zip(np.atleast_1d(axes), entries, strict=True):
        best = entry["landscape_best_s"]
        times = [best[name] * 1e3 for name in names]
        colours = ["#0072B2" if name == entry["plan"] else "#999999" for name in names]
        ax.barh(names[::-1], times[::-1], color=colours[::-1])
        ax.set_xlim(0, max(times) * 1.08)
        ax.set_title(setting(entry), fontsize=9)
        ax.set_xlabel("best epoch (ms)")
        ax.grid(True, axis="x", alpha=0.3)
    fig.suptitle(
        f"{facts.ladder.planned}'s candidates at {fmt_size(size)}, timed interleaved on this data (blue: the plan used)",
        fontsize=10,
    )
    fig.supxlabel(footer(facts), fontsize=7, color="#444444")
    return fig
