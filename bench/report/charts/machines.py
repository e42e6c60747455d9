"""The machines page's chart: each rung's epoch in reads of its own machine's X, one bar per machine."""

from __future__ import annotations

import numpy as np

from bench.report.charts.style import OKABE_ITO, legend, new_figure
from bench.report.facts.machines import Machine, rungs


def plot_machines(machines: list[Machine]):
    """Grouped bars: each rung's epoch in reads of its machine's X (side by side with the probe), one
    bar per machine, its 95% interval as an error bar."""
    names = [r for r in rungs(machines) if any(r in m.reads for m in machines)]
    if not names:
        return None
    footer = " · ".join(f"{m.label}: {m.cpu}" for m in machines)
    fig, ax = new_figure(
        footer,
        "Epoch in reads of X at each machine's largest size (float64), side by side (95% interval)",
        "",
        "epoch ÷ the probe's read of X, same rounds",
    )
    width = 0.8 / len(machines)
    for k, m in enumerate(machines):
        xs = np.arange(len(names)) + (k - (len(machines) - 1) / 2) * width
        found = [(x, m.reads[r].ratio) for x, r in zip(xs, names, strict=True) if r in m.reads]
        at, values = [x for x, _ in found], [r.estimate for _, r in found]
        errors = [[r.estimate - r.low for _, r in found], [r.high - r.estimate for _, r in found]]
        ax.bar(at, values, width, color=OKABE_ITO[k % len(OKABE_ITO)], label=m.label)
        if found:
            ax.errorbar(at, values, yerr=errors, fmt="none", ecolor="black", capsize=2)
    ax.axhline(1.0, color="black", linestyle="--", linewidth=1)
    ax.set_xticks(np.arange(len(names)), names, rotation=30, ha="right")
    fig.subplots_adjust(bottom=0.3)
    legend(ax)
    return fig
