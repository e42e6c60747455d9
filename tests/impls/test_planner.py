"""numba_tuned's planner: its candidates, its key, the race, the decision and the wisdom file.

The race is pure (a clock and a runner passed in), so its tests run fake contenders on a clock
only they move: exact, with no real waiting. Measuring for real uses small data and a short
bound (monkeypatched): those tests check what is chosen, stored, shown and forgotten, never
how fast anything is.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numba
import numpy as np
import pytest

import ladderstats as stats
from impls import (
    IMPLEMENTATIONS,
    FitResult,
    numba_blocked,
    numba_fused,
    numba_tiled,
    numba_tuned,
    relative_error,
)
from impls._common import source_digest, validate
from impls.planner import __main__ as cli
from impls.planner import candidates, key, planning, race, store
from impls.planner.candidates import BY_NAME, CANDIDATES, Candidate, rule_of_thumb
from impls.planner.race import Rules
from tests.reference import make_problem, reference_fit

ROOT = Path(__file__).resolve().parents[2]
TUNING_BYTES = planning.tuning_bytes  # before any fixture replaces it
QUICK = Rules(seconds=0.01)


@pytest.fixture
def fresh_wisdom(tmp_path, monkeypatch):
    """Measure mode, a wisdom file of our own, small tuning data and a short race; counts measurements."""
    path = tmp_path / "wisdom.json"
    monkeypatch.setenv("LADDER_WISDOM", str(path))
    monkeypatch.setenv("LADDER_PLANNING", "measure")
    monkeypatch.setattr(planning, "tuning_bytes", lambda data="memory": 2**20)
    measured = []
    real_measure = planning.measure

    def counting_measure(n, dtype, nbytes=None, rules=race.RULES, data="memory"):
        measured.append((n, str(np.dtype(dtype)), numba.get_num_threads()))
        return real_measure(n, dtype, nbytes, rules=QUICK, data=data)

    monkeypatch.setattr(planning, "measure", counting_measure)
    _a_new_process()  # plans remembered by this process under other settings
    yield path, measured
    _a_new_process()


def _a_new_process() -> None:
    """Forget what this process remembers of its plans (and their confirmations), as a new one starts."""
    planning._RECENT.clear()
    planning.CONFIRMED.clear()
    planning._KNOWN.clear()
    planning._CONFIRMING.clear()
    planning._UNMEASURED.clear()


# --------------------------------------------------------------------------- candidates and key


#: What a candidate's name says of its knobs, per family: the wisdom and ``show`` name kernels so.
NAMES = {
    "fused": re.compile(r"fused(?:-pf(?P<first>[1-9][0-9]*))?"),
    "tiled": re.compile(r"tiled-(?P<first>[1-9][0-9]*)k"),
    "blocked": re.compile(r"blocked-r(?P<first>[0-9]+)-(?:nopf|pf(?P<second>[1-9][0-9]*))"),
    "skewed": re.compile(r"skewed-r(?P<first>[0-9]+)-(?:nopf|pf(?P<second>[1-9][0-9]*))"),
}
LINE = 64  # bytes of a cache line: a prefetch distance is a whole number of them
MAX_AHEAD = 2**20  # farther ahead than any cache holds
MAX_TILE = 4 * 2**20  # a tile is re-read from cache (numba_tiled): none beyond the largest L2s


def _knobs_in_range(candidate) -> bool:
    """The knobs the candidate's kernel means them to be (its docstring), and its name states them."""
    first, second = candidate.knobs
    named = NAMES[candidate.family].fullmatch(candidate.name)
    if named is None:
        return False
    if candidate.family == "fused":  # (prefetch distance in bytes, 0 for none; unused)
        ahead_ok = first == 0 or (0 < first <= MAX_AHEAD and first % LINE == 0)
        return ahead_ok and second == 0 and int(named["first"] or 0) == first
    if candidate.family == "tiled":  # (tile bytes, unused): whole KiB, as its name has it
        in_range = 1024 <= first <= MAX_TILE and first % 1024 == 0
        return in_range and second == 0 and int(named["first"]) * 1024 == first
    # blocked, skewed: (rows per block, one of the compiled block passes; distance, NO_PREFETCH for none)
    family = numba_blocked.FAMILY if candidate.family == "blocked" else numba_blocked.SKEWED
    passes = {int(name.rpartition("_")[2]) for name in family.helpers}
    ahead_ok = second == numba_blocked.NO_PREFETCH or (0 < second <= MAX_AHEAD and second % LINE == 0)
    said = -1 if named["second"] is None else int(named["second"])
    return first in passes and ahead_ok and int(named["first"]) == first and said == second


def test_every_candidate_is_a_distinct_valid_kernel_that_agrees_with_the_reference():
    """What the planner races must be worth racing: each candidate named once and by what it runs,
    its knobs within the range its kernel reads them in, every family raced, the rule of thumb and
    the rungs' own kernels among them (so measuring can only match or beat them), and each one,
    in each dtype, compiling and computing the descent the reference computes."""
    names = [c.name for c in CANDIDATES]
    assert len(set(names)) == len(names) and all(BY_NAME[c.name] == c for c in CANDIDATES)
    assert len(set(CANDIDATES)) == len(CANDIDATES)  # no kernel twice under two names
    assert [c for c in CANDIDATES if not _knobs_in_range(c)] == []
    assert {c.family for c in CANDIDATES} == set(candidates.FAMILIES)
    assert {Candidate("fused"), Candidate("tiled", (numba_tiled.TILE_BYTES, 0))} <= set(CANDIDATES)
    assert BY_NAME["fused"].knobs == numba_fused.NO_KNOBS
    assert {c.knobs[0] for c in CANDIDATES if c.family == "tiled"} >= {numba_tiled.TILE_BYTES}
    for dtype in ("float64", "float32"):
        for n in (1, 7, 8, 10, 25, 31, 32, 100, 1000):
            assert rule_of_thumb(n, dtype) in CANDIDATES, (n, dtype)
    X, y = make_problem(203, 13, seed=4)  # rows that fill no block, chunk or tile exactly
    expected = reference_fit(X, y, lr=0.5, epochs=3)
    for dtype in ("float64", "float32"):
        problem = validate(X, y, lr=0.5, epochs=3, dtype=dtype)
        tolerance = IMPLEMENTATIONS["numba_tuned"].tolerance(dtype)
        for candidate in CANDIDATES:
            w, b, costs = candidates.run(candidate, problem, epochs=3)
            error = relative_error(FitResult(w, b, costs), *expected)
            assert error <= tolerance, (candidate.name, dtype, error)


def test_which_candidates_prefetch():
    prefetching = {c.name for c in CANDIDATES if c.prefetches}
    assert {"fused-pf1024", "blocked-r4-pf1024", "blocked-r16-pf16384"} <= prefetching
    assert not {"fused", "tiled-16k", "blocked-r4-nopf", "blocked-r16-nopf"} & prefetching


def test_the_data_class_follows_the_last_level_cache(monkeypatch):
    monkeypatch.setattr(key, "last_level_cache_bytes", lambda: 8 * 2**20)
    assert key.data_class(2_621, 100, 8) == "cache"  # 2,096,800 bytes: within a quarter of it
    assert key.data_class(2_622, 100, 8) == "llc"  # 2,097,600 bytes: beyond 2 MiB
    assert key.data_class(20_971, 100, 8) == "llc"  # 16,776,800 bytes: within twice 8 MiB
    assert key.data_class(20_972, 100, 8) == "memory"  # 16,777,600 bytes: beyond it
    assert key.data_class(None, 100, 8) == "memory"
    monkeypatch.setattr(key, "last_level_cache_bytes", lambda: None)  # unknown: all "memory"
    assert key.data_class(10, 1, 8) == "memory"


def test_the_thread_count_follows_numba_set_num_threads():
    before = numba.get_num_threads()
    try:
        for count in range(1, before + 1):
            numba.set_num_threads(count)
            assert key.thread_count() == numba.get_num_threads() == count
    finally:
        numba.set_num_threads(before)


def test_the_thread_count_falls_back_to_numbas_public_function(monkeypatch):
    """Where Numba's private reader is missing (another version) or answers nonsense, ask Numba."""
    expected = numba.get_num_threads()
    for private in (
        SimpleNamespace(),  # a Numba without them
        SimpleNamespace(_is_initialized=False, _get_num_threads=lambda: 99),  # threads not launched
        SimpleNamespace(_is_initialized=True, _get_num_threads=lambda: 0),  # an answer that cannot be
    ):
        monkeypatch.setattr(key, "_numba_parallel", private)
        monkeypatch.setattr(key, "_READER", [])  # none found yet
        assert key.thread_count() == expected


@pytest.mark.skipif(numba.config.DISABLE_JIT, reason="NUMBA_DISABLE_JIT: nothing is compiled")
def test_the_thread_count_is_read_in_compiled_code_once_the_threads_are_up(monkeypatch):
    """The compiled read answers, and follows ``numba.set_num_threads`` in this thread and not
    another's."""
    monkeypatch.setattr(key, "_READER", [])
    before = numba.get_num_threads()  # launches the threads
    seen = []
    try:
        numba.set_num_threads(1)
        assert key.thread_count() == 1 and key._READER == [key._LAYER_COUNT]
        other = threading.Thread(target=lambda: seen.append(key.thread_count()))
        other.start()
        other.join()
        numba.set_num_threads(before)
        assert key.thread_count() == before and key._READER == [key._LAYER_COUNT]
    finally:
        numba.set_num_threads(before)
    assert seen == [numba.config.NUMBA_NUM_THREADS]  # a new thread starts with every thread


def test_a_reader_that_fails_is_not_tried_again(monkeypatch):
    """Where the compiled read fails, the layer's ctypes reader answers, and the compiled one is not
    tried again (a failed compile costs milliseconds); a reader that starts to fail is dropped."""
    calls = []

    def broken():
        calls.append("compiled")
        raise RuntimeError("no such intrinsic in this Numba")

    answer = [3]
    private = SimpleNamespace(
        _is_initialized=True, _iget_num_threads=object(), _get_num_threads=lambda: answer[0]
    )
    monkeypatch.setattr(key, "_numba_parallel", private)
    monkeypatch.setattr(key, "_LAYER_COUNT", broken)
    monkeypatch.setattr(key, "_READER", [])
    monkeypatch.setattr(key, "_FAILED", [])
    assert key.thread_count() == 3 and key._READER == [private._get_num_threads]
    monkeypatch.setattr(key, "_READER", [])
    assert key.thread_count() == 3 and calls == ["compiled"]
    answer[0] = 0  # the ctypes reader answers nonsense from now on: Numba's public function answers
    assert key.thread_count() == numba.get_num_threads() and key._READER == []


# --------------------------------------------------------------------------- the race, on a fake clock


class FakeClock:
    """Contenders that take ``cost[name]`` seconds per unit on a clock only they move."""

    def __init__(self, cost: dict[str, float], per_timing: int = 1):
        self.now, self.cost, self.per_timing, self.ran = 0.0, cost, per_timing, []

    def __call__(self) -> float:
        return self.now

    def run(self, name: str) -> None:
        self.ran.append(name)
        self.now += self.cost[name] * self.per_timing


def _race(cost, rules=race.RULES, **kwargs):
    """A whole race of fake contenders; ``cost[name]``: seconds per turn, or a list, one per round."""
    clock = FakeClock({})
    turns = {name: 0 for name in cost}

    def run(name):
        costs = cost[name] if isinstance(cost[name], list) else [cost[name]]
        clock.ran.append(name)
        clock.now += costs[turns[name] % len(costs)]
        turns[name] += 1

    return race.run_race(list(cost), run, clock, rules, **kwargs), clock


def test_timing_over_several_units_gives_seconds_per_unit():
    raced, _ = _race({"a": 0.5, "b": 0.7}, Rules(seconds=0), eliminate=False, min_rounds=3, per_timing=5)
    assert raced.times["a"] == pytest.approx([0.1] * 3) and raced.times["b"] == pytest.approx([0.14] * 3)


def test_every_round_runs_each_contender_once_in_a_shuffled_order():
    cost = {name: 1.0 for name in "abcdef"}
    raced, clock = _race(cost, Rules(seconds=1e9, max_rounds=20), eliminate=False)
    rounds = [clock.ran[k : k + 6] for k in range(0, len(clock.ran), 6)]
    assert len(rounds) == raced.rounds == 20 and all(sorted(r) == list("abcdef") for r in rounds)
    assert len({tuple(r) for r in rounds}) > 10  # a new order, round after round


def test_one_surely_slower_by_more_than_the_margin_stops_once_an_interval_exists():
    rules = Rules(seconds=1e9, margin=0.03)
    raced, clock = _race({"a": 1.0, "b": 1.0 + 2 * rules.margin}, rules)
    least = stats.least_rounds(rules.confidence)
    assert clock.ran.count("b") == least  # not before a 95% interval exists, at once after
    assert raced.running == ["a"] and raced.finished and raced.choice() == "a"


def test_a_noisy_contender_stops_in_the_first_round_its_interval_lies_above_the_margin():
    rules = Rules(seconds=1e9, margin=0.03)
    noisy = [1.2, 0.95, 1.15, 1.0, 1.1, 1.25, 0.98, 1.3, 1.12, 1.2, 1.18, 1.15, 1.22, 1.16, 1.3]
    raced, _ = _race({"a": 1.0, "b": noisy, "c": 1.0}, rules)
    stopped = next(
        r
        for r in range(stats.least_rounds(), len(noisy) + 1)
        if stats.paired(noisy[:r], [1.0] * r).low > 1.03
    )
    assert len(raced.times["b"]) == stopped and "b" not in raced.running


def test_within_the_margin_is_a_tie_and_the_incumbent_or_the_first_given_stays():
    rules = Rules(seconds=1e9, margin=0.03)
    cost = {"a": 1.0, "b": 1.0 + rules.margin / 2, "c": 1.0 + rules.margin / 3}
    raced, _ = _race(cost, rules, incumbent="b")
    assert raced.finished and raced.rounds == stats.least_rounds(rules.confidence)
    assert raced.choice() == "b"  # slower by less than the margin: the change is not earned
    untold, _ = _race(cost, rules)
    assert untold.choice() == "a"  # no incumbent: the first of those given


def test_when_the_time_is_up_the_incumbent_stays_while_it_runs_else_the_best():
    swings = {"a": [1.0, 1.3], "b": [1.3, 1.0], "c": [1.2, 1.15]}  # no one surely ahead in 4 rounds
    raced, _ = _race(swings, Rules(seconds=4 * 3.5), incumbent="c")
    assert raced.rounds < stats.least_rounds() and set(raced.running) == {"a", "b", "c"}
    assert raced.choice() == "c"
    slow = {"a": 1.0, "b": 1.01, "c": 1.5}  # the incumbent surely slower: dropped, the best chosen
    raced, _ = _race(slow, Rules(seconds=1e9, max_rounds=8), incumbent="c")
    assert "c" not in raced.running and raced.choice() == "a"


def test_a_race_ends_early_when_nothing_can_beat_the_incumbent_by_the_margin():
    """Planning that knows when not to: a contender that surely cannot beat the incumbent by the
    margin could never replace it, so it stops; when none is left the race ends, "kept"."""
    rules = Rules(seconds=1e9, margin=0.03)
    undecided = [1.0, 1.1]  # against the best: neither surely slower nor surely within the margin
    cost = {"rule": 1.0, "same": 1.0, "undecided": undecided}
    raced, _ = _race(cost, rules, incumbent="rule")
    assert raced.ended == "kept" and raced.running == ["rule"] and raced.choice() == "rule"
    assert raced.rounds == stats.least_rounds(rules.confidence)
    without, _ = _race(cost, Rules(seconds=1e9, margin=0.03, max_rounds=20))  # no incumbent: no such rule
    assert without.ended == "rounds" and "undecided" in without.running
    faster, _ = _race({"rule": 1.0, "quick": 0.9}, rules, incumbent="rule")
    assert faster.ended == "alone" and faster.choice() == "quick"  # surely faster: it replaces the rule


def test_a_race_goes_on_from_its_state_as_if_it_had_not_stopped():
    """A race's state (through JSON, as the wisdom keeps it) resumes where it was: whole rounds only."""
    cost = {"a": [1.0, 1.2, 0.9], "b": [1.1, 1.0, 1.3], "c": [1.05, 1.1, 1.0]}
    whole, _ = _race(cost, Rules(seconds=1e9, max_rounds=12), incumbent="a")
    partial = race.Race(list(cost), Rules(max_rounds=12), incumbent="a")
    turns = {name: 0 for name in cost}
    for _ in range(3 * len(cost) + 1):  # three rounds and one turn of the fourth
        name = partial.next()
        partial.add(name, cost[name][turns[name] % 3])
        turns[name] += 1
    state = json.loads(json.dumps(partial.state()))
    resumed = race.Race(list(cost), Rules(max_rounds=12), incumbent="a").resume(state)
    assert resumed.rounds == 3 and all(len(t) == 3 for t in resumed.times.values())
    while not resumed.finished:
        name = resumed.next()
        resumed.add(name, cost[name][len(resumed.times[name]) % 3])
    assert (resumed.rounds, resumed.ended, resumed.choice()) == (whole.rounds, whole.ended, whole.choice())
    assert all(resumed.times[name] == pytest.approx(whole.times[name]) for name in cost)
    ended = race.Race(list(cost), incumbent="a").resume({**state, "running": ["a"]})
    assert ended.finished and ended.ended == "kept"


def test_a_race_without_elimination_runs_everyone_every_round_for_at_least_its_rounds():
    raced, _ = _race({"a": 1.0, "b": 5.0}, Rules(seconds=0, max_rounds=50), eliminate=False, min_rounds=12)
    assert raced.rounds == 12 and len(raced.times["b"]) == 12  # time was up at once; the rounds were owed
    capped, _ = _race({"a": 1.0, "b": 5.0}, Rules(seconds=1e9), eliminate=False, max_rounds=30)
    assert capped.rounds == 30 and capped.running == ["a", "b"]


# --------------------------------------------------------------------------- planning and wisdom


def test_estimate_mode_never_measures_and_ignores_wisdom(fresh_wisdom, monkeypatch):
    path, measured = fresh_wisdom
    monkeypatch.setenv("LADDER_PLANNING", "estimate")
    chosen = planning.plan(100, "float64")
    assert chosen.source == "estimate" and chosen.candidate == rule_of_thumb(100, "float64")
    assert measured == [] and not path.exists()


def test_measure_once_then_remember(fresh_wisdom):
    path, measured = fresh_wisdom
    first = planning.plan(30, "float64")
    assert first.source == "measured" and measured == [(30, "float64", numba.get_num_threads())]
    entry = first.entry
    assert set(entry["best_s"]) == set(entry["median_s"]) == {c.name for c in CANDIDATES}
    finalists = entry["finalists"]
    assert all(entry["rounds_of"][name] == entry["rounds"] for name in finalists)
    assert all(
        entry["rounds_of"][name] < entry["rounds"] for name in set(entry["rounds_of"]) - set(finalists)
    )
    assert entry["fastest"] == min(finalists, key=entry["median_s"].get)
    # the rule of thumb (240-byte rows: blocks of 8) was the incumbent: it stays while it runs
    assert entry["rule_of_thumb"] == "blocked-r8-pf4096"
    kept = entry["rule_of_thumb"] in finalists
    assert entry["choice"] == first.candidate.name == (entry["rule_of_thumb"] if kept else entry["choice"])
    assert entry["choice"] in finalists and entry["rounds"] >= 1 and entry["measured_n"] == 30
    assert entry["ended"] in race.ENDINGS
    if entry["choice"] == entry["rule_of_thumb"]:
        assert entry["gain"] is None
    else:  # the rule's epoch over the choice's in the same rounds, with its interval
        assert entry["gain"]["low"] <= entry["gain"]["ratio"] <= entry["gain"]["high"]
    assert all(seconds > 0 for seconds in entry["best_s"].values())
    assert all(entry["best_s"][name] <= entry["median_s"][name] for name in entry["best_s"])
    stamp = entry["key"]
    assert stamp["source"] == source_digest() and stamp["numba"] == numba.__version__ and stamp["cpu"]
    assert stamp["n"] == 30 and stamp["dtype"] == "float64"

    again = planning.plan(30, "float64")  # the same key: remembered (confirmed if one finalist was left)
    assert again.source == ("wisdom" if len(finalists) > 1 else "confirmed")
    assert again.candidate == first.candidate and len(measured) == 1
    stored = json.loads(path.read_text())
    assert stored["version"] == store.VERSION and len(stored["entries"]) == 1

    planning.plan(30, "float32")  # another dtype, another row length, other threads: new keys
    planning.plan(31, "float64")
    planning.plan(30, "float64", threads=1)
    assert [m[:2] for m in measured[1:]] == [(30, "float32"), (31, "float64"), (30, "float64")]
    assert measured[-1][2] == 1
    assert len(store.entries()) == 4


def test_x_in_the_cache_has_a_plan_of_its_own(fresh_wisdom, monkeypatch):
    """Calls whose X fits in a quarter of the last-level cache plan on in-cache data, X up to twice
    the cache on data of the cache's size, others on large data."""
    _, measured = fresh_wisdom
    monkeypatch.setattr(key, "last_level_cache_bytes", lambda: 8 * 2**20)
    sizes = []
    real_problem = planning.tuning_problem

    def recording_problem(n, dtype, nbytes=None, seed=0, data="memory"):
        sizes.append((data, TUNING_BYTES(data) if nbytes is None else nbytes))
        return real_problem(n, dtype, nbytes or 2**20, seed, data)

    monkeypatch.setattr(planning, "tuning_problem", recording_problem)
    small = planning.plan(30, "float64", m=1_000)
    middle = planning.plan(30, "float64", m=20_000)  # 4.8 MB
    large = planning.plan(30, "float64", m=10**6)
    default = planning.plan(30, "float64")  # no m: the plan for data beyond the caches
    assert small.source == middle.source == large.source == "measured" and default.source == "wisdom"
    assert small.entry["key"]["data"] == small.entry["data"] == "cache"
    assert middle.entry["key"]["data"] == middle.entry["data"] == "llc"
    assert large.entry["key"]["data"] == default.entry["key"]["data"] == "memory"
    assert [data for data, _ in sizes] == ["cache", "llc", "memory"] and len(measured) == 3
    assert sizes[0][1] == 2 * 2**20  # a quarter of the last-level cache: the class's edge
    assert sizes[1][1] == 8 * 2**20  # the last-level cache's own size
    assert small.entry["epochs_per_sample"] >= 1
    assert planning.plan(30, "float64", m=900).source == "wisdom"  # same class: remembered
    with pytest.raises(ValueError, match="data must be one of cache, llc, memory"):
        planning.measure(30, "float64", data="L2")


@pytest.mark.parametrize("epoch_s", [1e-6, 3e-4, 1e-3, 0.5])
def test_each_timing_covers_whole_epochs_to_at_least_the_floor(monkeypatch, epoch_s):
    """One epoch per timing wherever an epoch lasts a turn, else just enough of them."""
    clock = FakeClock({})
    monkeypatch.setattr(
        candidates, "run", lambda c, problem, epochs=1: setattr(clock, "now", clock.now + epoch_s)
    )
    problem = planning.tuning_problem(20, "float64", nbytes=20 * 8 * 100)
    epochs = planning.epochs_per_sample(problem, race.RULES, clock=clock)
    floor = race.RULES.turn_s
    assert epochs * epoch_s >= floor * (1 - 1e-9)
    assert epochs == 1 or (epochs - 1) * epoch_s < floor * (1 + 1e-9)


def test_forget_and_show(fresh_wisdom, capsys):
    path, measured = fresh_wisdom
    assert cli.main(["show"]) == 0 and "no wisdom" in capsys.readouterr().out
    planning.plan(8, "float32")
    assert cli.main(["show"]) == 0
    shown = capsys.readouterr().out
    assert "float32, rows of n = 8" in shown
    for candidate in CANDIDATES:
        assert candidate.name in shown
    assert cli.main(["forget"]) == 0 and not path.exists()
    assert planning.plan(8, "float32").source == "measured" and len(measured) == 2


def test_the_command_line_in_a_process_of_its_own(tmp_path):
    env = {**os.environ, "LADDER_WISDOM": str(tmp_path / "w.json")}
    shown = subprocess.run(
        [sys.executable, "-m", "impls.planner", "show"], env=env, capture_output=True, text=True, cwd=ROOT
    )
    assert shown.returncode == 0 and "no wisdom in" in shown.stdout and not shown.stderr
    for bad, message in (
        (["plan", "0"], "N must be >= 1"),
        (["plan", "5", "--rows", "0"], "--rows must be >= 1"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "impls.planner", *bad], env=env, capture_output=True, text=True, cwd=ROOT
        )
        assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr


def test_show_says_why_the_choice_is_not_the_fastest_finalist(fresh_wisdom):
    entry = planning.plan(30, "float64").entry
    cpu = entry["key"]["cpu"]
    kept = {
        **entry,
        "choice": "blocked-r8-pf4096",
        "fastest": "blocked-r8-pf2048",
        "rule_of_thumb": "blocked-r8-pf4096",
    }
    assert (
        f"{cpu}): blocked-r8-pf4096 (the rule of thumb, kept: blocked-r8-pf2048 was not surely more than 3% "
        "faster)" in cli.show([kept])
    )
    tie = {**kept, "choice": "fused", "fastest": "blocked-r8-pf2048"}
    assert f"{cpu}): fused (within 3% of the fastest finalist, blocked-r8-pf2048: a tie" in cli.show([tie])
    same = {**kept, "fastest": "blocked-r8-pf4096", "confirmed": {"choice": "tiled-64k", "rounds": 7}}
    assert f"{cpu}): blocked-r8-pf4096; on your data: tiled-64k, after 7 rounds  [" in cli.show([same])


def test_a_planning_mode_that_does_not_exist_is_named(monkeypatch):
    monkeypatch.setenv("LADDER_PLANNING", "patient")
    planning._RECENT.clear()
    planning.CONFIRMED.clear()
    with pytest.raises(ValueError, match=r"LADDER_PLANNING.*measure, estimate.*'patient'"):
        planning.plan(10, "float64")


def test_measured_plan_gives_the_same_answer(fresh_wisdom):
    """Whatever wins the measurement, the fit agrees with the reference."""
    X, y = make_problem(3000, 12, seed=9)
    result = IMPLEMENTATIONS["numba_tuned"].fit(X, y, lr=0.5, epochs=4)
    assert fresh_wisdom[1], "the fit should have planned by measuring"
    expected = reference_fit(X, y, lr=0.5, epochs=4)
    assert relative_error(result, *expected) <= IMPLEMENTATIONS["numba_tuned"].tolerance("float64")


def test_the_report_reads_back_the_planners_settings_a_run_records():
    """What a run records of the planner reaches the lesson: through JSON, the report's reader of the
    ladder record gets every setting back, and the candidates are the planner's own."""
    from bench.results.ladder import from_record
    from bench.results.schema import RESULTS_VERSION
    from bench.suite.describe import ladder

    recorded = ladder()
    json.dumps(recorded)  # it goes into a results file
    read = from_record(json.loads(json.dumps(recorded)), RESULTS_VERSION)
    for name, value in recorded["planner"].items():  # nested records (the rules) come flattened
        flat = value if isinstance(value, dict) else {name: value}
        assert all(read.planner[k] == v for k, v in flat.items()), name
    assert read.planner["candidates"] and set(read.planner["candidates"]) == {c.name for c in CANDIDATES}


# ------------------------------------------------------------------ a wisdom file in bad surroundings


def test_unreadable_or_old_wisdom_is_measured_again_and_replaced(fresh_wisdom):
    path, measured = fresh_wisdom
    path.write_text("{not json")
    with pytest.warns(store.WisdomWarning, match=f"ignoring the wisdom in {path}"):
        assert planning.plan(5, "float64").source == "measured"
    assert json.loads(path.read_text())["version"] == store.VERSION  # the damaged file is replaced
    path.write_text(json.dumps({"version": store.VERSION - 1, "entries": {"x": {}}}))
    _a_new_process()
    assert planning.plan(5, "float64").source == "measured" and len(measured) == 2
    assert json.loads(path.read_text())["version"] == store.VERSION


@pytest.mark.parametrize("where", ["under-a-file", "a-folder"])
def test_a_wisdom_file_that_cannot_be_written_warns_once_and_the_fit_goes_on(
    fresh_wisdom, monkeypatch, where
):
    path, measured = fresh_wisdom
    blocker = path.parent / "blocker"
    if where == "under-a-file":
        blocker.write_text("a file, not a folder")
        wisdom = blocker / "wisdom.json"
    else:
        wisdom = blocker
        wisdom.mkdir()
    monkeypatch.setenv("LADDER_WISDOM", str(wisdom))
    store._WARNED.clear()
    X, y = make_problem(2000, 9, seed=3)
    with pytest.warns(store.WisdomWarning) as caught:
        result = IMPLEMENTATIONS["numba_tuned"].fit(X, y, lr=0.5, epochs=3)
        again = IMPLEMENTATIONS["numba_tuned"].fit(X, y, lr=0.5, epochs=3)  # remembered in memory
    assert len(caught) == 1 and str(wisdom) in str(caught[0].message)
    assert "LADDER_WISDOM" in str(caught[0].message)
    assert len(measured) == 1  # measured once, remembered for the rest of the process
    expected = reference_fit(X, y, lr=0.5, epochs=3)
    assert relative_error(result, *expected) <= IMPLEMENTATIONS["numba_tuned"].tolerance("float64")
    assert relative_error(again, *expected) <= IMPLEMENTATIONS["numba_tuned"].tolerance("float64")
    _a_new_process()
    assert planning.plan(9, "float64", m=2000).source == "wisdom"  # still in this process's memory


_PLAN_IN_A_PROCESS = """
import sys
from impls.planner import planning
from impls.planner.race import Rules
planning.tuning_bytes = lambda data="memory": 2**19
real = planning.measure
planning.measure = lambda n, dtype, nbytes=None, rules=None, data="memory": real(
    n, dtype, nbytes, rules=Rules(seconds=0.3), data=data)
print(planning.plan(int(sys.argv[1]), "float64").source)
"""


def test_two_processes_planning_at_once_both_keep_their_plans(tmp_path):
    env = {**os.environ, "LADDER_WISDOM": str(tmp_path / "wisdom.json"), "LADDER_PLANNING": "measure"}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _PLAN_IN_A_PROCESS, str(n)],
            env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for n in (3, 40)  # two row lengths: two keys
    ]  # fmt: skip
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0 and out.strip() == "measured", err[-2000:]
    entries = json.loads((tmp_path / "wisdom.json").read_text())["entries"]
    assert sorted(entry["measured_n"] for entry in entries.values()) == [3, 40]


# --------------------------------------------------------------------------- confirming on the caller's data


def _entry(**fields) -> dict:
    return {"choice": "blocked-r8-nopf", "finalists": ["blocked-r8-nopf", "blocked-r4-nopf"], **fields}


def _raced(monkeypatch, finalists, n=11, m=4000, rules=race.RULES) -> planning.Plan:
    """The plan for rows of ``n`` as if the race on generated data left ``finalists`` (its choice first)."""

    def fake_measure(n, dtype, nbytes=None, rules=race.RULES, data="memory"):
        threads = numba.get_num_threads()
        return {
            "key": key.key_of(n, dtype, threads, data),
            "choice": finalists[0],
            "finalists": list(finalists),
            "rule_of_thumb": rule_of_thumb(n, dtype).name,
            "ended": "tie" if len(finalists) > 1 else "alone",
        }

    monkeypatch.setattr(planning, "measure", fake_measure)
    return planning.plan(n, "float64", m=m, rules=rules)


THREE = ["blocked-r8-nopf", "fused-pf1024", "tiled-64k"]


def test_the_confirmation_races_only_the_races_finalists():
    """A kernel the race measured as surely slower is not run again on the caller's data: not the
    shipped rungs' kernels, not the rule of thumb, unless they were finalists."""
    entry = _entry(rule_of_thumb="blocked-r16-pf4096")
    planned = planning._from_entry(entry, "wisdom", "k", race.RULES)
    confirming = planning.new_confirmation(planned)
    assert planned.contenders == ("blocked-r8-nopf", "blocked-r4-nopf")
    assert confirming.race.contenders == planned.contenders
    assert confirming.race.incumbent == "blocked-r8-nopf"
    assert confirming.race.max_rounds == race.RULES.confirm_rounds


def test_the_confirmation_takes_the_races_choice_and_its_best_other_finalists_at_most():
    """With X in the cache a race can leave many kernels it cannot tell apart: the choice and the
    next best by their median in the race take turns, ``Rules.confirm_most`` in all."""
    finalists = ["blocked-r8-nopf", "blocked-r4-nopf", "fused-pf1024", "tiled-64k", "blocked-r16-nopf"]
    median = {"blocked-r8-nopf": 3.0, "blocked-r4-nopf": 2.5, "fused-pf1024": 1.0, "tiled-64k": 2.0}
    entry = _entry(choice="blocked-r8-nopf", finalists=finalists, median_s=median)
    planned = planning._from_entry(entry, "wisdom", "k", race.RULES)
    assert race.RULES.confirm_most == 3
    assert planned.contenders == ("blocked-r8-nopf", "fused-pf1024", "tiled-64k")
    one = planning._from_entry(entry, "wisdom", "k", Rules(confirm_most=1))
    assert one.contenders == ("blocked-r8-nopf",)


def test_a_confirmation_that_runs_out_of_rounds_undecided_takes_the_fastest_here():
    """Where the rounds run out undecided, a finalist whose paired median on the caller's data beats
    the race's choice by more than the margin takes its place; within the margin the choice stays."""
    from impls.planner.confirm import Confirmation

    base = [1.0, 1.4, 0.7, 1.3, 0.75, 1.2, 0.8, 1.35, 0.72, 1.25, 0.78, 1.3]  # the race's choice
    spread = [0.6, 0.7, 0.8, 0.9, 0.95, 0.98]
    spread = [r for pair in zip(spread, [1 / r for r in spread], strict=True) for r in pair]  # median 1.0002

    def confirm(ours: float) -> Confirmation:
        """The other finalist at ``ours`` times the choice by the paired median, no interval settling."""
        confirming = Confirmation(["blocked-r8-nopf", "fused-pf1024"], race.RULES, "blocked-r8-nopf")
        while not confirming.finished:
            name, _ = confirming.next_turn(1, 1)
            k = confirming.rounds
            theirs = 0.01 * base[k]
            confirming.add(name, theirs if name == "blocked-r8-nopf" else theirs * ours * spread[k], 1)
        return confirming

    faster_here = confirm(0.93)
    assert faster_here.race.ended == "rounds" and faster_here.rounds == race.RULES.confirm_rounds
    assert faster_here.race.choice() == "blocked-r8-nopf"  # the race's own rule: the incumbent stays
    assert faster_here.choice() == "fused-pf1024" == faster_here.record()["choice"]
    assert confirm(0.99).choice() == "blocked-r8-nopf"  # faster by less than the margin: it stays
    assert confirm(1.08).choice() == "blocked-r8-nopf"  # slower here by its median: the choice stays


def test_a_confirmed_plan_runs_after_one_look_and_only_for_its_key(fresh_wisdom, monkeypatch):
    """Once a key's plan is confirmed, a call finds it in one dict (with the caches cold after other
    work, each step of the whole lookup costs microseconds of a fit of 0.2 ms); other threads,
    another X or a forgotten wisdom go through planning again."""
    _raced(monkeypatch, ["tiled-64k"])
    X, y = make_problem(4000, 11, seed=5)
    rung = IMPLEMENTATIONS["numba_tuned"]
    rung.fit(X, y, lr=0.5, epochs=3)
    looked_up = []
    real = numba_tuned.descend_planned

    def descend_planned(problem, *args):
        looked_up.append(problem.X.shape)
        return real(problem, *args)

    monkeypatch.setattr(numba_tuned, "descend_planned", descend_planned)
    result = rung.fit(X, y, lr=0.5, epochs=4)
    assert looked_up == []
    assert relative_error(result, *reference_fit(X, y, lr=0.5, epochs=4)) <= rung.tolerance("float64")
    rung.fit(X[:3000], y[:3000], lr=0.5, epochs=2)
    assert looked_up == [(3000, 11)]
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        rung.fit(X, y, lr=0.5, epochs=2)
    finally:
        numba.set_num_threads(before)
    assert looked_up == [(3000, 11)] + [(4000, 11)] * (before > 1)
    planning.forget()
    rung.fit(X, y, lr=0.5, epochs=2)
    assert looked_up[-1] == (4000, 11) and len(looked_up) == 2 + (before > 1)
    planning.plan(11, "float64", m=5000, mode="measure")  # a mode of its own: not the rung's default
    assert ((5000, 11), 8, numba.get_num_threads()) not in planning.CONFIRMED


def test_a_race_that_leaves_one_finalist_has_nothing_to_confirm(fresh_wisdom, monkeypatch):
    path, _ = fresh_wisdom
    made = _raced(monkeypatch, ["tiled-64k"])
    assert made.source == "measured" and made.contenders == () and planning.confirmation(made) is None
    stored = next(iter(json.loads(path.read_text())["entries"].values()))
    assert stored["confirmed"] == {"choice": "tiled-64k", "ended": "alone", "rounds": 0, "spent_s": 0.0}
    assert planning.plan(11, "float64", m=4000).source == "confirmed"
    _a_new_process()
    assert planning.plan(11, "float64", m=4000).source == "confirmed"


def test_a_confirmed_entry_is_the_plan_with_nothing_left_to_race():
    rules = race.RULES
    planned = planning._from_entry(_entry(confirmed={"choice": "fused", "rounds": 6}), "wisdom", "k", rules)
    assert planned.source == "confirmed" and planned.candidate.name == "fused" and planned.contenders == ()
    assert planning.confirmation(planned) is None
    damaged = planning._from_entry(_entry(confirmed={"choice": "no-such-kernel"}), "wisdom", "k", rules)
    assert damaged.contenders and damaged.candidate.name == "blocked-r8-nopf"


class _EpochClock:
    """A clock that only the caller's epochs move, by ``cost[name]`` seconds each."""

    def __init__(self, monkeypatch, cost: dict[str, float]):
        self.now, self.cost, self.epochs, self.calls = 0.0, cost, [], []
        real = planning.run_epochs
        by_knobs = {(c.family, c.knobs): c.name for c in CANDIDATES}

        def run_epochs(driver, problem, w, b, lr, costs, knobs):
            family = next(name for name, d in candidates.drivers().items() if d is driver)
            name = by_knobs[family, tuple(knobs)]
            self.epochs += [name] * len(costs)
            self.calls.append((name, len(costs)))
            self.now += self.cost.get(name, 1.0) * len(costs)
            return real(driver, problem, w, b, lr, costs, knobs)

        monkeypatch.setattr(planning, "run_epochs", run_epochs)
        monkeypatch.setattr(numba_fused, "run_epochs", run_epochs)  # a confirmed plan's epochs
        monkeypatch.setattr(
            planning, "time", SimpleNamespace(perf_counter=lambda: self.now, monotonic=time.monotonic)
        )


def test_a_kernel_surely_faster_on_the_callers_data_becomes_the_plan_and_is_remembered(
    fresh_wisdom, monkeypatch
):
    path, _ = fresh_wisdom
    X, y = make_problem(4000, 11, seed=5)
    raced = _raced(monkeypatch, THREE)
    fastest_here = THREE[2]
    clock = _EpochClock(monkeypatch, {name: 0.010 for name in THREE} | {fastest_here: 0.008})
    epochs = 200
    result = IMPLEMENTATIONS["numba_tuned"].fit(X, y, lr=0.5, epochs=epochs)
    least = stats.least_rounds()
    turns = len(THREE) * least  # the others 25% slower, every round: out at once
    assert sorted(clock.epochs[:turns]) == sorted(THREE * least)  # a turn of 10 ms is one epoch
    assert clock.epochs[turns:] == [fastest_here] * (epochs - turns)  # then the fastest for the rest
    expected = reference_fit(X, y, lr=0.5, epochs=epochs)  # turns or not: the same descent
    assert relative_error(result, *expected) <= IMPLEMENTATIONS["numba_tuned"].tolerance("float64")
    entry = next(iter(json.loads(path.read_text())["entries"].values()))
    assert entry["confirmed"]["choice"] == fastest_here and entry["choice"] == raced.candidate.name
    assert entry["confirmed"]["rounds"] == least and entry["confirmed"]["ended"] == "alone"
    assert entry["confirmed"]["spent_s"] == pytest.approx(least * (0.010 + 0.010 + 0.008))
    assert "confirming" not in entry
    _a_new_process()  # the confirmed plan, and nothing more to race
    again = planning.plan(11, "float64", m=4000)
    assert again.source == "confirmed" and again.candidate.name == fastest_here and again.contenders == ()
    assert planning.confirmation(again) is None


def test_on_the_callers_data_a_tie_keeps_the_races_choice_over_short_fits(fresh_wisdom, monkeypatch):
    X, y = make_problem(4000, 11, seed=5)
    raced = _raced(monkeypatch, THREE)
    clock = _EpochClock(monkeypatch, {name: 0.010 for name in THREE})
    for _ in range(len(THREE) * stats.least_rounds()):
        IMPLEMENTATIONS["numba_tuned"].fit(X, y, lr=0.5, epochs=1)  # one turn each
    assert sorted(clock.epochs) == sorted(THREE * stats.least_rounds())
    confirmed = planning.plan(11, "float64", m=4000)
    assert confirmed.source == "confirmed" and confirmed.candidate == raced.candidate
    assert confirmed.entry["confirmed"]["ended"] == "kept"  # neither other could beat it by the margin


def test_short_epochs_take_their_turns_several_at_a_time(fresh_wisdom, monkeypatch):
    X, y = make_problem(4000, 11, seed=5)
    _raced(monkeypatch, THREE)
    epoch = race.RULES.turn_s / 3.5  # four make a turn
    clock = _EpochClock(monkeypatch, {name: epoch for name in THREE})
    IMPLEMENTATIONS["numba_tuned"].fit(X, y, lr=0.5, epochs=4 * len(THREE) * stats.least_rounds() + 1)
    counts = [count for _, count in clock.calls]  # epochs per call
    assert counts[:2] == [1, 3] and set(counts[2:-1]) == {4}  # the first epoch says how long they are
    confirmed = planning.plan(11, "float64", m=4000)
    assert confirmed.source == "confirmed"
    times = confirmed.entry["confirmed"]["median_s_per_row"]
    assert times[THREE[0]] == pytest.approx(epoch / 4000)


def test_fits_too_short_for_a_turn_carry_it_into_the_next_fits(fresh_wisdom, monkeypatch):
    """A fit shorter than a turn runs the turn's kernel, and the next fit goes on with that turn:
    the confirmation finishes over many short fits (before, it never did)."""
    X, y = make_problem(300, 11, seed=5)
    raced = _raced(monkeypatch, THREE, m=300)
    clock = _EpochClock(monkeypatch, {name: race.RULES.turn_s / 99.5 for name in THREE})  # 100 a turn
    fits = 0
    while planning.plan(11, "float64", m=300).source != "confirmed":
        IMPLEMENTATIONS["numba_tuned"].fit(X, y, lr=0.5, epochs=20)  # 20 epochs: a fifth of a turn
        fits += 1
        assert fits <= 5 * len(THREE) * stats.least_rounds() + 1
    turns = [clock.epochs[k : k + 100] for k in range(0, len(THREE) * stats.least_rounds() * 100, 100)]
    assert all(len(set(turn)) == 1 for turn in turns)  # each turn one kernel, across five fits
    assert planning.plan(11, "float64", m=300).candidate == raced.candidate


def test_an_unfinished_confirmation_goes_on_in_the_next_process(fresh_wisdom, monkeypatch):
    """What a process learned is kept in the wisdom (at a fit's end, and as it exits), and the next
    process resumes from it instead of beginning again."""
    path, _ = fresh_wisdom
    monkeypatch.setattr(planning, "SAVE_EVERY_S", 1e9)  # after the first write, only the exit writes
    X, y = make_problem(4000, 11, seed=5)
    _raced(monkeypatch, THREE)
    _EpochClock(monkeypatch, {name: 0.010 for name in THREE})
    IMPLEMENTATIONS["numba_tuned"].fit(X, y, lr=0.5, epochs=len(THREE) * 2)  # two rounds
    stored = next(iter(json.loads(path.read_text())["entries"].values()))
    assert stored["confirming"]["rounds"] == 2 and "confirmed" not in stored
    IMPLEMENTATIONS["numba_tuned"].fit(X, y, lr=0.5, epochs=len(THREE) + 1)  # a third and one turn
    assert next(iter(json.loads(path.read_text())["entries"].values()))["confirming"]["rounds"] == 2
    planning._keep_all()  # as the process exits
    state = next(iter(json.loads(path.read_text())["entries"].values()))["confirming"]
    assert state["rounds"] == 3 and state["spent_s"] == pytest.approx(0.010 * (3 * len(THREE) + 1))
    _a_new_process()
    resumed = planning.plan(11, "float64", m=4000)
    assert resumed.source == "wisdom" and planning.confirmation(resumed).rounds == 3
    assert all(len(times) == 3 for times in planning.confirmation(resumed).race.times.values())
    left = stats.least_rounds() - 3
    IMPLEMENTATIONS["numba_tuned"].fit(X, y, lr=0.5, epochs=len(THREE) * left)
    done = planning.plan(11, "float64", m=4000)
    assert done.source == "confirmed" and done.entry["confirmed"]["rounds"] == stats.least_rounds()


def test_a_confirmation_another_process_finished_is_kept_and_adopted(fresh_wisdom, monkeypatch):
    """Two processes confirm one key: the one still under way neither erases the other's finished
    record nor goes on racing; it takes that choice as its plan."""
    path, _ = fresh_wisdom
    X, y = make_problem(4000, 11, seed=5)
    _raced(monkeypatch, THREE)
    clock = _EpochClock(monkeypatch, {name: 0.010 for name in THREE})
    IMPLEMENTATIONS["numba_tuned"].fit(X, y, lr=0.5, epochs=len(THREE))  # one round here
    key_text = next(iter(json.loads(path.read_text())["entries"]))
    theirs = {"choice": THREE[1], "ended": "alone", "rounds": 6, "spent_s": 0.2}
    store.update(key_text, lambda current: {**current, "confirmed": theirs})  # the other process
    planning._SAVED_AT.clear()  # this process's next write is due
    IMPLEMENTATIONS["numba_tuned"].fit(X, y, lr=0.5, epochs=len(THREE))  # a second round here
    stored = json.loads(path.read_text())["entries"][key_text]
    assert stored["confirmed"] == theirs and "confirming" in stored  # kept, not overwritten
    adopted = planning.plan(11, "float64", m=4000)
    assert adopted.source == "confirmed" and adopted.candidate.name == THREE[1]
    before = len(clock.epochs)
    IMPLEMENTATIONS["numba_tuned"].fit(X, y, lr=0.5, epochs=5)
    assert clock.epochs[before:] == [THREE[1]] * 5  # no more turns: their choice runs


def test_the_confirmation_costs_at_most_its_seconds(fresh_wisdom, monkeypatch):
    X, y = make_problem(4000, 11, seed=5)
    rules = Rules(confirm_seconds=0.05)
    raced = _raced(monkeypatch, THREE, rules=rules)
    swings = {THREE[0]: 0.010, THREE[1]: 0.010, THREE[2]: 0.0101}  # nothing decided in a few rounds
    clock = _EpochClock(monkeypatch, swings)
    IMPLEMENTATIONS["numba_tuned"].fit(X, y, lr=0.5, epochs=50)
    assert clock.epochs[6:] == [raced.candidate.name] * 44  # spent after 5 turns: the round ends, then stop
    done = planning.plan(11, "float64", m=4000)
    assert done.entry["confirmed"]["ended"] == "time" and done.candidate == raced.candidate


def test_a_plan_is_a_value_and_its_confirmation_is_held_by_the_planner(fresh_wisdom, monkeypatch):
    """Fits take turns in the confirmation the planner holds for the key; the plan they share stays as
    it was made (frozen, equal before and after), and the rules given to ``plan`` are the turns'."""
    X, y = make_problem(4000, 11, seed=5)
    rules = Rules(seconds=0.01, turn_s=2e-3, confirm_rounds=7)
    raced = _raced(monkeypatch, THREE, rules=rules)
    before = dataclasses.replace(raced)
    confirming = planning.confirmation(raced)
    assert raced.rules is rules and confirming.race.max_rounds == 7 and confirming.rules is rules
    with pytest.raises(dataclasses.FrozenInstanceError):
        raced.candidate = BY_NAME["fused"]
    clock = _EpochClock(monkeypatch, {name: rules.turn_s / 3.5 for name in THREE})  # 4 a turn
    IMPLEMENTATIONS["numba_tuned"].fit(X, y, lr=0.5, epochs=4 * len(THREE))
    assert [count for _, count in clock.calls] == [1, 3] + [4] * (len(THREE) - 1)  # by the plan's rules
    again = planning.plan(11, "float64", m=4000)  # the plan the fit ran: another value, one confirmation
    assert raced == before and again.contenders == raced.contenders and again.rules is rules
    assert planning.confirmation(again) is planning.confirmation(raced) is confirming
    assert confirming.rounds == 1 and not confirming.finished


def test_no_memory_for_the_tuning_data_runs_the_rule_of_thumb_and_says_so_once(fresh_wisdom, monkeypatch):
    """The planner's own data (tens of MB) may not fit where the caller's X does: the fit goes on
    with the rule of thumb, one warning says why, and nothing is measured again in this process."""
    path, _ = fresh_wisdom

    def no_memory(*args, **kwargs):
        raise MemoryError("Unable to allocate 32.0 MiB")

    monkeypatch.setattr(planning, "tuning_problem", no_memory)
    X, y = make_problem(2000, 9, seed=3)
    with pytest.warns(planning.PlanningWarning, match="no memory for its .* MiB of tuning data") as caught:
        first = IMPLEMENTATIONS["numba_tuned"].fit(X, y, lr=0.5, epochs=3)
        IMPLEMENTATIONS["numba_tuned"].fit(X, y, lr=0.5, epochs=3)
    assert len(caught) == 1 and "rule of thumb" in str(caught[0].message)
    planned = planning.plan(9, "float64", m=2000)
    assert planned.source == "estimate" and planned.candidate == rule_of_thumb(9, "float64")
    assert not path.exists()  # nothing measured, nothing saved
    expected = reference_fit(X, y, lr=0.5, epochs=3)
    assert relative_error(first, *expected) <= IMPLEMENTATIONS["numba_tuned"].tolerance("float64")
