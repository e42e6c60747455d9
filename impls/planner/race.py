"""The one rule of every race: contenders take turns in shuffled rounds, and one is dropped once
it is surely slower than the best.

Successive elimination, on paired rounds: every contender still running runs once per round, in
a new order each round, so that a burst of other work on a shared machine slows one round of
each, not all rounds of one. After each round, from the least number of rounds a 95% interval
needs (``ladderstats.least_rounds``), the ratio of each contender's times to the best one's
(lowest median), round by round, gets its interval (``ladderstats.paired``); a contender whose
whole interval lies above ``1 + margin`` stops. The race ends

* when one contender is left;
* when every other one is surely within the margin of the best (a tie): the incumbent stays,
  or, without one, the first contender of those given (the simplest);
* when its rounds or its seconds run out: the incumbent stays if it is still running (a change
  must be earned), else the best.

The planner races its candidates so on generated data, then its finalists on the caller's own X
(``execute``); the benchmarks race the rungs so (``eliminate=False``: every rung, every round).
A race is driven from outside (``next``, ``add``), so the clock and the work are the caller's.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

import ladderstats as stats


@dataclass(frozen=True)
class Rules:
    """All of the planner's rules (a benchmark run records them, ``dataclasses.asdict``)."""

    seconds: float = 4.0  # timing budget of the race on generated data
    max_rounds: int = 60  # most rounds of any race
    margin: float = 0.03  # a difference under this is a tie: the incumbent stays
    confidence: float = 0.95  # of the intervals that drop a contender
    turn_s: float = 1e-3  # a timed turn runs whole epochs, at least this long (short ones batched)
    confirm_rounds: int = 12  # most rounds of the finalists' turns on the caller's X


RULES = Rules()


class Race:
    """A race in progress: whose turn it is, the times so far, who is still running."""

    def __init__(
        self,
        contenders: Sequence[str],
        rules: Rules = RULES,
        *,
        incumbent: str | None = None,
        max_rounds: int | None = None,
        eliminate: bool = True,
        seed: int = 0,
    ):
        if not contenders:
            raise ValueError("a race needs at least one contender")
        self.contenders = tuple(dict.fromkeys(contenders))
        self.rules, self.incumbent, self.eliminate = rules, incumbent, eliminate
        self.max_rounds = max_rounds or rules.max_rounds
        self.times: dict[str, list[float]] = {name: [] for name in self.contenders}
        self.running = list(self.contenders)
        self.rounds = 0
        self.finished = len(self.running) == 1
        self._rng = np.random.default_rng(seed)
        self._order: list[str] = []

    def next(self) -> str:
        """Whose turn it is (after the race has finished: its choice)."""
        if self.finished:
            return self.choice()
        if not self._order:
            self._order = [self.running[k] for k in self._rng.permutation(len(self.running))]
        return self._order[0]

    def add(self, name: str, seconds: float) -> None:
        """``name``'s turn took ``seconds`` (per unit of work); a turn out of order is ignored."""
        if self.finished or not self._order or name != self._order[0]:
            return
        self._order.pop(0)
        self.times[name].append(seconds)
        if not self._order:
            self._end_round()

    @property
    def between_rounds(self) -> bool:
        """No round under way: every running contender has had as many turns."""
        return not self._order

    def time_up(self) -> None:
        """The race's time is spent: it ends here (a round under way is left out of its ratios)."""
        self.finished = True

    def _end_round(self) -> None:
        self.rounds += 1
        rounds = self.rounds
        if self.eliminate and rounds >= stats.least_rounds(self.rules.confidence):
            best = self.best()
            ratios = {c: self.ratio(c, best) for c in self.running if c != best}
            tie = 1 + self.rules.margin
            self.running = [c for c in self.running if c == best or ratios[c].low <= tie]
            if all(ratios[c].high <= tie for c in self.running if c != best):
                self.finished = True
        if len(self.running) == 1 or rounds >= self.max_rounds:
            self.finished = True

    def best(self) -> str:
        """The running contender with the lowest median time."""
        return min(self.running, key=lambda c: float(np.median(self.times[c])) if self.times[c] else math.inf)

    def ratio(self, name: str, other: str) -> stats.Ratio:
        """``name``'s times over ``other``'s in the rounds both ran, with the interval."""
        rounds = min(len(self.times[name]), len(self.times[other]), self.rounds)
        return stats.paired(self.times[name][:rounds], self.times[other][:rounds], self.rules.confidence)

    def choice(self) -> str:
        """The incumbent while it runs; else, in a tie, the first of those given; else the best."""
        if self.incumbent in self.running:
            return self.incumbent
        if self.finished and self.rounds and len(self.running) > 1:
            best = self.best()
            tie = 1 + self.rules.margin
            if all(self.ratio(c, best).high <= tie for c in self.running if c != best):
                return next(c for c in self.contenders if c in self.running)
        return self.best()


def run_race(
    contenders: Sequence[str],
    run: Callable[[str], object],
    clock: Callable[[], float],
    rules: Rules = RULES,
    *,
    incumbent: str | None = None,
    eliminate: bool = True,
    min_rounds: int = 1,
    max_rounds: int | None = None,
    seconds: float | None = None,
    per_timing: int = 1,
) -> Race:
    """A whole race on ``clock``: ``run(name)`` is one turn (``per_timing`` units of work). It ends by
    the rule, at ``max_rounds`` (default: the rules'), or when ``seconds`` (default: the rules') are
    up after at least ``min_rounds`` rounds."""
    race = Race(contenders, rules, incumbent=incumbent, max_rounds=max_rounds, eliminate=eliminate)
    budget = rules.seconds if seconds is None else seconds
    began = clock()
    while not race.finished:
        name = race.next()
        start = clock()
        run(name)
        race.add(name, (clock() - start) / per_timing)
        if race.between_rounds and race.rounds >= min_rounds and clock() - began >= budget:
            race.time_up()
    return race
