"""What every chart shares: one style per rung, the figure with the machine's footer, the legend."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from bench.report import select
from bench.report.fmt import machine_footer
from bench.report.load import Results
from bench.schema import ROOFLINE

# Okabe & Ito's colour-blind-safe palette; black is kept for the roofline probe.
OKABE_ITO = ["#E69F00", "#56B4E9", "#009E73", "#CC79A7", "#0072B2", "#D55E00", "#999999", "#F0E442"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]


def _style_index(results: Results, rung: str) -> int:
    """A rung's fixed place in the palette: its place in the run's ladder, so colours agree across charts."""
    ladder = list(results.ladder.order)
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


def figure(results: Results, title: str, xlabel: str, ylabel: str) -> tuple[Figure, plt.Axes]:
    return new_figure(machine_footer(results.machine, results.datetime), title, xlabel, ylabel)


def legend(ax: plt.Axes) -> None:
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
