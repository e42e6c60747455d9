"""Confirming a plan on the caller's own data, and watching it: the finalists take turns at epochs.

A plan is raced on generated data of the key's row length and data class, and the caller's X can
rank the finalists otherwise; on a shared machine the ranking can also change from one minute to
the next (``bench/FINDINGS.md``). So every epoch the rung runs for a key is timed, per row of X:

* **Trial.** The first epochs, in one long fit or over many short ones, go to the race's
  finalists in turn. After each turn of all of them, those more than ``DROP`` slower than the
  fastest (by median) stop taking turns; once the rest have had ``SAMPLES`` epochs each, the one
  with the lowest median becomes the plan, unless the race's choice is within ``MARGIN`` of it.
* **Watch.** From then on, every ``EXPLORE_EVERY``-th epoch goes to another finalist, and its
  time is compared with the plan's median over its last ``WINDOW`` epochs, which ran in the same
  minute: a ratio, not two times from different states of the machine. A finalist whose last
  ratio was below 1 gets the next such turn (else they take turns); one that was more than
  ``MARGIN`` faster in ``CONFIRM_RATIOS`` turns in a row becomes the plan.

Every epoch computes the same step, so a turn costs only the difference in speed. Epochs shorter
than ``MIN_EPOCH_SECONDS`` are not timed: a call with such epochs runs the plan untouched.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

SAMPLES = 4  # timed epochs each finalist still in the trial gets
DROP = 0.15  # after each turn of the trial, finalists this much slower than the fastest stop
MARGIN = 0.03  # another finalist replaces the plan only if its median is this much shorter
EXPLORE_EVERY = 6  # once confirmed, every this many epochs, another finalist takes a turn
WINDOW = 5  # the plan's recent epochs each turn of another finalist is compared with
CONFIRM_RATIOS = 2  # turns in a row in which another finalist must be faster to take over
MIN_EPOCH_SECONDS = 1e-3  # shorter epochs are not timed: the clock and the call would decide


@dataclass
class Trial:
    """A key's finalists on the caller's data: their timed epochs (seconds per row) and the plan."""

    chosen: str  # the plan: the race's choice until the trial ends
    finalists: tuple[str, ...]  # the race's finalists, its choice first
    times: dict[str, deque] = field(default_factory=dict)
    racing: list[str] = field(default_factory=list)  # finalists still taking turns in the trial
    confirmed: bool = False
    epochs: int = 0  # epochs timed since the trial ended
    explored: int = 0  # turns given to other finalists since the trial ended
    ratios: dict[str, deque] = field(default_factory=dict)  # their last turns over the plan's median

    def __post_init__(self):
        self.racing = list(self.racing or self.finalists)
        for name in self.finalists:
            self.times.setdefault(name, deque(maxlen=WINDOW))
            self.ratios.setdefault(name, deque(maxlen=CONFIRM_RATIOS))

    def median(self, name: str) -> float:
        return float(np.median(self.times[name])) if self.times[name] else float("inf")

    def next(self) -> str:
        """Whose turn the next epoch is."""
        if not self.confirmed:
            return min(self.racing, key=lambda name: len(self.times[name]))
        others = [name for name in self.finalists if name != self.chosen]
        if not others or (self.epochs + 1) % EXPLORE_EVERY:
            return self.chosen
        promising = [name for name in others if self.ratios[name] and self.ratios[name][-1] < 1]
        if promising:  # looked faster last time: look again at once
            return min(promising, key=lambda name: self.ratios[name][-1])
        return others[self.explored % len(others)]

    def add(self, name: str, seconds_per_row: float) -> bool:
        """One timed epoch of ``name``; True where the plan (or the trial) changed."""
        if self.confirmed:
            return self._watch(name, seconds_per_row)
        self.times[name].append(seconds_per_row)
        counts = {len(self.times[name]) for name in self.racing}
        if len(counts) > 1:  # a turn of the trial is not over
            return False
        fastest = min(self.median(n) for n in self.racing)
        keep = [n for n in self.racing if self.median(n) <= (1 + DROP) * fastest]
        self.racing = keep if len(keep) >= 2 else sorted(self.racing, key=self.median)[:2]
        if counts.pop() < SAMPLES:
            return False
        best = min(self.racing, key=self.median)
        if self.chosen not in self.racing or self.median(self.chosen) > (1 + MARGIN) * self.median(best):
            self.chosen = best
        self.confirmed = True
        return True

    def _watch(self, name: str, seconds_per_row: float) -> bool:
        self.epochs += 1
        if name == self.chosen or not self.times[self.chosen]:
            self.times[name].append(seconds_per_row)
            return False
        self.explored += 1
        ratio = seconds_per_row / self.median(self.chosen)
        self.ratios[name].append(ratio)
        self.times[name].append(seconds_per_row)
        faster = self.ratios[name]
        if len(faster) < CONFIRM_RATIOS or max(faster) >= 1 - MARGIN:
            return False
        self.chosen = name  # faster in the last turns, each against the plan of that moment
        self.times[name] = deque([seconds_per_row], maxlen=WINDOW)
        for values in self.ratios.values():
            values.clear()
        return True

    def record(self) -> dict:
        """What the wisdom keeps: the plan, and each finalist's median seconds per row on the caller's
        data."""
        return {
            "choice": self.chosen,
            "median_s_per_row": {name: self.median(name) for name in self.finalists if self.times[name]},
            "samples": {name: len(self.times[name]) for name in self.finalists},
        }


def trial_for(entry: dict) -> Trial:
    """The trial of a measured plan: its race's finalists, its choice first; confirmed where the entry is."""
    finalists = [entry["choice"], *(name for name in entry.get("finalists", []) if name != entry["choice"])]
    confirmed = entry.get("confirmed")
    if isinstance(confirmed, dict) and confirmed.get("choice") in finalists:
        trial = Trial(chosen=confirmed["choice"], finalists=tuple(finalists), confirmed=True)
        for name, seconds in (confirmed.get("median_s_per_row") or {}).items():
            if name in trial.times and isinstance(seconds, float):
                trial.times[name].append(seconds)  # where the last process left off
        return trial
    return Trial(chosen=entry["choice"], finalists=tuple(finalists))
