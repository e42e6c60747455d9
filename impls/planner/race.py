"""A race: contenders timed in shuffled rounds, the slow ones dropped, on a clock passed in.

Interleaving puts every contender under the same conditions: a burst of other work on a shared
machine slows one round of each, not all rounds of one. The race is pure: it is given the
contenders' names, a ``run(name)`` that runs one of them, and a ``clock()``; it returns every
timing. The planner races its candidates with it, and the benchmarks race the rungs with it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Rules:
    """How long a race runs and whom it drops.

    Rounds go on while less than ``seconds`` of timing has passed, at least ``min_rounds`` and
    at most ``max_rounds`` of them. With ``finalists`` set, the first round drops every
    contender more than ``hopeless`` times slower than that round's fastest, and at the end of
    rounds 2, 4, 8, 16, ... the slower half of those still running (by median) stops, never
    below ``finalists`` and never the fastest of a family. ``finalists=None`` drops no one.
    Where the time is up before ``test_rounds`` and a contender is kept (``race(keep=...)``),
    the rounds left are a duel of the race's choice at that moment and the kept one.
    """

    seconds: float = 4.0
    min_rounds: int = 2
    max_rounds: int = 60
    finalists: int | None = 3
    hopeless: float = 2.0
    test_rounds: int = 0


def race(
    contenders: Sequence[str],
    run: Callable[[str], object],
    clock: Callable[[], float],
    rules: Rules,
    *,
    family: Callable[[str], str] = lambda name: name,
    keep: str | None = None,
    choose: Callable[[dict[str, list[float]]], str] | None = None,
    per_timing: int = 1,
    seed: int = 0,
) -> dict[str, list[float]]:
    """Seconds per unit of every contender, round after round (each timing covers ``per_timing`` units).

    ``keep`` is never dropped and runs on top of the finalists; ``choose(times)`` names the
    race's choice of the moment for the duel (default: the finalist with the lowest median).
    """
    choose = choose or (lambda times: lowest_median(times, finalists_of(times)))
    rng = np.random.default_rng(seed)
    times: dict[str, list[float]] = {name: [] for name in contenders}
    running = list(contenders)
    dueling = False
    began = clock()
    for rounds in range(1, rules.max_rounds + 1):
        for k in rng.permutation(len(running)):
            start = clock()
            run(running[k])
            times[running[k]].append((clock() - start) / per_timing)
        if rounds >= rules.min_rounds and clock() - began >= rules.seconds:
            if rounds >= rules.test_rounds or keep is None or rules.finalists is None:
                break
            if not dueling:
                chosen = choose(times)
                if chosen == keep:
                    break
                running, dueling = [chosen, keep], True
            continue
        if rules.finalists is None:
            continue
        if rounds == 1 and len(running) > rules.finalists:
            running = _hopeful(running, times, rules, keep)
        if rounds >= rules.min_rounds and _doubled(rounds) and len(running) > rules.finalists:
            running = _survivors(running, times, rules.finalists, family, keep)
    return times


def _doubled(rounds: int) -> bool:
    """Whether ``rounds`` ends a stage of the race: stages end at rounds 2, 4, 8, 16, ..."""
    return rounds & (rounds - 1) == 0


def _hopeful(running: list[str], times: dict[str, list[float]], rules: Rules, keep: str | None) -> list[str]:
    """After the first round: those within ``hopeless`` times its fastest (at least the finalists)."""
    fastest = min(times[name][0] for name in running)
    running = sorted(running, key=lambda name: times[name][0])
    hopeful = [name for name in running if times[name][0] <= rules.hopeless * fastest]
    return _keeping(running[: max(rules.finalists, len(hopeful))], keep)


def _survivors(
    running: list[str], times: dict[str, list[float]], finalists: int, family, keep: str | None
) -> list[str]:
    """The faster half of ``running`` by median (at least ``finalists``), the fastest of each
    family still running, and ``keep``."""
    contenders = sorted((c for c in running if c != keep), key=lambda c: float(np.median(times[c])))
    survivors = contenders[: max(finalists, (len(contenders) + 1) // 2)]
    for group in dict.fromkeys(map(family, times)):  # in the order the race was given
        best = next((c for c in contenders if family(c) == group), None)
        if best is not None and best not in survivors:
            survivors.append(best)
    return _keeping(survivors, keep)


def _keeping(running: list[str], keep: str | None) -> list[str]:
    return running if keep is None or keep in running else [*running, keep]


def finalists_of(times: dict[str, list[float]]) -> list[str]:
    """The contenders that ran every round of a race (all of them when none was dropped)."""
    most = max(len(values) for values in times.values())
    return [name for name, values in times.items() if len(values) == most]


def lowest_median(times: dict[str, list[float]], names: Sequence[str]) -> str:
    """The one of ``names`` with the lowest median time."""
    return min(names, key=lambda name: float(np.median(times[name])))


def sign_test(challenger_s: Sequence[float], other_s: Sequence[float]) -> float:
    """One-sided sign test over paired rounds: the chance of the challenger being faster than the
    other in at least as many rounds as it was if each round were a coin toss (ties count against it)."""
    rounds = min(len(challenger_s), len(other_s))
    wins = sum(a < b for a, b in zip(challenger_s[:rounds], other_s[:rounds], strict=True))
    return sum(math.comb(rounds, k) for k in range(wins, rounds + 1)) / 2**rounds
