"""What every chart shares: one style per rung, the figure with the machine's footer, the legend.

Every rung of a run's ladder gets a style of its own (a colour of its own up to 16 rungs, a marker
and a line), fixed by its place in the ladder, so a rung looks the same in every chart and no two
rungs share a colour. The probe is black and dashed.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from bench.report.facts import Facts
from bench.report.fmt import machine_footer
from bench.results.schema import ROOFLINE

# Okabe & Ito's colour-blind-safe palette (black is kept for the probe), then the darker colours of
# Paul Tol's palettes: 16 colours, so that no two rungs of a ladder share one in a chart.
OKABE_ITO = ["#E69F00", "#56B4E9", "#009E73", "#CC79A7", "#0072B2", "#D55E00", "#999999", "#F0E442"]
TOL = ["#332288", "#882255", "#117733", "#999933", "#AA4499", "#44AA99", "#661100", "#6699CC"]
COLOURS = OKABE_ITO + TOL
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
LINES = ["-", "--", ":"]
#: Wide enough for a legend beside the axes, at the width GitHub shows a picture (about 900 px).
WIDTH_IN, DPI = 9.6, 100


@dataclass(frozen=True)
class Style:
    colour: str
    marker: str
    line: str

    def line_kwargs(self) -> dict:
        return {"color": self.colour, "marker": self.marker, "linestyle": self.line}


PROBE = Style("#000000", "", "--")
#: Distinct styles in order: a colour each, then the same colours with other markers and lines.
STYLES = [
    Style(c, MARKERS[(i + k) % len(MARKERS)], line)
    for k, line in enumerate(LINES)
    for i, c in enumerate(COLOURS)
]


def style(facts: Facts, rung: str) -> Style:
    """A rung's style: its place in the run's ladder (rungs it does not list follow, by name)."""
    if rung == ROOFLINE:
        return PROBE
    ladder = list(facts.ladder.order)
    names = ladder + sorted(set(facts.order) - set(ladder))
    return STYLES[names.index(rung) % len(STYLES)]


def colour(facts: Facts, rung: str) -> str:
    return style(facts, rung).colour


def marker(facts: Facts, rung: str) -> str:
    return style(facts, rung).marker


def footer(facts: Facts) -> str:
    return machine_footer(facts.machine, facts.datetime)


def new_figure(
    footer_text: str, title: str, xlabel: str, ylabel: str, height: float = 5.4
) -> tuple[Figure, plt.Axes]:
    """One axes with room for a legend on its right, the title wrapped, the footer at the bottom."""
    fig, ax = plt.subplots(figsize=(WIDTH_IN, height), dpi=DPI)
    fig.subplots_adjust(left=0.09, right=0.72, top=0.88, bottom=0.16)
    ax.set_title("\n".join(textwrap.wrap(title, 70)), fontsize=11)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, which="major", alpha=0.3)
    add_footer(fig, footer_text)
    return fig, ax


def add_footer(fig: Figure, text: str) -> None:
    """The machine and the run, in small type at the bottom, wrapped to the figure's width."""
    lines = textwrap.wrap(text, 150)
    fig.text(0.01, 0.01, "\n".join(lines), fontsize=7, color="#444444", va="bottom")


def figure(facts: Facts, title: str, xlabel: str, ylabel: str) -> tuple[Figure, plt.Axes]:
    return new_figure(footer(facts), title, xlabel, ylabel)


def legend(ax: plt.Axes) -> None:
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9, frameon=False)
