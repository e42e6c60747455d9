"""Numba, planned by measurement: the kernel that is fastest on *this* CPU, chosen on it and remembered.

The rungs below each fix one kernel shape and its constants: ``numba_fused`` one scalar
pass per row, ``numba_tiled`` SIMD exp over tiles, ``numba_blocked`` blocks of rows in L1
with software prefetch, its block size and prefetch distance picked by a rule of thumb on
one CPU. Which of them is fastest depends on the CPU (its cache sizes, how many misses a
core keeps in flight, how well its hardware prefetcher follows a stream), on the row length
and dtype, and on how many threads share the memory bus. So this rung does what FFTW does
with ``FFTW_MEASURE`` and its wisdom files:

1. **Candidates.** Every kernel of the rungs below, with its knobs swept: the fused kernel,
   without prefetch (as ``numba_fused`` runs it) and with five prefetch distances; the tiled
   kernel at three tile sizes; the block kernel at 4, 8 and 16 rows per block, each with no
   prefetch and with the five distances (see ``CANDIDATES``). They share three
   compiled drivers: the knobs are run-time arguments, so a candidate costs no compilation.
2. **Plan per key.** The key is the CPU (LLVM's name for it, its feature flags and the model
   name), the Numba and llvmlite versions, the ladder's source digest, the dtype, the
   row-length class (row bytes rounded down to a power of two), the thread count, and the
   data class: whether X fits in a quarter of the last-level cache ("cache"), is about its size
   (up to twice it: "llc", partly still cached when the next epoch begins) or far beyond it
   ("memory"). With X in cache the arithmetic decides and the block kernel's SIMD loss wins;
   beyond it, how well the reads overlap with that arithmetic, and on some CPUs the one-row
   kernel with prefetch wins. A plan made on one class loses on the other.
3. **Measure.** On the first call with a new key, every candidate runs in turn,
   in a shuffled order each round, on generated data of the call's row length and class:
   large enough to leave the caches, the size of the last-level cache, or a quarter of it, one epoch per
   timing wherever an epoch is long enough to time (``tuning_bytes``, ``epochs_per_sample``). The
   candidates race: the first round drops those more than HOPELESS times slower than its
   fastest, and then the field is halved by successive halving: at the end of rounds 2, 4,
   8, 16, ... (each stage twice as many rounds as the last) the slower half of those still
   running (by their median so far) stops, down to FINALISTS, so most of the timing goes to
   the few that could win, and one burst of noise on a shared machine cannot crown a candidate
   from a single lucky round. The fastest of each kernel family still running is never
   dropped: knobs of one kernel are a few percent apart, and a halving decided on a few noisy
   rounds dropped the prefetched fused kernel, at 1e6 x 100 float64 the fastest over 40 paired
   rounds, in two races of three (bench/FINDINGS.md). Rounds go on while less than
   MEASURE_SECONDS of timing have passed, at least MIN_ROUNDS (2) and at most MAX_ROUNDS of them.
   The race's choice is the finalist with the lowest median, except that a finalist that
   prefetches wins over a faster one that does not if it is within PREFER_PREFETCH of it
   (whether the rows are still in cache when a call begins depends on what ran before it;
   prefetch costs little if they are).
   ``numba_blocked``'s rule of thumb runs every round as the incumbent, and the choice replaces
   it only where it was faster in significantly many rounds (a sign test at SIGNIFICANCE): the
   top finalists are often closer than a short race can tell apart. The test needs rounds: where
   the time is up before TEST_ROUNDS (10), the race's choice at that point and the incumbent go
   on alone, in a duel, up to TEST_ROUNDS rounds. So timing takes MEASURE_SECONDS plus at most
   one round of the race (MIN_ROUNDS rounds where a round is longer), plus at most
   TEST_ROUNDS - MIN_ROUNDS rounds of the duel, two epochs each.
   Generating the data, and compiling the kernels the first time on a machine, come on top
   and are recorded apart (compiling happens once per machine: the kernels are cached on
   disk, ``impls/_jit.py``).
4. **Remember.** The choice and every candidate's time go to a JSON file in the user's
   cache folder (``wisdom_path``); later processes read the plan from it.

Measuring never changes the answer: every candidate computes the same descent, each within
this rung's tolerance (the correctness suite runs on every candidate, not only on winners).

Planning modes, set by ``LADDER_PLANNING`` or the ``mode`` argument of ``plan``:
``measure`` (the default: wisdom if there is some, else measure and remember) and
``estimate`` (never measure and ignore the wisdom: ``numba_blocked``'s rule of thumb, like
``FFTW_ESTIMATE``). ``python -m impls.wisdom show`` lists the wisdom with its timings,
``... forget`` deletes it, ``... plan N`` plans (measures) for rows of N features.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import platform
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import llvmlite
import llvmlite.binding as llvm
import numba
import numpy as np
from numba.np.ufunc import parallel as _numba_parallel

from impls import numba_blocked, numba_fused, numba_tiled
from impls._common import FLOAT32, Problem, Rung, Tolerance, resolve_dtype, source_digest, validate
from impls._jit import cache_root
from impls.numba_fused import NO_KNOBS, run_descent

# The incumbent's test (SIGNIFICANCE) gets at least this many rounds. Below 5 the one-sided sign
# test cannot reach 5% at all (its smallest p is 1/2**rounds), so where rounds are long the rule of
# thumb stayed whatever the race found: with a 480 MiB L3 the data beyond the caches is 1 GiB,
# and within 4 s its races ran 2-6 rounds (reports/large at a12db9a). At 10 rounds, a choice that
# was faster in 9 of them replaces the rule of thumb (p = 11/1024). Where the time is up before
# then, the rounds left are a duel: only the race's choice at that point and the incumbent run.
TEST_ROUNDS = 10
MIN_ROUNDS = 2  # every candidate within HOPELESS of the fastest is timed at least this many times
MAX_ROUNDS = 60  # rounds of the race (the finalists run them all)
FINALISTS = 3  # the race stops dropping candidates at this many (plus each family's fastest)
HOPELESS = 2.0  # after the first round, a candidate this many times slower than its fastest stops
# No round starts once this much timing has passed (after MIN_ROUNDS). At 2 s, the finalists of
# a key beyond the cache ran about 30 rounds, too few for the sign test below to tell a 5-7% lead
# (p = 0.055 for fused-pf4096 over the rule of thumb at 1e6 x 100 float64).
MEASURE_SECONDS = 4.0
MIN_TUNING_BYTES = 128 * 2**20  # the data the candidates are timed on: at least this ...
L3_MULTIPLE = 4  # ... and at least 4 times the last-level cache
MAX_TUNING_BYTES = 1 * 2**30
TUNING_LR = 0.5
# 7: duel up to TEST_ROUNDS; 6: "llc" class; 5: successive halving; 4: rule of thumb as
# incumbent; 3: data classes
WISDOM_VERSION = 7
# X within a quarter of the last-level cache, up to twice its size, or beyond that
DATA_CLASSES = ("cache", "llc", "memory")
DATA_WORDS = {
    "cache": "in the last-level cache",
    "llc": "about the last-level cache's size",
    "memory": "beyond the caches",
}
# "cache": X at most 1/4 of the last-level cache, timed on data of that size (the class's edge).
# Not 1/2: the cache is shared (with the other cores, and in a cloud with other machines), and on
# a 32 MiB L3 the plan without prefetch that won at 8 MiB lost 8-20% at 12 MiB and 25-85% at
# 16 MiB (bench/FINDINGS.md). Timed at the edge, not in the middle: the plan must hold across the
# class, and a plan without prefetch that won at 1/8 lost 8% at 1/4 in the benchmarks' races.
CACHE_SHARE = 4
# "llc": X beyond that quarter but at most LLC_SPAN times the last-level cache, timed on data the
# size of the cache. Part of such an X is still cached when the next epoch begins, and the plan
# made on 128 MiB can lose there: on 20 MB of n = 25 float64 (32 MiB L3) the plan chosen on 128
# MiB by an 8% lead ran at 91% of the rule of thumb in the benchmark (bench/FINDINGS.md).
LLC_SPAN = 2
# Each timing covers whole epochs, at least this long: short enough that an epoch of the tuning
# data is timed alone, as a caller's one-epoch fit would be, long enough for the clock. (Timed in
# runs of several epochs, an in-cache plan without prefetch won by 2-5% and then lost by 6-8% to
# prefetching plans when called one epoch at a time; the rounds of a benchmark race are such calls.)
MIN_SAMPLE_SECONDS = 1e-4
# A plan that prefetches wins over a faster one that does not if it is within this of it. Which
# of the two is faster depends on whether X was still in the cache when the call began, and that
# depends on what else ran in between, on this process's other work as much as on other tenants'.
# Prefetch costs little when the rows are in cache already and saves much when they are not: at
# 1e5 x 10 float64 (8 MB, a quarter of a 32 MiB L3), the plan without prefetch won the tuning
# race by 2-5% with X in cache from the previous timing, and lost by 6-8% with X evicted between
# timings and in the benchmarks' races, where other rungs run between its calls.
PREFER_PREFETCH = 0.05
# The rule of thumb (``estimate``) is the incumbent: it runs every round of the race, and the
# race's choice replaces it only where a one-sided sign test over the rounds says the choice is
# faster at this level (the rounds pair them: both run in each, under the same conditions).
# Top finalists are often 1-3% apart, less than a race of seconds can resolve, and which of them
# the race crowns then changes from run to run while the benchmarks' races tell them apart:
# at 1e6 x 100 float32 the race chose prefetching 8 KiB ahead twice, and in 150 rounds of the
# ladder it ran at 96% of the rule of thumb's 4 KiB; on 20 MB of n = 25 float64 the chosen
# 2 KiB ran at 94%, though on the 128 MiB it was tuned on the two were level (bench/FINDINGS.md).
# A candidate that is clearly faster, as on CPUs where the rule of thumb is off by 10-20%,
# wins the test in a few rounds.
SIGNIFICANCE = 0.05
MODES = ("measure", "estimate")

TOLERANCE = Tolerance(
    float64=1e-9,
    float32=1e-4,
    why="whichever candidate runs: fastmath dot products, polynomial or library exp and log1p, "
    "float32 data summed in float32 over at most a block's flush interval (as numba_blocked)",
)


@dataclass(frozen=True)
class Candidate:
    """One kernel with its knobs: a family of ``FAMILIES`` and the two integers its chunk reads."""

    family: str
    knobs: tuple[int, int] = NO_KNOBS

    @property
    def prefetches(self) -> bool:
        """Whether the kernel asks for rows ahead of those it reads (the tiled kernel never does)."""
        if self.family == "blocked":
            return self.knobs[1] >= 0
        return self.family == "fused" and self.knobs[0] > 0

    @property
    def name(self) -> str:
        first, second = self.knobs
        if self.family == "tiled":
            return f"tiled-{first // 1024}k"
        if self.family == "blocked":
            return f"blocked-r{first}-" + ("nopf" if second < 0 else f"pf{second}")
        return self.family if first == 0 else f"{self.family}-pf{first}"


FAMILIES = {"fused": numba_fused.FAMILY, "tiled": numba_tiled.FAMILY, "blocked": numba_blocked.FAMILY}
PREFETCH_DISTANCES = (numba_blocked.NO_PREFETCH, 1024, 2048, 4096, 8192, 16384)
TILE_SIZES = (16 * 1024, 64 * 1024, numba_tiled.TILE_BYTES)
CANDIDATES: tuple[Candidate, ...] = (
    Candidate("fused"),
    *(Candidate("fused", (ahead, 0)) for ahead in PREFETCH_DISTANCES if ahead > 0),
    *(Candidate("tiled", (tile_bytes, 0)) for tile_bytes in TILE_SIZES),
    *(
        Candidate("blocked", (rows, ahead))
        for rows in numba_blocked.BLOCK_SIZES
        for ahead in PREFETCH_DISTANCES
    ),
)
BY_NAME = {candidate.name: candidate for candidate in CANDIDATES}


def estimate(n: int, dtype: Any) -> Candidate:
    """The choice made without measuring: ``numba_blocked``'s rule of thumb."""
    return Candidate("blocked", numba_blocked.rule_of_thumb(n, resolve_dtype(dtype).itemsize))


@dataclass(frozen=True)
class Plan:
    """What runs for one key, and where the choice came from."""

    candidate: Candidate
    source: str  # "estimate", "wisdom" or "measured"
    entry: dict | None = None  # the wisdom entry (timings) behind a measured choice


# --- the key -------------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("model name", "Model name")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


@cache
def machine_key() -> dict:
    """The part of every key that says which machine and which code: the plan is void if any changes."""
    features = llvm.get_host_cpu_features().flatten()
    return {
        "cpu": llvm.get_host_cpu_name(),
        "cpu_model": _cpu_model(),
        "cpu_features": features,
        "numba": numba.__version__,
        "llvmlite": llvmlite.__version__,
        "source": source_digest(),
    }


def row_class(n: int, itemsize: int) -> int:
    """Row bytes rounded down to a power of two: 800-byte rows (n = 100, float64) are class 512."""
    return 1 << (n * itemsize).bit_length() - 1


def data_class(m: int | None, n: int, itemsize: int) -> str:
    """ "cache" when X (``m`` rows of ``n`` features) fits in 1/CACHE_SHARE of the last-level cache,
    "llc" when it is at most LLC_SPAN times that cache, else "memory".

    Where the kernel's time goes differs between the two: with X in cache, the arithmetic; out of
    it, how well the reads overlap with it. A plan made on one is a guess on the other. Where the
    cache size is unknown (or ``m`` is), every call is "memory", the class planned on large data.
    """
    llc = last_level_cache_bytes()
    if m is None or not llc:
        return "memory"
    size = m * n * itemsize
    if size * CACHE_SHARE <= llc:
        return "cache"
    return "llc" if size <= LLC_SPAN * llc else "memory"


def key_of(n: int, dtype: Any, threads: int, data: str = "memory") -> dict:
    """The whole key: this machine and code, dtype, row-length class, thread count and data class."""
    dtype = resolve_dtype(dtype)
    return {
        **machine_key(),
        "dtype": str(dtype),
        "row_class": row_class(n, dtype.itemsize),
        "threads": threads,
        "data": data,
    }


def _key_text(key: dict) -> str:
    return json.dumps(key, sort_keys=True)


# --- the wisdom file -----------------------------------------------------------------------


def wisdom_path() -> Path:
    """``LADDER_WISDOM`` if set, else ``wisdom.json`` in the ladder's cache folder."""
    override = os.environ.get("LADDER_WISDOM")
    return Path(override) if override else cache_root() / "wisdom.json"


def _read_wisdom() -> dict[str, dict]:
    path = wisdom_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:  # unreadable or not JSON: plan afresh, say why
        warnings.warn(f"numba_tuned: ignoring the wisdom in {path}: {exc}", stacklevel=3)
        return {}
    if not isinstance(data, dict) or data.get("version") != WISDOM_VERSION:
        return {}
    entries = data.get("entries")
    return entries if isinstance(entries, dict) else {}


def _write_wisdom(entries: dict[str, dict]) -> None:
    path = wisdom_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"version": WISDOM_VERSION, "entries": entries}, indent=1, sort_keys=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)  # readers see the old file or the new one, never half of one


def wisdom() -> list[dict]:
    """Every remembered plan on this machine: key, choice, and each candidate's best time per epoch."""
    return list(_read_wisdom().values())


def forget() -> bool:
    """Delete the wisdom file; the next call of each key measures again. True if there was one."""
    path = wisdom_path()
    for known in [k for k in _KNOWN if k[0] == str(path)]:
        del _KNOWN[known]
    _RECENT.clear()
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


# --- measuring -----------------------------------------------------------------------------


@cache
def last_level_cache_bytes() -> int | None:
    """The largest cache Linux reports for CPU 0 (None where it reports none)."""
    sizes = []
    for size_file in Path("/sys/devices/system/cpu/cpu0/cache").glob("index*/size"):
        text = size_file.read_text().strip().upper()
        units = {"K": 2**10, "M": 2**20, "G": 2**30}
        try:
            sizes.append(int(text[:-1]) * units[text[-1]] if text[-1] in units else int(text))
        except (ValueError, KeyError, IndexError):
            continue
    return max(sizes) if sizes else None


def tuning_bytes(data: str = "memory") -> int:
    """Bytes of X the candidates are timed on.

    "memory": 4x the last-level cache, 128 MiB to 1 GiB. "cache": the class's limit, a quarter
    of the last-level cache, so that the plan is one that still holds at the class's edge.
    "llc": the size of the last-level cache (``data_class`` gives "cache" and "llc" only where
    that size is known).
    """
    llc = last_level_cache_bytes() or 0
    if data == "cache" and llc:
        return llc // CACHE_SHARE
    if data == "llc" and llc:
        return llc
    return int(min(MAX_TUNING_BYTES, max(MIN_TUNING_BYTES, L3_MULTIPLE * llc)))


def tuning_problem(
    n: int, dtype: Any, nbytes: int | None = None, seed: int = 0, data: str = "memory"
) -> Problem:
    """Generated data with rows of ``n`` features: standard normal X, random 0/1 labels."""
    dtype = resolve_dtype(dtype)
    m = max(1, (nbytes or tuning_bytes(data)) // (n * dtype.itemsize))
    rng = np.random.default_rng([seed, n])
    X = rng.standard_normal((m, n), dtype=np.float32 if dtype == FLOAT32 else np.float64)
    w = rng.standard_normal(n) / np.sqrt(n)
    y = (rng.random(m) < 0.5).astype(dtype)
    # Start from a random w so the logits spread like a model's (not all zero).
    return validate(X, y, lr=TUNING_LR, epochs=1, w0=w, dtype=dtype)


def _run(candidate: Candidate, problem: Problem, epochs: int = 1):
    return run_descent(drivers()[candidate.family], problem, problem.lr, epochs, candidate.knobs)


def time_candidates(
    problem: Problem,
    candidates: tuple[Candidate, ...] = CANDIDATES,
    seconds: float = MEASURE_SECONDS,
    min_rounds: int = MIN_ROUNDS,
    max_rounds: int = MAX_ROUNDS,
    test_rounds: int = TEST_ROUNDS,
    finalists: int | None = FINALISTS,
    seed: int = 0,
    epochs: int = 1,
    keep: Candidate | None = None,
) -> dict[str, list[float]]:
    """Seconds per epoch of every candidate, round after round in a shuffled order.

    Each timing covers ``epochs`` epochs (divided out), for data so small that one epoch is
    too short to time well.
    Interleaving puts every candidate under the same conditions: a burst of other work on a
    shared machine slows one round of each rather than all rounds of one. The first round drops
    every candidate more than HOPELESS times slower than that round's fastest (no burst of noise
    makes a contender twice as slow as the field); from round 2 on, each round that is a
    power of two drops the slower half of the candidates still running (by median), but not the
    fastest of a family (``_survivors``). Neither goes below ``finalists``;
    ``finalists=None`` keeps every candidate to the end (a full landscape). ``keep`` (one of
    ``candidates``, the incumbent) is never dropped, and runs on top of the ``finalists``.
    Where the time is up before ``test_rounds`` rounds and there is an incumbent, the rounds
    left up to ``test_rounds`` are a duel: only the ``challenger`` of that moment and ``keep``
    run, so that the sign test against the incumbent has enough rounds (``winner``).
    The candidates still running at the end have the most rounds: ``finalists_of`` names them.
    Call :func:`warm_up` first: the first call of a kernel compiles it or loads it from the cache.
    """
    rng = np.random.default_rng(seed)
    times: dict[str, list[float]] = {candidate.name: [] for candidate in candidates}
    running = list(candidates)
    dueling = False
    began = time.perf_counter()
    for rounds in range(1, max_rounds + 1):
        for k in rng.permutation(len(running)):
            candidate = running[k]
            start = time.perf_counter()
            _run(candidate, problem, epochs)
            times[candidate.name].append((time.perf_counter() - start) / epochs)
        if rounds >= min_rounds and time.perf_counter() - began >= seconds:
            if rounds >= test_rounds or keep is None or finalists is None:
                break
            if not dueling:
                chosen = BY_NAME[challenger(times)]
                if chosen == keep:
                    break
                running, dueling = [chosen, keep], True
            continue
        if rounds == 1 and finalists is not None and len(running) > finalists:
            fastest = min(times[c.name][0] for c in running)
            running.sort(key=lambda c: times[c.name][0])
            hopeful = [c for c in running if times[c.name][0] <= HOPELESS * fastest]
            running = _keeping(running[: max(finalists, len(hopeful))], keep)
        if rounds >= min_rounds and _doubled(rounds) and finalists is not None and len(running) > finalists:
            running = _survivors(running, times, finalists, keep)
    return times


def _doubled(rounds: int) -> bool:
    """Whether ``rounds`` ends a stage of the race: stages end at rounds 2, 4, 8, 16, ..."""
    return rounds & (rounds - 1) == 0


def _survivors(
    running: list[Candidate], times: dict[str, list[float]], finalists: int, keep: Candidate | None
) -> list[Candidate]:
    """The faster half of ``running`` by median (at least ``finalists``), the fastest of each
    family still running, and ``keep``."""
    contenders = sorted((c for c in running if c != keep), key=lambda c: float(np.median(times[c.name])))
    survivors = contenders[: max(finalists, (len(contenders) + 1) // 2)]
    for family in FAMILIES:
        best = next((c for c in contenders if c.family == family), None)
        if best is not None and best not in survivors:
            survivors.append(best)
    return _keeping(survivors, keep)


def _keeping(running: list[Candidate], keep: Candidate | None) -> list[Candidate]:
    return running if keep is None or keep in running else [*running, keep]


def finalists_of(times: dict[str, list[float]]) -> list[str]:
    """The candidates that ran every round of a race (all of them when none was dropped)."""
    most = max(len(values) for values in times.values())
    return [name for name, values in times.items() if len(values) == most]


def fastest_finalist(times: dict[str, list[float]]) -> str:
    """The finalist with the lowest median epoch."""
    return min(finalists_of(times), key=lambda name: float(np.median(times[name])))


def winner(times: dict[str, list[float]], incumbent: str | None = None) -> str:
    """The race's choice (``challenger``), or ``incumbent`` where the choice is not significantly
    faster than it (``sign_test``)."""
    chosen = challenger(times)
    if incumbent is None or chosen == incumbent:
        return chosen
    return chosen if sign_test(times[chosen], times[incumbent]) <= SIGNIFICANCE else incumbent


def challenger(times: dict[str, list[float]]) -> str:
    """The finalist with the lowest median epoch, or the fastest finalist that prefetches where it
    is within PREFER_PREFETCH of that one and that one does not prefetch."""
    median = {name: float(np.median(times[name])) for name in finalists_of(times)}
    fastest = min(median, key=median.get)
    prefetching = [name for name in median if BY_NAME[name].prefetches]
    if BY_NAME[fastest].prefetches or not prefetching:
        return fastest
    runner_up = min(prefetching, key=median.get)
    return runner_up if median[runner_up] <= (1 + PREFER_PREFETCH) * median[fastest] else fastest


def sign_test(challenger_s: list[float], incumbent_s: list[float]) -> float:
    """One-sided sign test over paired rounds: the chance of the challenger being faster in at
    least as many rounds as it was if each round were a coin toss (ties count against it)."""
    rounds = min(len(challenger_s), len(incumbent_s))
    wins = sum(a < b for a, b in zip(challenger_s[:rounds], incumbent_s[:rounds], strict=True))
    return sum(math.comb(rounds, k) for k in range(wins, rounds + 1)) / 2**rounds


def warm_up(problem: Problem, candidates: tuple[Candidate, ...] = CANDIDATES) -> None:
    """Run every candidate once on a few rows: compile or load its kernel, touch its buffers."""
    small = dataclasses.replace(problem, X=problem.X[:64], y=problem.y[:64])
    for candidate in candidates:
        _run(candidate, small)


def epochs_per_sample(problem: Problem) -> int:
    """Epochs per timing, so that one takes at least MIN_SAMPLE_SECONDS (1 unless X is tiny)."""
    start = time.perf_counter()
    _run(estimate(problem.X.shape[1], problem.dtype), problem)
    return max(1, int(np.ceil(MIN_SAMPLE_SECONDS / max(time.perf_counter() - start, 1e-9))))


def measure(
    n: int, dtype: Any, nbytes: int | None = None, seconds: float = MEASURE_SECONDS, data: str = "memory"
) -> dict:
    """Time every candidate for rows of ``n`` features on data of class ``data``; return the wisdom entry."""
    if data not in DATA_CLASSES:
        raise ValueError(f"data must be one of {', '.join(DATA_CLASSES)}, got {data!r}")
    threads = numba.get_num_threads()
    began = time.perf_counter()
    problem = tuning_problem(n, dtype, nbytes, data=data)
    generated = time.perf_counter()
    warm_up(problem)
    warm = time.perf_counter()
    epochs = epochs_per_sample(problem)
    incumbent = estimate(n, dtype)
    times = time_candidates(problem, seconds=seconds, epochs=epochs, keep=incumbent)
    chosen = challenger(times)
    return {
        "key": key_of(n, dtype, threads, data),
        "choice": winner(times, incumbent.name),
        "fastest": fastest_finalist(times),
        "challenger": chosen,  # the race's choice before the sign test against the rule of thumb
        "estimate": incumbent.name,
        "sign_test_p": sign_test(times[chosen], times[incumbent.name]),
        "data": data,
        "epochs_per_sample": epochs,
        "measured_n": n,
        "measured_rows": problem.X.shape[0],
        "data_bytes": problem.X.nbytes,
        "rounds": max(len(values) for values in times.values()),
        "finalists": finalists_of(times),
        "rounds_of": {name: len(values) for name, values in times.items()},
        "best_s": {name: min(values) for name, values in times.items()},
        "median_s": {name: float(np.median(values)) for name, values in times.items()},
        "data_s": generated - began,  # generating the tuning data
        "warmup_s": warm - generated,  # compiling (first time on a machine) or loading the kernels
        "measuring_s": time.perf_counter() - warm,  # timing the candidates
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _resolve_mode(mode: str | None) -> str:
    mode = mode or os.environ.get("LADDER_PLANNING") or "measure"
    if mode not in MODES:
        raise ValueError(f"planning mode (LADDER_PLANNING) must be one of {', '.join(MODES)}, got {mode!r}")
    return mode


#: Plans already made in this process, by (wisdom file, key): a fit must not re-read the file.
_KNOWN: dict[tuple[str, str], Plan] = {}
#: The same plans by a key that is cheap to build: a fit on small data takes microseconds, and
#: reading three environment variables alone would add several. So LADDER_PLANNING, LADDER_WISDOM
#: and LADDER_CACHE_DIR count as they were when a process first planned a key (``forget`` resets).
_RECENT: dict[tuple, Plan] = {}


def thread_count() -> int:
    """``numba.get_num_threads()`` without its cost on every call (the rung plans on every call).

    The public function takes a process-wide lock each time: about 2 µs, a tenth of a whole
    one-epoch fit of 100 rows of 100 features. Once Numba has launched its threads, the count is
    read from the threading layer directly (0.2 µs). That reader is private to Numba: where it
    is missing or the threads are not launched yet, the public function answers.
    """
    if getattr(_numba_parallel, "_is_initialized", False):
        read = getattr(_numba_parallel, "_get_num_threads", None)
        count = read() if read is not None else 0
        if count > 0:
            return count
    return numba.get_num_threads()


def plan(
    n: int, dtype: Any = None, threads: int | None = None, mode: str | None = None, m: int | None = None
) -> Plan:
    """The kernel for rows of ``n`` features in ``dtype`` on ``threads`` threads (default: Numba's).

    ``m``, the number of rows, says whether X fits in the last-level cache (``data_class``);
    without it the plan is the one for data beyond the cache.
    """
    threads = thread_count() if threads is None else threads
    quick = (mode, n, dtype, threads, m)
    recent = _RECENT.get(quick)
    if recent is not None:
        return recent
    mode = _resolve_mode(mode)
    dtype = resolve_dtype(dtype)
    if mode == "estimate":
        return Plan(estimate(n, dtype), "estimate")
    data = data_class(m, n, dtype.itemsize)
    key = _key_text(key_of(n, dtype, threads, data))
    path = str(wisdom_path())
    known = _KNOWN.get((path, key))
    if known is None:
        entry = _read_wisdom().get(key)
        if entry is not None and entry.get("choice") in BY_NAME:
            known = _KNOWN[path, key] = Plan(BY_NAME[entry["choice"]], "wisdom", entry)
    if known is not None:
        _RECENT[quick] = known
        return known
    with _threads(threads):
        entry = measure(n, dtype, data=data)
    entries = _read_wisdom()  # again: another process may have added keys meanwhile
    entries[key] = entry
    _write_wisdom(entries)
    _KNOWN[path, key] = Plan(BY_NAME[entry["choice"]], "wisdom", entry)
    return Plan(BY_NAME[entry["choice"]], "measured", entry)


@contextmanager
def _threads(count: int):
    """Run with ``count`` Numba threads, then restore."""
    before = numba.get_num_threads()
    numba.set_num_threads(count)
    try:
        yield
    finally:
        numba.set_num_threads(before)


# --- the rung ------------------------------------------------------------------------------


@cache
def _families() -> dict[str, tuple[Any, tuple]]:
    """(compiled parallel descent, its kernels) per family, loaded from Numba's disk cache when it can be."""
    return {name: family.build() for name, family in FAMILIES.items()}


def drivers() -> dict[str, Any]:
    return {name: driver for name, (driver, _) in _families().items()}


def build(cold: bool = False) -> Rung:
    """The rung; ``cold=True`` compiles every family afresh, uncached (what the compile benchmark times)."""
    families = {name: family.build(cold=True) for name, family in FAMILIES.items()} if cold else _families()
    pending = [cold]  # a cold rung's first call compiles every family, as a first use on a machine does

    def descend(problem: Problem, lr: float, epochs: int):
        if pending[0]:
            for driver, _ in families.values():
                run_descent(driver, problem, lr, 0, NO_KNOBS)  # zero epochs: compile only
            pending[0] = False
        chosen = plan(problem.X.shape[1], problem.dtype, m=problem.X.shape[0]).candidate
        return run_descent(families[chosen.family][0], problem, lr, epochs, chosen.knobs)

    return Rung(
        name="numba_tuned",
        summary="The fastest of the kernels below, with their knobs swept, measured on this machine "
        "once per dtype, row length, thread count and size of X against the last-level cache (in "
        "it, about its size, or beyond it; the rule of thumb unless another is clearly faster), "
        "and remembered (like FFTW's wisdom).",
        descend=descend,
        tolerance=TOLERANCE,
        uses_threads="numba",
        rebuild=lambda: build(cold=True),
        kernels=tuple(kernel for _, kernels in families.values() for kernel in kernels),
        core=(plan, time_candidates),
    )


def candidate_rung(candidate: Candidate) -> Rung:
    """A rung that always runs ``candidate``: how the correctness suite checks every candidate."""

    def descend(problem: Problem, lr: float, epochs: int):
        return run_descent(drivers()[candidate.family], problem, lr, epochs, candidate.knobs)

    return Rung(
        name=f"numba_tuned[{candidate.name}]",
        summary=f"numba_tuned pinned to its candidate {candidate.name}",
        descend=descend,
        tolerance=TOLERANCE,
        uses_threads="numba",
    )


RUNG = build()
