"""Planning: which candidate runs for a key, by measuring it once (and remembering) or by estimate.

``plan(n, dtype, threads, mode, m)`` answers from this process's memory, then from the wisdom
file, and otherwise measures: it races every candidate on generated data of the key's row length
and data class (``measure``), the rule of thumb as the incumbent, and remembers the choice. Where
the race finds nothing surely faster than the rule of thumb it ends early and says so
(``ended``: "kept"). A measured plan with finalists left is then confirmed on the caller's own X,
as cuDNN's benchmark mode does on the first call: ``execute`` gives the finalists turns at the
first epochs (``confirm``), and the choice is remembered and kept; nothing watches it afterwards.
A confirmation not finished when a fit ends is kept in the wisdom entry, and the next process goes
on with it. The modes, as FFTW's planner flags: ``measure`` (the default) and ``estimate`` (never
measure, ignore the wisdom: the rule of thumb). ``LADDER_PLANNING`` sets the mode for a process.

One ``race.Rules`` goes through it all: ``plan`` takes it (by default ``race.RULES``), measures
with it and puts it in the ``Plan``, and the confirmation runs by the plan's rules. A ``Plan`` is
a frozen value: the confirmation under way, shared by every fit of the key in this process
(threads included), is held apart, in this module, by wisdom file and key, under ``_TURNS``.
"""

from __future__ import annotations

import atexit
import math
import os
import threading
import time
import warnings
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
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
from impls.planner.confirm import Confirmation

MODES = ("measure", "estimate")

#: The data the candidates are timed on, by data class: beyond the caches, 4 times the
#: last-level cache, within [MIN, MAX]; "llc" the cache's size; "cache" the class's edge.
MIN_TUNING_BYTES = 128 * 2**20
MAX_TUNING_BYTES = 1 * 2**30
L3_MULTIPLE = 4
TUNING_LR = 0.5
#: How often at most a fit's end writes an unfinished confirmation to the wisdom (and at exit).
SAVE_EVERY_S = 1.0


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
    where: str | None = None  # the wisdom file it belongs to


def settings(rules: race.Rules = race.RULES) -> dict:
    """The planner's rules and what it chooses among, as a benchmark run records them."""
    return {
        "rules": asdict(rules),
        "candidates": [c.name for c in cands.CANDIDATES],
        "confirmed_among": "the race's finalists (none it measured as surely slower)",
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
    choice = raced.choice()
    return {
        "key": keys.key_of(n, dtype, threads, data),
        "choice": choice,
        "fastest": raced.best(),
        "rule_of_thumb": incumbent,
        "ended": raced.ended,
        "gain": _gain(raced, incumbent, choice),
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


def _gain(raced: race.Race, incumbent: str, choice: str) -> dict | None:
    """What the choice gained on the rule of thumb in the race: the rule's epoch over the choice's,
    in the rounds both ran (median, with its interval); None where the choice is the rule."""
    if choice == incumbent:
        return None
    ratio = raced.ratio(incumbent, choice)
    return {"ratio": ratio.estimate, "low": ratio.low, "high": ratio.high, "rounds": ratio.rounds}


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
#: dropped once the key is confirmed (``_adopt``): a fit that still holds the unconfirmed plan
#: then runs the race's choice for that one call, and the next call looks up the confirmed plan.
_CONFIRMING: dict[tuple[str, str], Confirmation] = {}
#: When each unfinished confirmation was last written to the wisdom, by (wisdom file, key).
_SAVED_AT: dict[tuple[str, str], float] = {}
#: Keys whose tuning data found no memory, by (wisdom file, key): the rule of thumb, not retried.
_UNMEASURED: set[tuple[str, str]] = set()
#: Confirmed candidates by ((m, n), itemsize, threads): the rung's one dict read a call (bench/FINDINGS.md).
CONFIRMED: dict[tuple, Candidate] = {}
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
            known = _remember(where, _from_entry(entry, "wisdom", key, rules, where))
    if known is not None:
        _RECENT[quick] = known
        if m is not None and quick[0] is None and not known.contenders and dtype.kind == "f":
            CONFIRMED[(m, n), dtype.itemsize, threads] = known.candidate
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
    if len(contenders_of(entry, rules.confirm_most)) == 1:  # nothing for the caller's X to decide
        entry["confirmed"] = {"choice": entry["choice"], "ended": "alone", "rounds": 0, "spent_s": 0.0}
    store.save(key, entry)
    made = _from_entry(entry, "measured", key, rules, where)
    _remember(where, replace(made, source="wisdom" if made.contenders else "confirmed"))
    return replace(made, source="measured")


def contenders_of(entry: dict, most: int = race.RULES.confirm_most) -> list[str]:
    """Who takes turns on the caller's data for a wisdom entry: the race's choice, then its other
    finalists (not measured as surely slower) by their median in the race, ``most`` at most (with
    X in the cache a race can leave six it cannot tell apart: three confirm within a 40 ms fit)."""
    median = entry.get("median_s", {})
    others = sorted(entry.get("finalists", []), key=lambda name: median.get(name, math.inf))
    names = [name for name in dict.fromkeys([entry["choice"], *others]) if name in BY_NAME]
    return names[: max(1, most)]


def _from_entry(entry: dict, source: str, key: str, rules: race.Rules, where: str | None = None) -> Plan:
    """The plan a wisdom entry holds: its confirmed choice, or the race's with contenders to confirm it."""
    confirmed = entry.get("confirmed")
    if isinstance(confirmed, dict) and confirmed.get("choice") in BY_NAME:
        return Plan(BY_NAME[confirmed["choice"]], "confirmed", rules, entry, key, where=where)
    contenders = tuple(contenders_of(entry, rules.confirm_most))
    return Plan(BY_NAME[entry["choice"]], source, rules, entry, key, contenders, where)


def new_confirmation(planned: Plan) -> Confirmation:
    """``planned``'s confirmation: its contenders, its choice the incumbent, going on from the state
    its wisdom entry kept (a process that stopped before it ended)."""
    state = (planned.entry or {}).get("confirming")
    try:
        return Confirmation(planned.contenders, planned.rules, planned.candidate.name, state)
    except (KeyError, TypeError, ValueError):  # a damaged state: begin again
        return Confirmation(planned.contenders, planned.rules, planned.candidate.name)


def _remember(where: str, planned: Plan) -> Plan:
    """Make ``planned`` this process's plan for its key, with its confirmation if it needs one."""
    _KNOWN[where, planned.key] = planned
    with _TURNS:
        if planned.contenders:
            _CONFIRMING[where, planned.key] = new_confirmation(planned)
        else:
            _CONFIRMING.pop((where, planned.key), None)
    return planned


def confirmation(planned: Plan) -> Confirmation | None:
    """The confirmation of ``planned`` in this process (None where it has nothing to confirm, or
    none was begun for its key here). Read it under ``_TURNS`` while fits may run."""
    if not planned.contenders:
        return None
    with _TURNS:
        return _CONFIRMING.get((planned.where or str(store.path()), planned.key))


def execute(planned: Plan, problem: Problem, lr: float, epochs: int, drivers: dict):
    """Run ``epochs`` epochs of the plan on the caller's problem: (w, b, costs).

    While the plan's confirmation runs, its finalists take the epochs in turns (``confirm``), each
    turn as many epochs as finish it by the last time measured; when it ends, its choice runs the
    rest and is written to the wisdom once. A fit that ends first leaves the confirmation where it
    is, for the next fit or process.
    """
    m = problem.X.shape[0]
    w, b = problem.w0.copy(), problem.b0
    costs = np.empty(epochs, dtype=problem.dtype)
    confirming, done = confirmation(planned), 0
    while confirming is not None and done < epochs:
        with _TURNS:
            if confirming.finished:
                break
            name, count = confirming.next_turn(epochs - done, m)
        turn = BY_NAME[name]
        start = time.perf_counter()
        b = run_epochs(drivers[turn.family], problem, w, b, lr, costs[done : done + count], turn.knobs)
        seconds = time.perf_counter() - start
        done += count
        with _TURNS:
            confirming.add(name, seconds, count * m)
    chosen = planned.candidate
    if confirming is not None:
        if confirming.finished:
            chosen = BY_NAME[confirming.choice()]
            _confirmed(planned, confirming)
        else:
            _keep(planned, confirming)
    if done < epochs:
        b = run_epochs(drivers[chosen.family], problem, w, b, lr, costs[done:], chosen.knobs)
    return w, b, costs


def _where(planned: Plan) -> str:
    return planned.where or str(store.path())


def _keep(planned: Plan, confirming: Confirmation, now: float | None = None) -> None:
    """Write an unfinished confirmation's state to the wisdom, at most every ``SAVE_EVERY_S``: unless
    another process got further meanwhile (more rounds), or finished it (then its choice is adopted)."""
    where = _where(planned)
    now = time.monotonic() if now is None else now
    with _TURNS:
        if not confirming.changed or now - _SAVED_AT.get((where, planned.key), -math.inf) < SAVE_EVERY_S:
            return
        confirming.changed = False
        _SAVED_AT[where, planned.key] = now
        state = confirming.state()

    def change(current: dict | None) -> dict | None:
        current = current or {}
        if _finished(current) or (current.get("confirming") or {}).get("rounds", 0) > state["rounds"]:
            return None
        return {**planned.entry, "confirming": state}

    _adopt(planned, store.update(planned.key, change, where=Path(where)))


def _finished(entry: dict | None) -> bool:
    confirmed = (entry or {}).get("confirmed")
    return isinstance(confirmed, dict) and confirmed.get("choice") in BY_NAME


def _adopt(planned: Plan, stored: dict | None) -> None:
    """Where another process finished the key's confirmation, take its choice as this process's plan."""
    if not _finished(stored):
        return
    where = _where(planned)
    with _TURNS:
        _KNOWN[where, planned.key] = _from_entry(stored, "confirmed", planned.key, planned.rules, where)
        _CONFIRMING.pop((where, planned.key), None)
        _RECENT.clear()
        CONFIRMED.clear()


@atexit.register
def _keep_all() -> None:
    """As the process exits: write every unfinished confirmation this process moved on."""
    for (where, key), confirming in list(_CONFIRMING.items()):
        known = _KNOWN.get((where, key))
        if known is not None and known.contenders and not confirming.finished and Path(where).parent.is_dir():
            _keep(replace(known, where=where), confirming, now=math.inf)


def _confirmed(planned: Plan, confirming: Confirmation) -> None:
    """Remember a finished confirmation: in the wisdom file (unless another process finished it
    first: then its choice stands), and as this process's plan for the key."""
    where = _where(planned)
    with _TURNS:
        known = _KNOWN.get((where, planned.key))
        if known is not None and not known.contenders:
            return  # another fit on this key wrote it already
        record = confirming.record()

    def change(current: dict | None) -> dict | None:
        if _finished(current):
            return None
        return {k: v for k, v in planned.entry.items() if k != "confirming"} | {"confirmed": record}

    stored = store.update(planned.key, change, where=Path(where))
    if not _finished(stored):  # not writable and not in memory: this process's record stands
        stored = {k: v for k, v in planned.entry.items() if k != "confirming"} | {"confirmed": record}
    _adopt(planned, stored)


def forget() -> bool:
    """Forget every plan: the wisdom file and this process's memory. True if there was a file."""
    where = str(store.path())
    for known in [k for k in _KNOWN if k[0] == where]:
        del _KNOWN[known]
    with _TURNS:
        for confirming in [k for k in _CONFIRMING if k[0] == where]:
            del _CONFIRMING[confirming]
            _SAVED_AT.pop(confirming, None)
    _RECENT.clear()
    CONFIRMED.clear()
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
