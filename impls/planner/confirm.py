"""Confirming a plan on the caller's own data: the race's finalists take turns at its first epochs.

A plan is raced on generated data of the key's row length and data class, and the caller's X
can rank the finalists otherwise (``bench/FINDINGS.md``). So the first epochs the rung runs for
a key, in one long fit or over many short ones, go to the race's finalists in turn, each one
timed. Once every finalist has had ``SAMPLES`` epochs, the one with the lowest median becomes the
plan, unless the race's choice is within ``MARGIN`` of it. Every epoch computes the same step,
so the turns cost only the difference in speed, and the answer is the same within the rung's
tolerance. Where an epoch is too short to time (``MIN_EPOCH_SECONDS``), the race's choice stands.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Timed epochs each finalist gets on the caller's data.
SAMPLES = 5
#: Another finalist replaces the race's choice only if its median epoch is this much shorter.
MARGIN = 0.03
#: Epochs shorter than this are not timed: the clock and the call's own cost would decide.
MIN_EPOCH_SECONDS = 1e-3


@dataclass
class Trial:
    """The turns of a key's finalists on the caller's data, and what they measured."""

    chosen: str  # the race's choice
    finalists: tuple[str, ...]  # the race's choice first
    times: dict[str, list[float]] = field(default_factory=dict)
    rows: list[int] = field(default_factory=list)  # the rows of X of each timed epoch
    skipped: str | None = None  # why no epoch was timed, where none could be

    def next(self) -> str | None:
        """The finalist whose turn it is (the one with the fewest timed epochs), or None when done."""
        if self.skipped:
            return None
        waiting = [name for name in self.finalists if len(self.times.get(name, [])) < SAMPLES]
        return min(waiting, key=lambda name: len(self.times.get(name, []))) if waiting else None

    def add(self, name: str, seconds: float, rows: int) -> None:
        """One timed epoch of ``name``; an epoch too short to time ends the trial without a verdict."""
        if seconds < MIN_EPOCH_SECONDS:
            self.skipped = f"an epoch of {rows:,} rows took {seconds * 1e3:.3f} ms, too short to time"
            return
        self.times.setdefault(name, []).append(seconds)
        self.rows.append(rows)

    @property
    def done(self) -> bool:
        return self.skipped is not None or self.next() is None

    def verdict(self) -> str:
        """The finalist with the lowest median epoch, or the race's choice if within MARGIN of it."""
        if self.skipped or not self.times:
            return self.chosen
        median = {name: float(np.median(values)) for name, values in self.times.items()}
        fastest = min(median, key=median.get)
        return self.chosen if median[self.chosen] <= (1 + MARGIN) * median[fastest] else fastest

    def record(self) -> dict:
        """What the wisdom keeps of the trial."""
        return {
            "choice": self.verdict(),
            "race_choice": self.chosen,
            "samples": {name: len(values) for name, values in self.times.items()},
            "median_s": {name: float(np.median(values)) for name, values in self.times.items()},
            "rows": sorted(set(self.rows)),
            "skipped": self.skipped,
        }


def trial_for(entry: dict) -> Trial:
    """The trial of a measured plan: its race's finalists, its choice first."""
    finalists = [entry["choice"], *(name for name in entry.get("finalists", []) if name != entry["choice"])]
    return Trial(chosen=entry["choice"], finalists=tuple(finalists))
