"""Planning: which candidate runs for a key, by measuring it once (and remembering) or by estimate.

``plan(n, dtype, threads, mode, m)`` answers from this process's memory, then from the wisdom
file, and otherwise measures: it races every candidate on generated data of the key's row length
and data class (``measure``), and remembers the choice. A measured plan then carries a trial
(``confirm``): its finalists take turns at the first epochs run on the caller's data, and
``record_trial`` makes the confirmed choice the plan. The modes, as FFTW's planner flags:
``measure`` (the default) and ``estimate`` (never measure, ignore the wisdom: the rule of
thumb). ``LADDER_PLANNING`` sets the mode for a process.
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import numba
import numpy as np

from impls._common import FLOAT32, Problem, resolve_dtype, validate
from impls.planner import candidates as cands
from impls.planner import confirm, race, store
from impls.planner import key as keys
from impls.planner.candidates import BY_NAME, Candidate, rule_of_thumb

MODES = ("measure", "estimate")

#: The race of the candidates (``race.Rules``): 4 s of timing gives the finalists of a key
#: beyond the cache about 50 rounds; the test against the rule of thumb gets at least 10.
RULES = race.Rules(seconds=4.0, min_rounds=2, max_rounds=60, finalists=3, hopeless=2.0, test_rounds=10)
#: A finalist that prefetches wins over a faster one that does not if within this share of it:
#: prefetch costs little when the rows are cached when a call begins, and saves much when not.
PREFER_PREFETCH = 0.05
#: The race's choice replaces the rule of thumb only where a one-sided sign test over the rounds
#: says it was faster at this level.
SIGNIFICANCE = 0.05
#: The data the candidates are timed on, by data class: beyond the caches, 4 times the
#: last-level cache, within [MIN, MAX]; "llc" the cache's size; "cache" the class's edge.
MIN_TUNING_BYTES = 128 * 2**20
MAX_TUNING_BYTES = 1 * 2**30
L3_MULTIPLE = 4
TUNING_LR = 0.5
#: Each timing covers whole epochs, at least this long: one epoch wherever it can be timed.
MIN_SAMPLE_SECONDS = 1e-4


@dataclass(frozen=True)
class Plan:
    """What runs for one key, and where the choice came from."""

    candidate: Candidate
    source: str  # "estimate", "wisdom", "measured" or "confirmed" (on the caller's data)
    entry: dict | None = None  # the wisdom entry (timings) behind a measured choice
    trial: confirm.Trial | None = None  # the finalists' turns on the caller's data (measured plans)
    key: str | None = None  # the key's text in the wisdom file


def settings() -> dict:
    """The planner's settings, as a benchmark run records them beside its results."""
    return {
        "candidates": [c.name for c in cands.CANDIDATES],
        "data_classes": list(keys.DATA_CLASSES),
        "cache_share": keys.CACHE_SHARE,
        "llc_span": keys.LLC_SPAN,
        "prefer_prefetch": PREFER_PREFETCH,
        "significance": SIGNIFICANCE,
        "confirm_samples": confirm.SAMPLES,
        "confirm_drop": confirm.DROP,
        "confirm_margin": confirm.MARGIN,
        "confirm_explore_every": confirm.EXPLORE_EVERY,
        "confirm_window": confirm.WINDOW,
        "confirm_ratios": confirm.CONFIRM_RATIOS,
        "confirm_record": confirm.RECORD,
        "confirm_min_epoch_s": confirm.MIN_EPOCH_SECONDS,
        "confirm_turn_s": confirm.TURN_SECONDS,
        "confirm_slow_every": confirm.SLOW_EVERY,
        "confirm_chase_every": confirm.CHASE_EVERY,
        "confirm_same_rows": True,  # turns compared only with the plan's on as many rows
        "confirm_against": "capped mean",  # of the plan's last turns: what a fit pays, stalls capped
        "confirm_stall": confirm.STALL,
        "confirm_also": [c.name for c in cands.RUNG_KERNELS],  # take turns beside the race's finalists
        "confirm_keep": confirm.KEEP_DROP,  # these and the rule of thumb: "far" only this far behind
        "confirm_drop_by": "best turn",  # the trial's drop: one slow turn (a first touch) must not
        "confirm_chase_after": confirm.CONFIRM_RATIOS,  # fast turns in a row before a chase
        "confirm_fresh": True,  # on a new number of rows, finalists near the plan each get a turn
        "race": {
            "seconds": RULES.seconds,
            "min_rounds": RULES.min_rounds,
            "max_rounds": RULES.max_rounds,
            "finalists": RULES.finalists,
            "hopeless": RULES.hopeless,
            "test_rounds": RULES.test_rounds,
        },
        "wisdom_version": store.VERSION,
    }


# --- the data the candidates are timed on ---------------------------------------------------


def tuning_bytes(data: str = "memory") -> int:
    """Bytes of X the candidates are timed on for a data class (see the constants above)."""
    llc = keys.last_level_cache_bytes() or 0
    if data == "cache" and llc:
        return llc // keys.CACHE_SHARE
    if data == "llc" and llc:
        return llc
    return int(min(MAX_TUNING_BYTES, max(MIN_TUNING_BYTES, L3_MULTIPLE * llc)))


def tuning_problem(
    n: int, dtype: Any, nbytes: int | None = None, seed: int = 0, data: str = "memory"
) -> Problem:
    """Generated data with rows of ``n`` features, from a random w (logits spread like a model's)."""
    dtype = resolve_dtype(dtype)
    m = max(1, (nbytes or tuning_bytes(data)) // (n * dtype.itemsize))
    rng = np.random.default_rng([seed, n])
    X = rng.standard_normal((m, n), dtype=np.float32 if dtype == FLOAT32 else np.float64)
    w = rng.standard_normal(n) / np.sqrt(n)
    y = (rng.random(m) < 0.5).astype(dtype)
    return validate(X, y, lr=TUNING_LR, epochs=1, w0=w, dtype=dtype)


def epochs_per_sample(problem: Problem, clock=time.perf_counter) -> int:
    """Epochs per timing, so that one takes at least MIN_SAMPLE_SECONDS (1 unless X is tiny)."""
    start = clock()
    cands.run(rule_of_thumb(problem.X.shape[1], problem.dtype), problem)
    return max(1, int(np.ceil(MIN_SAMPLE_SECONDS / max(clock() - start, 1e-9))))


# --- the decision -----------------------------------------------------------------------------


def challenger(times: dict[str, list[float]]) -> str:
    """The race's choice: the finalist with the lowest median epoch, or the fastest finalist that
    prefetches where it is within PREFER_PREFETCH of that one and that one does not prefetch."""
    finalists = race.finalists_of(times)
    fastest = race.lowest_median(times, finalists)
    prefetching = [name for name in finalists if BY_NAME[name].prefetches]
    if BY_NAME[fastest].prefetches or not prefetching:
        return fastest
    runner_up = race.lowest_median(times, prefetching)
    within = np.median(times[runner_up]) <= (1 + PREFER_PREFETCH) * np.median(times[fastest])
    return runner_up if within else fastest


def winner(times: dict[str, list[float]], fallback: str | None = None) -> str:
    """The race's choice, or ``fallback`` (the rule of thumb) where the choice was not faster than
    it in significantly many rounds."""
    chosen = challenger(times)
    if fallback is None or chosen == fallback:
        return chosen
    return chosen if race.sign_test(times[chosen], times[fallback]) <= SIGNIFICANCE else fallback


def time_candidates(
    problem: Problem,
    rules: race.Rules = RULES,
    field: tuple[Candidate, ...] = cands.CANDIDATES,
    keep: Candidate | None = None,
    epochs: int = 1,
    clock=time.perf_counter,
) -> dict[str, list[float]]:
    """The candidates raced on ``problem`` (seconds per epoch; call ``warm_up`` first)."""
    return race.race(
        [c.name for c in field],
        lambda name: cands.run(BY_NAME[name], problem, epochs),
        clock,
        rules,
        family=lambda name: BY_NAME[name].family,
        keep=keep.name if keep else None,
        choose=challenger,
        per_timing=epochs,
    )


def measure(
    n: int, dtype: Any, nbytes: int | None = None, rules: race.Rules = RULES, data: str = "memory"
) -> dict:
    """Race every candidate for rows of ``n`` features on data of class ``data``: the wisdom entry."""
    if data not in keys.DATA_CLASSES:
        raise ValueError(f"data must be one of {', '.join(keys.DATA_CLASSES)}, got {data!r}")
    threads = numba.get_num_threads()
    began = time.perf_counter()
    problem = tuning_problem(n, dtype, nbytes, data=data)
    generated = time.perf_counter()
    cands.warm_up(problem)
    warm = time.perf_counter()
    epochs = epochs_per_sample(problem)
    fallback = rule_of_thumb(n, dtype)
    times = time_candidates(problem, rules, keep=fallback, epochs=epochs)
    chosen = challenger(times)
    return {
        "key": keys.key_of(n, dtype, threads, data),
        "choice": winner(times, fallback.name),
        "fastest": race.lowest_median(times, race.finalists_of(times)),
        "challenger": chosen,  # the race's choice before the sign test against the rule of thumb
        "rule_of_thumb": fallback.name,
        "sign_test_p": race.sign_test(times[chosen], times[fallback.name]),
        "data": data,
        "epochs_per_sample": epochs,
        "measured_n": n,
        "measured_rows": problem.X.shape[0],
        "data_bytes": problem.X.nbytes,
        "rounds": max(len(values) for values in times.values()),
        "finalists": race.finalists_of(times),
        "rounds_of": {name: len(values) for name, values in times.items()},
        "best_s": {name: min(values) for name, values in times.items()},
        "median_s": {name: float(np.median(values)) for name, values in times.items()},
        "data_s": generated - began,  # generating the tuning data
        "warmup_s": warm - generated,  # compiling (first time on a machine) or loading the kernels
        "measuring_s": time.perf_counter() - warm,  # timing the candidates
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }


# --- planning, with what this process already knows -------------------------------------------


def resolve_mode(mode: str | None) -> str:
    """``mode``, else ``LADDER_PLANNING``, else "measure"; ValueError naming the variable if unknown."""
    mode = mode or os.environ.get("LADDER_PLANNING") or "measure"
    if mode not in MODES:
        raise ValueError(f"planning mode (LADDER_PLANNING) must be one of {', '.join(MODES)}, got {mode!r}")
    return mode


#: Plans this process made or read, by (wisdom file, key): a fit must not re-read the file.
_KNOWN: dict[tuple[str, str], Plan] = {}
#: The same plans by a key that is cheap to build (a one-epoch fit on small data takes
#: microseconds): the environment counts as it was when this process first planned the key.
_RECENT: dict[tuple, Plan] = {}


def plan(
    n: int, dtype: Any = None, threads: int | None = None, mode: str | None = None, m: int | None = None
) -> Plan:
    """The candidate for rows of ``n`` features in ``dtype`` on ``threads`` threads (default: Numba's).

    ``m``, the number of rows, gives the data class; without it, the plan for X beyond the caches.
    """
    threads = keys.thread_count() if threads is None else threads
    quick = (mode, n, dtype, threads, m)
    recent = _RECENT.get(quick)
    if recent is not None:
        return recent
    mode = resolve_mode(mode)
    dtype = resolve_dtype(dtype)
    if mode == "estimate":
        return Plan(rule_of_thumb(n, dtype), "estimate")
    data = keys.data_class(m, n, dtype.itemsize)
    key = keys.key_text(keys.key_of(n, dtype, threads, data))
    where = str(store.path())
    known = _KNOWN.get((where, key))
    if known is None:
        entry = store.read().get(key)
        if entry is not None and entry.get("choice") in BY_NAME:
            known = _KNOWN[where, key] = _from_entry(entry, "wisdom", key)
    if known is not None:
        _RECENT[quick] = known
        return known
    with _threads(threads):
        entry = measure(n, dtype, data=data)
    store.save(key, entry)
    made = _from_entry(entry, "measured", key)
    _KNOWN[where, key] = replace(made, source="wisdom")
    return made


def _from_entry(entry: dict, source: str, key: str) -> Plan:
    """The plan a wisdom entry holds, with its trial on the caller's data (``confirm``)."""
    also = [c.name for c in cands.RUNG_KERNELS]
    if entry.get("rule_of_thumb") in BY_NAME:  # numba_blocked's kernel, which the race kept
        also.append(entry["rule_of_thumb"])
    trial = confirm.trial_for(entry, also=tuple(also))
    return Plan(BY_NAME[trial.chosen], "confirmed" if trial.confirmed else source, entry, trial, key)


def record_trial(planned: Plan, name: str, seconds: float, rows: int) -> Plan:
    """One timed epoch of a finalist on the caller's data; where it changes the plan, the new plan,
    remembered in the wisdom file."""
    trial = planned.trial
    if not trial.add(name, seconds / rows, rows):
        return planned
    entry = {**planned.entry, "confirmed": trial.record()}
    store.save(planned.key, entry)
    verdict = Plan(BY_NAME[trial.chosen], "confirmed", entry, trial, planned.key)
    _KNOWN[str(store.path()), planned.key] = verdict
    _RECENT.clear()  # its quick keys name the plan before the change
    return verdict


def forget() -> bool:
    """Forget every plan: the wisdom file and this process's memory. True if there was a file."""
    where = str(store.path())
    for known in [k for k in _KNOWN if k[0] == where]:
        del _KNOWN[known]
    _RECENT.clear()
    return store.forget()


@contextmanager
def _threads(count: int):
    """Run with ``count`` Numba threads, then restore."""
    before = numba.get_num_threads()
    numba.set_num_threads(count)
    try:
        yield
    finally:
        numba.set_num_threads(before)
