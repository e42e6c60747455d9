"""Every ratio the lesson states, computed once: two rungs, or a rung and the probe, timed in the
same side-by-side rounds at one point (``bench.results.side.ratio``: the median of the per-round
ratios, its 95% interval a bootstrap over the fresh processes, then their rounds).

:class:`Ratios` is the run's one registry of them: asked for a pair at a point, it computes the
ratio the first time, keeps it, and hands the same :class:`Stated` to every page, table and chart
that states it. A pair the run did not time side by side at that point (an older results file, a
rung over the time budget there) has no ratio: the registry says None, and the statement is a gap.
No ratio is ever formed from two benchmarks timed apart, nor from best rounds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bench.results import side
from bench.results.schema import ROOFLINE
from ladderstats import RESAMPLES, Ratio

#: A point of the run: (m, n, dtype, threads setting).
Point = tuple[int, int, str, str]
#: Ratios already bootstrapped, by the rounds they came from: the same rounds give the same ratio (the
#: bootstrap's seed is fixed), so a second lesson of one results file in a process pays nothing.
_SEEN: dict[tuple, Ratio] = {}


def _ratio(race: dict, a: str, b: str) -> Ratio:
    """``side.ratio`` of the two, kept by their rounds."""
    key = (tuple(map(tuple, side.by_process(race, a))), tuple(map(tuple, side.by_process(race, b))))
    if key not in _SEEN:
        _SEEN[key] = side.ratio(race, a, b)
    return _SEEN[key]


@dataclass(frozen=True)
class Stated:
    """``subject``'s epoch against ``other``'s at ``point``, from the one ratio the registry keeps
    for the pair (``canonical``: ``first`` over ``second``, a fixed order of the two)."""

    subject: str
    other: str
    point: Point
    first: str
    canonical: Ratio

    @property
    def ratio(self) -> Ratio:
        """The subject's epoch over the other's (above 1: the subject takes longer)."""
        if self.subject == self.first:
            return self.canonical
        r = self.canonical
        return Ratio(1 / r.estimate, 1 / r.high, 1 / r.low, r.rounds, r.paired, r.confidence, r.processes)

    @property
    def verdict(self) -> str:
        """The subject is "faster", "slower" or "level" (the interval includes a tie)."""
        return self.ratio.verdict()

    @property
    def against_probe(self) -> bool:
        return ROOFLINE in (self.subject, self.other)

    @property
    def numbers(self) -> tuple[float, float, float]:
        """What a page prints, the same from either side: against the probe, the rung's epoch in
        reads of X (estimate, low, high); between two rungs, the longer epoch over the shorter."""
        r = self.canonical
        if self.against_probe or r.estimate >= 1:
            return r.estimate, r.low, r.high
        return 1 / r.estimate, 1 / r.high, 1 / r.low

    @property
    def key(self) -> tuple:
        """The pair and the point, whichever side is the subject."""
        return (*sorted((self.subject, self.other)), *self.point)

    def seen_from(self, subject: str) -> Stated:
        """The same ratio with ``subject`` first."""
        other = self.other if subject == self.subject else self.subject
        return Stated(subject, other, self.point, self.first, self.canonical)


class Ratios:
    """The run's side-by-side ratios, by pair and point, each computed on first request and kept."""

    def __init__(self, races: Iterable[dict], order: Iterable[str]):
        self._races = {(r["m"], r["n"], r["dtype"], r.get("threads_setting", "all")): r for r in races}
        self._order = list(order)
        self._made: dict[tuple, Stated] = {}

    def _rank(self, name: str) -> tuple[int, str]:
        """The ladder's order, rungs it does not list after it, the probe last."""
        if name == ROOFLINE:
            return (len(self._order) + 1, name)
        return (self._order.index(name) if name in self._order else len(self._order), name)

    def race(self, point: Point) -> dict | None:
        """The side-by-side record of a point, or None where the run has none."""
        return self._races.get(tuple(point))

    def points(self) -> list[Point]:
        return sorted(self._races, key=lambda p: (p[2], p[3], p[0] * p[1], p[1]))

    def ran(self, name: str, point: Point) -> bool:
        race = self.race(point)
        return race is not None and side.ran(race, name)

    def __call__(
        self, subject: str, other: str, size, dtype: str = "float64", threads: str = "all"
    ) -> Stated | None:
        """``subject`` against ``other`` at ``size`` (m, n) in that setting, or None where the two
        did not run side by side there."""
        if size is None or subject == other:
            return None
        point = (int(size[0]), int(size[1]), dtype, threads)
        if not (self.ran(subject, point) and self.ran(other, point)):
            return None
        first, second = sorted((subject, other), key=self._rank)
        key = (*sorted((subject, other)), *point)
        if key not in self._made:
            made = _ratio(self._races[point], first, second)
            self._made[key] = Stated(first, second, point, first, made)
        return self._made[key].seen_from(subject)

    def reads(self, rung: str, size, dtype: str = "float64", threads: str = "all") -> Stated | None:
        """A rung's epoch against the probe's read of X in the same rounds: its epoch in reads of X."""
        return self(rung, ROOFLINE, size, dtype, threads)

    def made(self) -> dict[tuple, Stated]:
        """Every ratio computed so far, by :attr:`Stated.key`: what the lesson's pages can state."""
        return dict(self._made)

    def design(self) -> dict | None:
        """How the side-by-side rounds were run: points, fresh processes per point, rounds per process,
        and whether every point's processes ran spread over the run (as passes) or back to back."""
        if not self._races:
            return None
        processes, per_process, rounds = [], [], []
        for race in self._races.values():
            counts = race.get("process_rounds") or [len(race.get("probe_s") or [])]
            processes.append(len(counts))
            per_process += [int(c) for c in counts]
            rounds.append(sum(int(c) for c in counts))
        return {
            "points": len(self._races),
            "processes": (min(processes), max(processes)),
            "per_process": (min(per_process), max(per_process)),
            "rounds": (min(rounds), max(rounds)),
            "resamples": RESAMPLES,
            "spread": all(race.get("side_passes") for race in self._races.values()),
        }
