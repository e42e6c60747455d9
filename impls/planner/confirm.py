"""The confirmation of a measured plan on the caller's own X, in turns that fits take.

The race on generated data leaves finalists: the kernels it did not find surely slower than the
best, or than the incumbent. On the caller's data they take turns at the first epochs the rung
runs for the key, by the race's one rule (``race.Race``, the race's choice the incumbent), so a
kernel the race measured as surely slower is never run again. A turn runs one finalist's epochs
until they last ``Rules.turn_s``, within one fit or over several short ones; what the race
compares is its seconds per row and epoch, so fits of different m in one data class count alike.

Where its rounds or seconds run out before the rule decides, a finalist whose paired median on
the caller's X beats the race's choice by more than the margin takes its place (a tie, a "kept",
or a difference within the margin leaves the race's choice). What it may
cost is bounded: at most ``Rules.confirm_rounds`` rounds and ``Rules.confirm_seconds``
of turns, counted over every process. Its state (each finalist's times, the rounds, who is still
running, the seconds spent) goes into the key's wisdom entry, so the next process goes on where
this one stopped instead of starting again (``planning`` writes it).
"""

from __future__ import annotations

import math

import numpy as np

import ladderstats as stats
from impls.planner import race


class Confirmation:
    """One key's confirmation under way: whose turn it is, for how many epochs, and what it cost."""

    def __init__(self, contenders, rules: race.Rules, incumbent: str, state: dict | None = None):
        self.race = race.Race(contenders, rules, incumbent=incumbent, max_rounds=rules.confirm_rounds)
        self.rules = rules
        self.spent_s = 0.0  # seconds of turns so far, this process's and earlier ones'
        self.rows = 0  # rows (epochs x m) the turns ran, this process's and earlier ones'
        self.changed = False  # since it was last written to the wisdom
        self._turn: str | None = None  # whose turn is under way, and what it has run so far
        self._turn_s = 0.0
        self._turn_rows = 0
        self._row_s: float | None = None  # the last timed seconds per row and epoch, of any finalist
        if state:
            self.race.resume(state)
            self.spent_s = float(state.get("spent_s", 0.0))
            self.rows = int(state.get("rows", 0))
            self._spent_check()

    @property
    def finished(self) -> bool:
        return self.race.finished

    @property
    def rounds(self) -> int:
        return self.race.rounds

    def choice(self) -> str:
        """The race's rule, but where the rounds or seconds ran out with several still running, the
        fastest here where its paired median beats the race's choice by more than the margin: the
        choice won on generated data, and the caller's X is the better guess (at 4e6 x 25 a kernel
        7% faster here was left behind). Before an interval is possible (6 rounds), the rule."""
        race_, kept = self.race, self.race.choice()
        if race_.finished and race_.ended in ("rounds", "time") and len(race_.running) > 1:
            best = race_.best()
            if best != kept and race_.rounds >= stats.least_rounds(self.rules.confidence):
                if race_.ratio(best, kept).estimate * (1 + self.rules.margin) < 1:
                    return best
        return kept

    def next_turn(self, epochs_left: int, rows: int) -> tuple[str, int]:
        """(whose turn, how many of the ``epochs_left`` epochs of rows ``rows`` to run now): enough
        to finish the turn under way by the last time measured; one epoch where none was yet."""
        name = self.race.next()
        if self._turn != name:
            self._turn, self._turn_s, self._turn_rows = name, 0.0, 0
        if self._row_s is None:
            return name, 1
        needed = (self.rules.turn_s - self._turn_s) / max(self._row_s * rows, 1e-12)
        return name, max(1, min(epochs_left, math.ceil(needed)))

    def add(self, name: str, seconds: float, rows: int) -> None:
        """``name`` ran ``rows`` rows (epochs x m) in ``seconds``; a turn that lasts ``turn_s`` counts."""
        self.spent_s += seconds
        self.rows += rows
        self._row_s = seconds / max(rows, 1)
        self.changed = True
        if name == self._turn:
            self._turn_s += seconds
            self._turn_rows += rows
            if self._turn_s >= self.rules.turn_s:
                self.race.add(name, self._turn_s / self._turn_rows)
                self._turn, self._turn_s, self._turn_rows = None, 0.0, 0
        self._spent_check()

    def _spent_check(self) -> None:
        if self.spent_s >= self.rules.confirm_seconds and self.race.between_rounds:
            self.race.time_up()

    def state(self) -> dict:
        """What the wisdom keeps of it, for the next process (and how far it got)."""
        return {**self.race.state(), "spent_s": self.spent_s, "rows": self.rows}

    def record(self) -> dict:
        """What the wisdom keeps of a finished one: the choice, why it ended, and what it measured."""
        times = self.race.times
        return {
            "choice": self.choice(),
            "ended": self.race.ended,
            "rounds": self.rounds,
            "contenders": list(self.race.contenders),
            "spent_s": self.spent_s,
            "rows": self.rows,
            "median_s_per_row": {n: float(np.median(t)) for n, t in times.items() if t},
        }
