"""The distributed rung's chart: its epoch and empty epoch against m, and against the number of blocks."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from bench.report.charts.style import colour, footer, marker
from bench.report.facts import Facts
from bench.report.fmt import fmt_size


def plot_dask(run: Facts) -> Figure | None:
    """The distributed rung: its epoch and its empty epoch against m, and against the number of blocks."""
    facts = run.distributed
    if facts is None or not facts.sweep:
        return None
    panels = 2 if facts.blocks else 1
    fig, axes = plt.subplots(1, panels, figsize=(5.6 * panels, 5.0), dpi=110, layout="constrained")
    left = np.atleast_1d(axes)[0]
    sweep = pd.DataFrame(facts.sweep)
    one = sweep.dropna(subset=["one_process"])
    style = {"marker": marker(run, facts.rung), "color": colour(run, facts.rung)}
    left.plot(sweep["m"], sweep["epoch"], label=f"{facts.rung}: epoch", **style)
    left.plot(
        sweep["m"], sweep["empty"], linestyle=":", label=f"{facts.rung}: empty epoch (scheduling)", **style
    )
    other = {"marker": marker(run, facts.one_process), "color": colour(run, facts.one_process)}
    left.plot(one["m"], one["one_process"], label=f"{facts.one_process}: epoch", **other)
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
    fig.supxlabel(footer(run), fontsize=7, color="#444444")
    return fig
