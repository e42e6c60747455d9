"""Times and their comparisons: a best round that carries its rounds, and the verdict of one time against
another, decided here once so that the pages only word it.

A verdict ("faster", "slower" or "level") follows the 95% interval of the ratio of the two times
where both kept rounds (else the span of their middle halves); the figures a page shows beside it
are the best rounds. Every rung's comparisons with every other rung are kept per rung
(:class:`Versus`): each is computed the first time a page reads it and kept, a bootstrap each,
so a run pays only for the comparisons its lesson states.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ladderstats import Ratio, independent

#: The times a rung's facts hold that two rungs are compared at (the same size, dtype and threads).
SLOTS = ("t_python", "t_big", "t_big_one", "t_small", "t_short", "t_long", "t64", "t32", "per_madd")


def ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


class Timing(float):
    """Seconds (a benchmark's best round, per epoch), carrying what a comparison needs: ``rounds``, the
    rounds the run kept (per epoch), and ``middle``, its quartiles and median. Dividing or multiplying
    by a number scales all three (seconds per multiply-add, say)."""

    rounds: tuple[float, ...]
    middle: tuple[float, float, float] | None  # first quartile, median, third quartile

    def __new__(cls, seconds: float, rounds=(), middle=None):
        self = super().__new__(cls, seconds)
        self.rounds, self.middle = tuple(rounds), middle
        return self

    def _scaled(self, factor: float) -> Timing:
        middle = None if self.middle is None else tuple(q * factor for q in self.middle)
        return Timing(float(self) * factor, [r * factor for r in self.rounds], middle)

    def __truediv__(self, other):
        if isinstance(other, int | float) and not isinstance(other, Timing):
            return self._scaled(1 / other)
        return float(self) / other

    def __mul__(self, other):
        if isinstance(other, int | float) and not isinstance(other, Timing):
            return self._scaled(other)
        return float(self) * other

    __rmul__ = __mul__


def interval(t, other) -> Ratio | None:
    """t over other with its 95% interval where both kept rounds; else the span of their middle
    halves (quartiles); None where either is a plain number."""
    if not (isinstance(t, Timing) and isinstance(other, Timing)):
        return None
    if len(t.rounds) >= 2 and len(other.rounds) >= 2:
        return independent(t.rounds, other.rounds)
    if t.middle and other.middle:
        low, high = t.middle[0] / other.middle[2], t.middle[2] / other.middle[0]
        return Ratio(t.middle[1] / other.middle[1], low, high, 0, False)
    return None


@dataclass(frozen=True)
class Comparison:
    """``t`` against ``other`` (seconds, both measured): the ratio of the times a page shows (best
    rounds), the interval of their ratio where there is one, and the verdicts the words follow."""

    t: float
    other: float
    interval: Ratio | None

    @property
    def ratio(self) -> float:
        return self.t / self.other

    @property
    def verdict(self) -> str:
        """ "faster", "slower" or "level": by the interval where there is one, else by value."""
        if self.interval is not None:
            return self.interval.verdict()
        return "faster" if self.t < self.other else "slower" if self.t > self.other else "level"

    @property
    def tied(self) -> bool:
        """The interval of the ratio includes a tie: the two cannot be told apart."""
        return self.interval is not None and self.interval.verdict() == "level"

    @property
    def best_faster(self) -> bool:
        """Faster in its best round (the times the page shows)."""
        return self.t < self.other

    @property
    def best_slower(self) -> bool:
        return self.t > self.other

    @property
    def split(self) -> bool:
        """The best rounds and the medians point opposite ways."""
        return self.interval is not None and (self.ratio - 1) * (self.interval.estimate - 1) < 0


def compare(t: float | None, other: float | None) -> Comparison | None:
    """``t`` against ``other``, or None where either was not measured."""
    if t is None or other is None or t <= 0 or other <= 0:
        return None
    return Comparison(float(t), float(other), interval(t, other))


class Against:
    """One rung against another, slot by slot (``SLOTS``): each comparison made on first read and kept."""

    def __init__(self, mine, theirs):
        self._mine, self._theirs, self._made = mine, theirs, {}

    def __getitem__(self, slot: str) -> Comparison | None:
        if slot not in SLOTS:
            raise KeyError(slot)
        if slot not in self._made:
            self._made[slot] = compare(getattr(self._mine, slot), getattr(self._theirs, slot))
        return self._made[slot]


class Versus:
    """A rung against each rung of its run, by name (``rung.vs[other][slot]``); unknown names fail."""

    def __init__(self, mine, everyone: dict):
        self._mine, self._everyone, self._made = mine, everyone, {}

    def __getitem__(self, name: str) -> Against:
        if name not in self._made:
            self._made[name] = Against(self._mine, self._everyone[name])
        return self._made[name]


class Own:
    """A rung's times against each other: float32 against float64, all threads against one, and at its
    largest size against the reference rung there; each made on first read and kept."""

    PAIRS: ClassVar[dict[str, tuple[str, str]]] = {
        "float32": ("t32", "t64"),
        "all_threads": ("t_big", "t_big_one"),
        "at_largest": ("t_largest", "reference_at_largest"),
    }

    def __init__(self, mine):
        self._mine, self._made = mine, {}

    def __getitem__(self, name: str) -> Comparison | None:
        if name not in self._made:
            t, other = self.PAIRS[name]
            self._made[name] = compare(getattr(self._mine, t), getattr(self._mine, other))
        return self._made[name]
