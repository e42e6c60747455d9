"""Confirming a plan on the caller's own data, and watching it: the finalists take turns at epochs.

A plan is raced on generated data of the key's row length and data class, and the caller's X can
rank the finalists otherwise, or favour a kernel the race dropped (so the kernels of the other
compiled rungs take turns too: ``candidates.RUNG_KERNELS``); on a shared machine the ranking can
also change from one minute to the next (``bench/FINDINGS.md``). So every epoch the rung runs
for a key is timed, per row of X:

* **Trial.** The first turns, in one long fit or over many short ones, go to the race's
  finalists in turn. From the second turn of all of them on, those more than ``DROP`` slower
  than the fastest in their best turn stop taking turns (a kernel's first epoch on an X can pay
  a first touch, and one turn can meet a stall); once the rest have had ``SAMPLES`` turns each,
  the one with the lowest median becomes the plan, unless the race's choice is within ``MARGIN``.
* **Watch.** From then on, every ``EXPLORE_EVERY``-th turn goes to another finalist, and its
  time is compared with the plan's *mean* over its last ``WINDOW`` turns, which ran in the same
  minute: a ratio, not two times from different states of the machine, and against what a fit
  pays, so a plan whose kernel is slow in one epoch of three loses to a steady one (a turn counts
  at most ``STALL`` times the median: one stall of the machine must not decide). A finalist
  whose last ratio fell below 1 gets the next such turn, and one more than ``MARGIN`` below 1 in
  its last ``CONFIRM_RATIOS`` turns every ``CHASE_EVERY``-th turn (one fast turn can be luck; a
  turn of a kernel that is faster costs nothing): a kernel that became faster takes over within a
  few epochs. One that was more than ``MARGIN`` faster in ``CONFIRM_RATIOS`` turns in a row, and
  on average over its last ``RECORD`` turns, becomes the plan (the others' records are rescaled
  to it). The others take turns, except that those last seen more than ``DROP`` slower get only
  every ``SLOW_EVERY``-th of them (a turn of a hopeless kernel costs the fit its difference in
  speed); for the kernels of the other compiled rungs (``keep``), which the plan must not lose
  to, "far" starts at ``KEEP_DROP``, so one slow minute does not shut them out. Turns are compared
  only on the same X: a fit on another number of rows starts the plan's window afresh (a call's
  fixed cost is another share of a row's time), the finalists' records carry over, and those
  near the plan each get an early turn there (every ``CHASE_EVERY``-th), so that one faster on
  this X is found before the records from the old one decide.

Every epoch computes the same step, so a turn costs only the difference in speed. A turn is one
epoch, or several where one is shorter than ``TURN_SECONDS``; an epoch shorter than
``MIN_EPOCH_SECONDS`` is not timed (the clock and the call would decide), and a call with such
epochs runs the plan untouched.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from statistics import median as _median

SAMPLES = 4  # timed turns each finalist still in the trial gets
DROP = 0.15  # from the trial's second turn, finalists this much slower than the fastest stop
MARGIN = 0.03  # another finalist replaces the plan only if it is this much faster
EXPLORE_EVERY = 6  # once confirmed, every this many turns, another finalist takes one
WINDOW = 5  # the plan's recent turns each turn of another finalist is compared with
CONFIRM_RATIOS = 2  # turns in a row another finalist must be faster in, to be chased or take over
RECORD = 4  # ...and its mean over this many turns: a kernel with a fast and a slow speed stays out
STALL = 1.5  # in the plan's mean, no turn counts more than this many times the median
SLOW_EVERY = 3  # finalists last seen more than DROP slower get one explore turn in this many
KEEP_DROP = 2 * DROP  # ...the kernels of the other rungs (``keep``) only this much slower
CHASE_EVERY = 2  # a chased finalist, or one owed a turn on a new X, gets every this many turns
TURN_SECONDS = 1e-3  # a turn runs whole epochs of one finalist until about this long
MIN_EPOCH_SECONDS = 1e-4  # shorter epochs are not timed: the clock and the call would decide


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
    ratios: dict[str, deque] = field(default_factory=dict)  # their last turns over the plan's mean
    rows: int | None = None  # rows of the X the watch's recent turns ran on
    keep: tuple[str, ...] = ()  # the other rungs' kernels: "far" only from KEEP_DROP behind
    fresh: list[str] = field(default_factory=list)  # near finalists owed a turn on a new X

    def __post_init__(self):
        self.racing = list(self.racing or self.finalists)
        for name in self.finalists:
            self.times.setdefault(name, deque(maxlen=WINDOW))
            self.ratios.setdefault(name, deque(maxlen=RECORD))

    def median(self, name: str) -> float:
        return _median(self.times[name]) if self.times[name] else float("inf")

    def mean(self, name: str) -> float:
        """The mean of ``name``'s recent turns, each counted at most ``STALL`` times their median: a
        kernel's slow level counts in full, a stall of the whole machine no more than that."""
        values = self.times[name]
        if not values:
            return float("inf")
        cap = STALL * _median(values)
        return sum(min(value, cap) for value in values) / len(values)

    def next(self) -> str:
        """Whose turn the next epoch is."""
        if not self.confirmed:
            return min(self.racing, key=lambda name: len(self.times[name]))
        others = [name for name in self.finalists if name != self.chosen]
        due = (self.epochs + 1) % CHASE_EVERY == 0  # a turn a faster kernel, or a new X, may take
        if due and self.fresh and self.times[self.chosen]:  # the plan has run on this X: compare
            return self.fresh[0]
        chasing = [name for name in others if self.chasing(name)]
        if due and chasing:  # costs nothing if it is faster
            return min(chasing, key=lambda name: self.ratios[name][-1])
        if not others or (self.epochs + 1) % EXPLORE_EVERY:
            return self.chosen
        promising = [name for name in others if self.promising(name)]
        if promising:  # just looked faster: look again at once
            return min(promising, key=lambda name: self.ratios[name][-1])
        near = [name for name in others if self.near(name)]
        far = [name for name in others if name not in near]
        if far and (not near or (self.explored + 1) % SLOW_EVERY == 0):
            return far[self.explored // SLOW_EVERY % len(far)]
        return near[self.explored % len(near)]

    def near(self, name: str) -> bool:
        """Not last seen more than ``DROP`` slower than the plan (``KEEP_DROP`` for a kernel of
        ``keep``: one slow minute must not shut the other rungs' kernels out)."""
        drop = KEEP_DROP if name in self.keep else DROP
        return not self.ratios[name] or self.ratios[name][-1] <= 1 + drop

    def promising(self, name: str) -> bool:
        """Faster than the plan in its last turn, and not in the one before: look again at once.
        (One faster twice, but within ``MARGIN``, waits its turn: it must not take every turn.)"""
        record = self.ratios[name]
        return bool(record) and record[-1] < 1 and (len(record) < 2 or record[-2] >= 1)

    def chasing(self, name: str) -> bool:
        """More than ``MARGIN`` faster than the plan in each of its last ``CONFIRM_RATIOS`` turns."""
        record = self.ratios[name]
        return len(record) >= CONFIRM_RATIOS and max(list(record)[-CONFIRM_RATIOS:]) < 1 - MARGIN

    def add(self, name: str, seconds_per_row: float, rows: int | None = None) -> bool:
        """One timed epoch of ``name`` on ``rows`` rows; True where the plan (or the trial) changed."""
        if self.confirmed:
            if rows != self.rows:  # another X: a call's fixed cost is another share of its rows,
                self.rows = rows  # so only turns on this one are compared (the records stay)
                for values in self.times.values():
                    values.clear()
                others = [n for n in self.finalists if n != self.chosen and self.near(n)]
                self.fresh = sorted(others, key=lambda n: self.ratios[n][-1] if self.ratios[n] else 0.0)
            return self._watch(name, seconds_per_row)
        self.rows = rows
        self.times[name].append(seconds_per_row)
        counts = {len(self.times[name]) for name in self.racing}
        if len(counts) > 1:  # a turn of the trial is not over
            return False
        turns = counts.pop()
        if turns >= 2:  # from the second turn on, drop those slower in every turn (by their best:
            best = {n: min(self.times[n]) for n in self.racing}  # a first touch, a stall, must not)
            fastest = min(best.values())
            kept = [n for n in self.racing if best[n] <= (1 + DROP) * fastest]
            self.racing = kept if len(kept) >= 2 else sorted(self.racing, key=best.get)[:2]
        if turns < SAMPLES:
            return False
        best = min(self.racing, key=self.median)
        if self.chosen not in self.racing or self.median(self.chosen) > (1 + MARGIN) * self.median(best):
            self.chosen = best
        self.confirmed = True
        self.seed_ratios()
        return True

    def seed_ratios(self) -> None:
        """Each other finalist's best turn over the plan's: the watch's first guess of who is close
        (by the best, as the trial drops: two turns, one a first touch, are a poor median)."""
        for name in self.finalists:
            if name != self.chosen and self.times[name] and self.times[self.chosen]:
                self.ratios[name].append(min(self.times[name]) / min(self.times[self.chosen]))

    def _watch(self, name: str, seconds_per_row: float) -> bool:
        self.epochs += 1
        if name in self.fresh and self.times[self.chosen]:
            self.fresh.remove(name)
        if name == self.chosen or not self.times[self.chosen]:
            self.times[name].append(seconds_per_row)
            return False
        self.explored += 1
        ratio = seconds_per_row / self.mean(self.chosen)
        self.ratios[name].append(ratio)
        self.times[name].append(seconds_per_row)
        record = self.ratios[name]
        if len(record) < RECORD or not self.chasing(name):
            return False
        level = sum(record) / len(record)
        if level >= 1 - MARGIN:  # fast lately, but not over its record: a kernel with two speeds
            return False
        old, self.chosen = self.chosen, name
        self.times[name] = deque([seconds_per_row], maxlen=WINDOW)
        for other, values in self.ratios.items():  # the records, now against the new plan
            kept = [] if other == name else [1 / level] if other == old else [v / level for v in values]
            values.clear()
            values.extend(kept)
        return True

    def record(self) -> dict:
        """What the wisdom keeps: the plan, and each finalist's median seconds per row on the caller's
        data."""
        return {
            "choice": self.chosen,
            "median_s_per_row": {name: self.median(name) for name in self.finalists if self.times[name]},
            "samples": {name: len(self.times[name]) for name in self.finalists},
        }


def trial_for(entry: dict, also: tuple[str, ...] = ()) -> Trial:
    """The trial of a measured plan: its race's finalists, its choice first, and the kernels ``also``
    names (``keep``); confirmed where the entry is."""
    finalists = list(dict.fromkeys([entry["choice"], *entry.get("finalists", []), *also]))
    keep = tuple(also)
    confirmed = entry.get("confirmed")
    if isinstance(confirmed, dict) and confirmed.get("choice") in finalists:
        trial = Trial(chosen=confirmed["choice"], finalists=tuple(finalists), confirmed=True, keep=keep)
        for name, seconds in (confirmed.get("median_s_per_row") or {}).items():
            if name in trial.times and isinstance(seconds, float) and 0 < seconds < math.inf:
                trial.times[name].append(seconds)  # where the last process left off
        trial.seed_ratios()
        return trial
    return Trial(chosen=entry["choice"], finalists=tuple(finalists), keep=keep)
