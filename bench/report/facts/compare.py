"""A rung against another rung, or against the probe, at the lesson's sizes: each comparison the
side-by-side ratio that the run's registry (``facts/ratios.py``) keeps for the pair at that point.

A rung's facts hold its times at named slots (``t_big``: the largest size of the m sweep, float64,
all threads, and so on); ``rung.vs[other][slot]`` is the ratio of the two rungs' epochs in the same
rounds at that slot's point, and ``rung.reads[slot]`` the rung's epoch in reads of X there. Either
is None where the two did not run side by side at that point: the page then prints the claim's gap.
"""

from __future__ import annotations

from bench.report.facts.ratios import Ratios, Stated
from bench.results.schema import ROOFLINE

#: Where each slot of a rung's facts is measured: the lesson's size it names, its dtype and threads
#: (``t_largest``: the largest size of the m sweep at which the rung itself ran).
SLOTS: dict[str, tuple[str, str, str]] = {
    "t_python": ("python", "float64", "all"),
    "per_madd": ("python", "float64", "all"),
    "t_big": ("big", "float64", "all"),
    "t_big_one": ("big", "float64", "one"),
    "t_small": ("small", "float64", "all"),
    "t_short": ("short", "float64", "all"),
    "t_long": ("long", "float64", "all"),
    "t64": ("axis32", "float64", "all"),
    "t32": ("axis32", "float32", "all"),
    "t_largest": ("largest", "float64", "all"),
}


def point_of(slot: str, sizes, mine) -> tuple:
    """(size, dtype, threads) of a slot for the rung ``mine``; KeyError for an unknown slot."""
    where, dtype, threads = SLOTS[slot]
    size = mine.largest if where == "largest" else getattr(sizes, where)
    return size, dtype, threads


class Against:
    """One rung against one other (or the probe), slot by slot: each the registry's ratio."""

    def __init__(self, mine, other: str, ratios: Ratios, sizes):
        self._mine, self._other, self._ratios, self._sizes = mine, other, ratios, sizes

    def __getitem__(self, slot: str) -> Stated | None:
        size, dtype, threads = point_of(slot, self._sizes, self._mine)
        return self._ratios(self._mine.name, self._other, size, dtype, threads)


class Versus:
    """A rung against each rung of its run, by name (``rung.vs[other][slot]``), or against the probe
    (``rung.vs.roofline``); a name the run does not have fails."""

    def __init__(self, mine, everyone, ratios: Ratios, sizes):
        self._mine, self._everyone, self._ratios, self._sizes = mine, everyone, ratios, sizes

    def __getitem__(self, name: str) -> Against:
        if name != ROOFLINE and name not in self._everyone:
            raise KeyError(name)
        return Against(self._mine, name, self._ratios, self._sizes)
