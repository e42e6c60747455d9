"""Planning: which candidate runs for a key, by measuring it once (and remembering) or by estimate.

``plan(n, dtype, threads, mode, m)`` answers from this process's memory, then from the wisdom
file, and otherwise measures: it races every candidate on generated data of the key's row length
and data class (``measure``), the rule of thumb as the incumbent, and remembers the choice. A
measured plan is then confirmed on the caller's own X, as cuDNN's benchmark mode does on the first
call: ``execute`` gives the race's finalists and the other rungs' kernels turns at the first
epochs, by the same rule (``race``), and the choice of that race is remembered and kept; nothing
watches it afterwards. The modes, as FFTW's planner flags: ``measure`` (the default) and
``estimate`` (never measure, ignore the wisdom: the rule of thumb). ``LADDER_PLANNING`` sets the
mode for a process.

One ``race.Rules`` goes through it all: ``plan`` takes it (by default ``race.RULES``), measures
with it and puts it in the ``Plan``, and the confirmation runs by the plan's rules. A ``Plan`` is
a frozen value: the confirmation under way, shared by every fit of the key in this process
(threads included), is held apart, in this module, by wisdom file and key, under ``_TURNS``.
"""

from __future__ import annotations

import math
import os
import threading
import time
import warnings
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any

import numba
import numpy as np

from impls._common import FLOAT32, Problem, resolve_dtype, validate
from impls._jit import ThreadsError
from impls.numba_fused import run_epochs
from impls.planner import candidates as cands
from impls.planner import key as keys
from impls.planner import race, store
from impls.planner.candidates import BY_NAME, Candidate, rule_of_thumb

MODES = ("measure", "estimate")

#: The data the candidates are timed on, by data class: beyond the caches, 4 times the
#: last-level cache, within [MIN, MAX]; "llc" the cache's size; "cache" the class's edge.
MIN_TUNING_BYTES = 128 * 2**20
MAX_TUNING_BYTES = 1 * 2**30
L3_MULTIPLE = 4
TUNING_LR = 0.5


@dataclass(frozen=True)
class Plan:
    """What runs for one key, where the choice came from, and what is left to confirm (a value:
    the confirmation's turns and times so far are this module's, ``confirmation``)."""

    candidate: Candidate
    source: str  # "estimate", "wisdom", "measured" or "confirmed" (on the caller's data)
    rules: race.Rules  # of the race that made it, and of its confirmation
    entry: dict | None = None  # the wisdom entry (timings) behind a measured choice
    key: str | None = None  # the key's text in the wisdom file
    contenders: tuple[str, ...] = ()  # who takes turns on the caller's data (none: nothing to confirm)


def settings(rules: race.Rules = race.RULES) -> dict:
    """The planner's rules and what it chooses among, as a benchmark run records them."""
    return {
        "rules": asdict(rules),
        "candidates": [c.name for c in cands.CANDIDATES],
        "confirmed_among": "the race's finalists, "
        + ", ".join(c.name for c in cands.RUNG_KERNELS)
        + " and the rule of thumb",
        "data_classes": list(keys.DATA_CLASSES),
        "cache_share": keys.CACHE_SHARE,
        "llc_span": keys.LLC_SPAN,
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


def epochs_per_sample(problem: Problem, rules: race.Rules, clock=time.perf_counter) -> int:
    """Epochs per timing, so that one lasts at least a turn (``Rules.turn_s``; 1 unless X is small)."""
    start = clock()
    cands.run(rule_of_thumb(problem.X.shape[1], problem.dtype), problem)
    return max(1, math.ceil(rules.turn_s / max(clock() - start, 1e-9)))


def measure(
    n: int, dtype: Any, nbytes: int | None = None, rules: race.Rules = race.RULES, data: str = "memory"
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
    epochs = epochs_per_sample(problem, rules)
    incumbent = rule_of_thumb(n, dtype).name
    raced = race.run_race(
        [c.name for c in cands.CANDIDATES],
        lambda name: cands.run(BY_NAME[name], problem, epochs),
        time.perf_counter,
        rules,
        incumbent=incumbent,
        per_timing=epochs,
    )
    times = raced.times
    return {
        "key": keys.key_of(n, dtype, threads, data),
        "choice": raced.choice(),
        "fastest": raced.best(),
        "rule_of_thumb": incumbent,
        "data": data,
        "epochs_per_sample": epochs,
        "measured_n": n,
        "measured_rows": problem.X.shape[0],
        "data_bytes": problem.X.nbytes,
        "rounds": raced.rounds,
        "finalists": list(raced.running),
        "rounds_of": {name: len(values) for name, values in times.items()},
        "best_s": {name: min(values) for name, values in times.items() if values},
        "median_s": {name: float(np.median(values)) for name, values in times.items() if values},
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


class PlanningWarning(UserWarning):
    """The planner could not measure (no memory for its tuning data) and runs the rule of thumb."""


#: Plans this process made or read, by (wisdom file, key): a fit must not re-read the file.
_KNOWN: dict[tuple[str, str], Plan] = {}
#: The same plans by a key that is cheap to build (a one-epoch fit on small data takes
#: microseconds): the environment counts as it was when this process first planned the key.
_RECENT: dict[tuple, Plan] = {}
#: The confirmation of each known plan that has one, by (wisdom file, key): the race on the
#: callers' data, which every fit of the key takes turns in. Read and changed under ``_TURNS``;
#: a finished one stays, its choice the plan for fits that still hold the unconfirmed plan.
_CONFIRMING: dict[tuple[str, str], race.Race] = {}
#: Keys whose tuning data found no memory, by (wisdom file, key): the rule of thumb, not retried.
_UNMEASURED: set[tuple[str, str]] = set()
#: Turns of one confirmation are handed out one at a time, whichever thread fits.
_TURNS = threading.Lock()


def plan(
    n: int,
    dtype: Any = None,
    threads: int | None = None,
    mode: str | None = None,
    m: int | None = None,
    rules: race.Rules = race.RULES,
) -> Plan:
    """The candidate for rows of ``n`` features in ``dtype`` on ``threads`` threads (default: Numba's).

    ``m``, the number of rows, gives the data class; without it, the plan for X beyond the caches.
    ``rules``: how a plan this process does not know yet is measured and confirmed (a known plan
    keeps the rules it was made with).
    """
    threads = keys.thread_count() if threads is None else threads
    quick = (mode, n, dtype, threads, m)
    recent = _RECENT.get(quick)
    if recent is not None:
        return recent
    mode = resolve_mode(mode)
    dtype = resolve_dtype(dtype)
    if mode == "estimate":
        return Plan(rule_of_thumb(n, dtype), "estimate", rules)
    data = keys.data_class(m, n, dtype.itemsize)
    key = keys.key_text(keys.key_of(n, dtype, threads, data))
    where = str(store.path())
    known = _KNOWN.get((where, key))
    if known is None:
        entry = store.read().get(key)
        if entry is not None and entry.get("choice") in BY_NAME:
            known = _remember(where, _from_entry(entry, "wisdom", key, rules))
    if known is not None:
        _RECENT[quick] = known
        return known
    fallback = Plan(rule_of_thumb(n, dtype), "estimate", rules)
    if (where, key) in _UNMEASURED:
        return fallback
    try:
        with _threads(threads):
            entry = measure(n, dtype, rules=rules, data=data)
    except ThreadsError:  # no threads for any parallel kernel: the fit could not run either
        raise
    except MemoryError:  # its own tuning data (tens of MB) did not fit: the fit itself may still
        _UNMEASURED.add((where, key))
        warnings.warn(
            f"numba_tuned: no memory for its {tuning_bytes(data) / 2**20:.0f} MiB of tuning data for rows of "
            f"{n}; this process runs the rule of thumb ({fallback.candidate.name}) for them, unmeasured",
            PlanningWarning,
            stacklevel=3,
        )
        return fallback  # said once: not measured again in this process
    store.save(key, entry)
    made = _from_entry(entry, "measured", key, rules)
    _remember(where, replace(made, source="wisdom"))
    return made


def _from_entry(entry: dict, source: str, key: str, rules: race.Rules) -> Plan:
    """The plan a wisdom entry holds: its confirmed choice, or the race's with contenders to confirm it."""
    confirmed = entry.get("confirmed")
    if isinstance(confirmed, dict) and confirmed.get("choice") in BY_NAME:
        return Plan(BY_NAME[confirmed["choice"]], "confirmed", rules, entry, key)
    names = [entry["choice"], *entry.get("finalists", []), *(c.name for c in cands.RUNG_KERNELS)]
    names.append(entry.get("rule_of_thumb", entry["choice"]))
    names = [name for name in dict.fromkeys(names) if name in BY_NAME]
    return Plan(BY_NAME[entry["choice"]], source, rules, entry, key, tuple(names))


def confirmation_race(planned: Plan) -> race.Race:
    """A new race for ``planned``'s confirmation: its contenders, its choice the incumbent."""
    rules = planned.rules
    return race.Race(
        planned.contenders, rules, incumbent=planned.candidate.name, max_rounds=rules.confirm_rounds
    )


def _remember(where: str, planned: Plan) -> Plan:
    """Make ``planned`` this process's plan for its key, with a new confirmation if it needs one."""
    _KNOWN[where, planned.key] = planned
    with _TURNS:
        if planned.contenders:
            _CONFIRMING[where, planned.key] = confirmation_race(planned)
        else:
            _CONFIRMING.pop((where, planned.key), None)
    return planned


def confirmation(planned: Plan) -> race.Race | None:
    """The confirmation of ``planned`` in this process (None where it has nothing to confirm, or
    none was begun for its key here). Read it under ``_TURNS`` while fits may run."""
    if not planned.contenders:
        return None
    with _TURNS:
        return _CONFIRMING.get((str(store.path()), planned.key))


def execute(planned: Plan, problem: Problem, lr: float, epochs: int, drivers: dict):
    """Run ``epochs`` epochs of the plan on the caller's problem: (w, b, costs).

    While the plan's confirmation runs, each turn goes to the finalist whose turn it is, and
    lasts whole epochs, at least ``Rules.turn_s``: the fit's first epoch measures how many that
    is (a turn if it lasts that long), and epochs too few for a whole turn run the plan. When the
    confirmation ends, its choice is the plan, written to the wisdom once. A turn lasts by the
    plan's rules.
    """
    m, rules = problem.X.shape[0], planned.rules
    w, b = problem.w0.copy(), problem.b0
    costs = np.empty(epochs, dtype=problem.dtype)
    confirming, done, span = confirmation(planned), 0, 1
    while confirming is not None and not confirming.finished and done < epochs:
        if epochs - done < span:
            break  # too few epochs left for a whole turn: the plan runs them
        with _TURNS:
            turn = BY_NAME[confirming.next()]
        count = span
        start = time.perf_counter()
        b = run_epochs(drivers[turn.family], problem, w, b, lr, costs[done : done + count], turn.knobs)
        seconds = time.perf_counter() - start
        done += count
        if seconds >= rules.turn_s:
            with _TURNS:
                confirming.add(turn.name, seconds / count / m)
        span = max(1, math.ceil(rules.turn_s * count / max(seconds, 1e-9)))
    chosen = planned.candidate
    if confirming is not None and confirming.finished:
        chosen = BY_NAME[confirming.choice()]
        _confirmed(planned, confirming)
    if done < epochs:
        b = run_epochs(drivers[chosen.family], problem, w, b, lr, costs[done:], chosen.knobs)
    return w, b, costs


def _confirmed(planned: Plan, confirming: race.Race) -> None:
    """Remember a finished confirmation: in the wisdom file, and as this process's plan for the key."""
    with _TURNS:
        where = str(store.path())
        known = _KNOWN.get((where, planned.key))
        if known is not None and not known.contenders:
            return  # another fit on this key wrote it already
        record = {
            "choice": confirming.choice(),
            "rounds": confirming.rounds,
            "median_s_per_row": {n: float(np.median(t)) for n, t in confirming.times.items() if t},
        }
        entry = {**planned.entry, "confirmed": record}
        store.save(planned.key, entry)
        confirmed = Plan(BY_NAME[record["choice"]], "confirmed", planned.rules, entry, planned.key)
        _KNOWN[where, planned.key] = confirmed
        _RECENT.clear()  # its quick keys name the plan before the confirmation


def forget() -> bool:
    """Forget every plan: the wisdom file and this process's memory. True if there was a file."""
    where = str(store.path())
    for known in [k for k in _KNOWN if k[0] == where]:
        del _KNOWN[known]
    with _TURNS:
        for confirming in [k for k in _CONFIRMING if k[0] == where]:
            del _CONFIRMING[confirming]
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
