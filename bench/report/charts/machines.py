"""The machines page's chart: each rung's share of its own machine's roofline, one bar per machine."""

from __future__ import annotations

import numpy as np

from bench.report.charts.style import OKABE_ITO, legend, new_figure
from bench.report.facts.machines import Machine, rungs


def plot_machines(machines: list[Machine]):
    """Grouped bars: each rung's share of its machine's roofline, one bar per machine."""
    names = [r for r in rungs(machines) if any(r in m.shares for m in machines)]
    if not names:
        return None
    footer = " · ".join(f"{m.label}: {m.cpu}" for m in machines)
    fig, ax = new_figure(
        footer, "Share of the roofline at each machine's largest size (float64)", "", "share of the probe"
    )
    width = 0.8 / len(machines)
    for k, m in enumerate(machines):
        xs = np.arange(len(names)) + (k - (len(machines) - 1) / 2) * width
        values = [m.shares.get(r, 0.0) for r in names]
        ax.bar(xs, values, width, color=OKABE_ITO[k % len(OKABE_ITO)], label=m.label)
    ax.set_xticks(np.arange(len(names)), names, rotation=30, ha="right")
    fig.subplots_adjust(bottom=0.3)
    legend(ax)
    return fig
