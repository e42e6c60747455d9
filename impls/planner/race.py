"""The one rule of every race: contenders take turns in shuffled rounds, and one is dropped once
it is surely slower than the best.

Successive elimination, on paired rounds: every contender still running runs once per round, in
a new order each round, so that a burst of other work on a shared machine slows one round of
each, not all rounds of one. After each round, from the least number of rounds a 95% interval
needs (``ladderstats.least_rounds``), the ratio of each contender's times to the best one's
(lowest median), round by round, gets its interval (``ladderstats.paired``); a contender whose
whole interval lies above ``1 + margin`` stops. With an incumbent, a contender that surely cannot
beat it by the margin (its ratio to the incumbent's times wholly above ``1 / (1 + margin)``) stops
too: it could never take the incumbent's place. The race ends

* when one contender is left (the incumbent alone: nothing was surely faster, ``ended`` says so);
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
import statistics
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
    confirm_most: int = 3  # most finalists that take turns: the race's choice and its next best
    confirm_seconds: float = 3.0  # most seconds of those turns, over every process that takes them


RULES = Rules()


#: Why a race ended: one contender left ("alone"), the incumbent left because no other could
#: surely beat it ("kept"), a tie within the margin, its rounds or its seconds spent.
ENDINGS = ("alone", "kept", "tie", "rounds", "time")


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
        seed: int | None = 0,
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
        self.ended = "alone" if self.finished else None  # why it ended: ENDINGS
        self._rng = np.random.default_rng(seed)
        self._order: list[str] = []
        self._ratios: dict[tuple[str, str, int], stats.Ratio] = {}  # of whole rounds: they never change

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
        self._finish("time")

    def _finish(self, why: str) -> None:
        if not self.finished:
            self.finished, self.ended = True, why

    def _end_round(self) -> None:
        self.rounds += 1
        rounds = self.rounds
        if self.eliminate and rounds >= stats.least_rounds(self.rules.confidence):
            best = self.best()
            ratios = {c: self.ratio(c, best) for c in self.running if c != best}
            tie = 1 + self.rules.margin
            self.running = [c for c in self.running if c == best or ratios[c].low <= tie]
            incumbent = self.incumbent if self.incumbent in self.running else None
            if incumbent is not None:  # who surely cannot beat it by the margin could never replace it
                self.running = [
                    c for c in self.running if c == incumbent or self.ratio(c, incumbent).low * tie < 1
                ]
            if len(self.running) == 1:
                self._finish("kept" if self.running == [incumbent] else "alone")
            elif all(self.ratio(c, self.best()).high <= tie for c in self.running if c != self.best()):
                self._finish("tie")
        if rounds >= self.max_rounds:
            self._finish("rounds")

    def state(self) -> dict:
        """What a later process needs to go on with this race: times, whole rounds, who is running."""
        return {
            "times": {name: list(values) for name, values in self.times.items()},
            "rounds": self.rounds,
            "running": list(self.running),
        }

    def resume(self, state: dict) -> Race:
        """Go on from ``state`` (of :meth:`state`; a round under way then is left out). Returns self."""
        rounds = int(state["rounds"])
        running = [c for c in state["running"] if c in self.times]
        if rounds <= 0 or not running:
            return self
        self.rounds, self.running, self._order, self._ratios = rounds, running, [], {}
        for name in self.contenders:
            values = [float(t) for t in state["times"].get(name, [])]
            self.times[name] = values[:rounds]
        if len(self.running) == 1:
            self._finish("kept" if self.running == [self.incumbent] else "alone")
        elif rounds >= self.max_rounds:
            self._finish("rounds")
        return self

    def best(self) -> str:
        """The running contender with the lowest median time."""
        return min(self.running, key=lambda c: statistics.median(self.times[c] or [math.inf]))

    def ratio(self, name: str, other: str) -> stats.Ratio:
        """``name``'s times over ``other``'s in the rounds both ran, with the interval (each pair
        once a round: a confirmation's round ends inside the caller's fit)."""
        rounds = min(len(self.times[name]), len(self.times[other]), self.rounds)
        known = self._ratios.get((name, other, rounds))
        if known is None:
            a, b = self.times[name][:rounds], self.times[other][:rounds]
            known = self._ratios[name, other, rounds] = stats.paired(a, b, self.rules.confidence)
        return known

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
    seed: int | None = 0,
) -> Race:
    """A whole race on ``clock``: ``run(name)`` is one turn (``per_timing`` units of work). It ends by
    the rule, at ``max_rounds`` (default: the rules'), or when ``seconds`` (default: the rules') are
    up after at least ``min_rounds`` rounds. ``seed`` draws the rounds' orders (None: fresh ones)."""
    race = Race(contenders, rules, incumbent=incumbent, max_rounds=max_rounds, eliminate=eliminate, seed=seed)
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
