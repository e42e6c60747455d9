"""numba_tuned's planner and wisdom (the on-disk cache every JIT rung compiles into: tests/test_cache.py).

Measuring here uses small data and a short timing bound (monkeypatched): these tests check
what is chosen, stored, shown and forgotten, never how fast anything is.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from types import SimpleNamespace

import numba
import numpy as np
import pytest

from impls import IMPLEMENTATIONS, numba_blocked, numba_fused, numba_tuned, wisdom
from impls._common import source_digest
from tests.reference import make_problem, reference_fit

ROOT = Path(__file__).resolve().parents[1]
TUNING_BYTES = numba_tuned.tuning_bytes  # before any fixture replaces it


@pytest.fixture
def fresh_wisdom(tmp_path, monkeypatch):
    """Measure mode, a wisdom file of our own, small tuning data and a short bound; counts measurements."""
    path = tmp_path / "wisdom.json"
    monkeypatch.setenv("LADDER_WISDOM", str(path))
    monkeypatch.setenv("LADDER_PLANNING", "measure")
    monkeypatch.setattr(numba_tuned, "tuning_bytes", lambda data="memory": 2**20)
    measured = []
    real_measure = numba_tuned.measure

    def counting_measure(n, dtype, nbytes=None, seconds=numba_tuned.MEASURE_SECONDS, data="memory"):
        measured.append((n, str(np.dtype(dtype)), numba.get_num_threads()))
        return real_measure(n, dtype, nbytes, seconds=0.01, data=data)

    monkeypatch.setattr(numba_tuned, "measure", counting_measure)
    numba_tuned._RECENT.clear()  # plans remembered by this process under other settings
    yield path, measured
    numba_tuned._RECENT.clear()


def test_candidates_cover_every_kernel_block_size_and_prefetch_distance_including_none():
    names = [c.name for c in numba_tuned.CANDIDATES]
    assert len(set(names)) == len(names)
    assert (
        {c.family for c in numba_tuned.CANDIDATES}
        == set(numba_tuned.FAMILIES)
        == {"fused", "tiled", "blocked"}
    )
    blocked = [c for c in numba_tuned.CANDIDATES if c.family == "blocked"]
    assert {c.knobs[0] for c in blocked} == set(numba_blocked.BLOCK_SIZES)
    assert {c.knobs[1] for c in blocked} == set(numba_tuned.PREFETCH_DISTANCES)
    assert numba_blocked.NO_PREFETCH in numba_tuned.PREFETCH_DISTANCES
    # the fused kernel as numba_fused runs it (no prefetch), and at every prefetch distance
    fused = {c.knobs[0] for c in numba_tuned.CANDIDATES if c.family == "fused"}
    assert fused == {0} | {d for d in numba_tuned.PREFETCH_DISTANCES if d > 0}
    assert numba_tuned.BY_NAME["fused"].knobs == numba_fused.NO_KNOBS
    # the rule of thumb is itself a candidate, so measuring can only match or beat the estimate
    for n in (1, 10, 25, 100, 1000):
        for dtype in ("float64", "float32"):
            assert numba_tuned.estimate(n, dtype) in numba_tuned.CANDIDATES


def test_estimate_mode_never_measures_and_ignores_wisdom(fresh_wisdom, monkeypatch):
    path, measured = fresh_wisdom
    monkeypatch.setenv("LADDER_PLANNING", "estimate")
    chosen = numba_tuned.plan(100, "float64")
    assert chosen.source == "estimate" and chosen.candidate == numba_tuned.estimate(100, "float64")
    assert measured == [] and not path.exists()


def test_measure_once_then_remember(fresh_wisdom):
    path, measured = fresh_wisdom
    first = numba_tuned.plan(30, "float64")
    assert first.source == "measured" and measured == [(30, "float64", numba.get_num_threads())]
    entry = first.entry
    assert set(entry["best_s"]) == set(entry["median_s"]) == {c.name for c in numba_tuned.CANDIDATES}
    finalists = entry["finalists"]
    assert entry["fastest"] == min(finalists, key=entry["median_s"].get)
    assert entry["challenger"] == numba_tuned.challenger(
        {name: [entry["median_s"][name]] * entry["rounds_of"][name] for name in entry["median_s"]}
    )
    # the rule of thumb ran every round, and the race's choice replaced it only if it beat it clearly
    assert entry["estimate"] == numba_tuned.estimate(30, "float64").name and entry["estimate"] in finalists
    beat = entry["sign_test_p"] <= numba_tuned.SIGNIFICANCE
    assert entry["choice"] == first.candidate.name == (entry["challenger"] if beat else entry["estimate"])
    assert all(entry["rounds_of"][name] == entry["rounds"] for name in finalists)
    assert entry["rounds"] >= numba_tuned.MIN_ROUNDS and entry["measured_n"] == 30
    assert all(seconds > 0 for seconds in entry["best_s"].values())
    key = entry["key"]
    assert key["source"] == source_digest() and key["numba"] == numba.__version__ and key["cpu"]
    assert key["row_class"] == 128 and key["dtype"] == "float64"  # 240-byte rows: class 128

    again = numba_tuned.plan(31, "float64")  # same row class: remembered, even in a new process
    assert again.source == "wisdom" and again.candidate == first.candidate and len(measured) == 1
    stored = json.loads(path.read_text())
    assert stored["version"] == numba_tuned.WISDOM_VERSION and len(stored["entries"]) == 1

    numba_tuned.plan(30, "float32")  # another dtype, another row class, other threads: new keys
    numba_tuned.plan(64, "float64")
    numba_tuned.plan(30, "float64", threads=1)
    assert [m[:2] for m in measured[1:]] == [(30, "float32"), (64, "float64"), (30, "float64")]
    assert measured[-1][2] == 1
    assert len(numba_tuned.wisdom()) == 4


def test_x_in_the_cache_has_a_plan_of_its_own(fresh_wisdom, monkeypatch):
    """Calls whose X fits in a quarter of the last-level cache plan on in-cache data, X up to twice
    the cache on data of the cache's size, others on large data."""
    _, measured = fresh_wisdom
    monkeypatch.setattr(numba_tuned, "last_level_cache_bytes", lambda: 8 * 2**20)
    sizes = []
    real_problem = numba_tuned.tuning_problem

    def recording_problem(n, dtype, nbytes=None, seed=0, data="memory"):
        sizes.append((data, TUNING_BYTES(data) if nbytes is None else nbytes))
        return real_problem(n, dtype, nbytes or 2**20, seed, data)

    monkeypatch.setattr(numba_tuned, "tuning_problem", recording_problem)
    assert numba_tuned.data_class(2_621, 100, 8) == "cache"  # 2,096,800 bytes: within a quarter of it
    assert numba_tuned.data_class(2_622, 100, 8) == "llc"  # 2,097,600 bytes: beyond 2 MiB
    assert numba_tuned.data_class(20_971, 100, 8) == "llc"  # 16,776,800 bytes: within twice 8 MiB
    assert numba_tuned.data_class(20_972, 100, 8) == "memory"  # 16,777,600 bytes: beyond it
    assert numba_tuned.data_class(None, 100, 8) == "memory"
    small = numba_tuned.plan(30, "float64", m=1_000)
    middle = numba_tuned.plan(30, "float64", m=20_000)  # 4.8 MB
    large = numba_tuned.plan(30, "float64", m=10**6)
    default = numba_tuned.plan(30, "float64")  # no m: the plan for data beyond the caches
    assert small.source == middle.source == large.source == "measured" and default.source == "wisdom"
    assert small.entry["key"]["data"] == small.entry["data"] == "cache"
    assert middle.entry["key"]["data"] == middle.entry["data"] == "llc"
    assert large.entry["key"]["data"] == default.entry["key"]["data"] == "memory"
    assert [data for data, _ in sizes] == ["cache", "llc", "memory"] and len(measured) == 3
    assert sizes[0][1] == 2 * 2**20  # a quarter of the last-level cache: the class's edge
    assert sizes[1][1] == 8 * 2**20  # the last-level cache's own size
    assert small.entry["epochs_per_sample"] >= 1
    assert numba_tuned.plan(31, "float64", m=900).source == "wisdom"  # same class: remembered
    monkeypatch.setattr(numba_tuned, "last_level_cache_bytes", lambda: None)  # unknown: all "memory"
    assert numba_tuned.data_class(10, 1, 8) == "memory"
    with pytest.raises(ValueError, match="data must be one of cache, llc, memory"):
        numba_tuned.measure(30, "float64", data="L2")


def test_timing_over_several_epochs_gives_seconds_per_epoch(monkeypatch):
    """On a clock only the candidates move (a loaded machine once made one real epoch of 2,000 rows
    take 8 ms and failed the wall-clock version of this test)."""
    candidates = numba_tuned.CANDIDATES[:2]
    cost = {candidates[0].name: 3e-5, candidates[1].name: 7e-5}  # seconds per epoch
    _fake_clock(monkeypatch, cost)
    one = numba_tuned.time_candidates(None, candidates, seconds=0, min_rounds=3, finalists=None)
    many = numba_tuned.time_candidates(None, candidates, seconds=0, min_rounds=3, finalists=None, epochs=50)
    for name in one:  # 50 epochs per timing, divided out: the same time per epoch
        assert np.median(many[name]) == pytest.approx(cost[name]) == np.median(one[name])


@pytest.mark.parametrize("epoch_s", [1e-6, 3e-5, 1e-4, 0.5])
def test_each_timing_covers_whole_epochs_to_at_least_the_floor(monkeypatch, epoch_s):
    """One epoch per timing wherever an epoch reaches MIN_SAMPLE_SECONDS, else just enough of them."""
    monkeypatch.setattr(numba_tuned, "MIN_SAMPLE_SECONDS", 1e-4)
    _fake_clock(monkeypatch, defaultdict(lambda: epoch_s))
    problem = numba_tuned.tuning_problem(20, "float64", nbytes=20 * 8 * 100)
    epochs = numba_tuned.epochs_per_sample(problem)
    assert epochs * epoch_s >= 1e-4 * (1 - 1e-9)
    assert epochs == 1 or (epochs - 1) * epoch_s < 1e-4 * (1 + 1e-9)


def _busy(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def _fake_clock(monkeypatch, cost: dict[str, float]) -> None:
    """Fake candidates that take ``cost`` seconds per epoch on a clock only they move: a busy CI
    machine cannot make a 1 ms candidate look 2 ms long."""
    clock = [0.0]

    def run(candidate, problem, epochs=1):
        clock[0] += cost[candidate.name] * epochs

    monkeypatch.setattr(numba_tuned, "_run", run)
    monkeypatch.setattr(numba_tuned, "time", SimpleNamespace(perf_counter=lambda: clock[0]))


def test_the_race_halves_the_field_as_its_stages_double_and_crowns_the_fastest_median(monkeypatch):
    """Fake candidates of known speed: successive halving keeps the fast ones, and the fastest of each
    family, running, and picks the fastest."""
    candidates = numba_tuned.CANDIDATES[:15]  # fused 0-5, tiled 6-8, blocked with 4 rows 9-14
    assert [c.family for c in candidates] == ["fused"] * 6 + ["tiled"] * 3 + ["blocked"] * 6
    # no candidate more than twice as slow as the fastest: none is dropped after the first round
    cost = {c.name: 0.002 + 0.00005 * k for k, c in enumerate(candidates)}
    cost.update({c.name: 0.0028 + 0.00001 * k for k, c in enumerate(candidates[6:9])})  # tiled: slowest
    cost[candidates[12].name] = 0.0015
    _fake_clock(monkeypatch, cost)
    times = numba_tuned.time_candidates(
        None, candidates, seconds=60.0, min_rounds=2, max_rounds=10, finalists=3
    )
    rounds = {k: len(times[c.name]) for k, c in enumerate(candidates)}
    # rounds 1-2: all 15; 3-4: the faster 8 (12, 0-5, 9) and tiled's fastest (6); 5-8: the faster 5
    # (12, 0-3) and 6; 9-10: the faster 3 (12, 0, 1) and 6
    assert rounds == {
        **{k: 2 for k in (7, 8, 10, 11, 13, 14)},
        **{k: 4 for k in (4, 5, 9)},
        **{k: 8 for k in (2, 3)},
        **{k: 10 for k in (0, 1, 6, 12)},
    }
    assert numba_tuned.winner(times) == candidates[12].name
    assert numba_tuned.finalists_of(times) == [candidates[k].name for k in (0, 1, 6, 12)]
    # the landscape (finalists=None) keeps every candidate for every round
    everyone = numba_tuned.time_candidates(None, candidates, seconds=60.0, max_rounds=3, finalists=None)
    assert {len(values) for values in everyone.values()} == {3}
    assert numba_tuned.finalists_of(everyone) == [c.name for c in candidates]


def test_the_incumbent_runs_every_round_on_top_of_the_finalists(monkeypatch):
    candidates = numba_tuned.CANDIDATES[:8]
    cost = {c.name: 0.001 * (1 + 2 * (k % 2)) + 0.00001 * k for k, c in enumerate(candidates)}
    cost[candidates[7].name] = 0.01  # the slowest, over 2x the fastest: dropped after round 1 if not kept
    _fake_clock(monkeypatch, cost)
    times = numba_tuned.time_candidates(
        None, candidates, seconds=60.0, min_rounds=2, max_rounds=6, finalists=3, keep=candidates[7]
    )
    assert len(times[candidates[7].name]) == 6
    # the 3 fastest, tiled's fastest (6: the family's only one left after round 1), the incumbent
    assert numba_tuned.finalists_of(times) == [candidates[k].name for k in (0, 2, 4, 6, 7)]
    # "fused" is fastest, and "fused-pf2048" prefetches within 5% of it
    assert numba_tuned.challenger(times) == candidates[2].name == "fused-pf2048"
    # faster in all 6 rounds: p = 1/64, it replaces the incumbent
    assert numba_tuned.winner(times, candidates[7].name) == candidates[2].name


def test_the_sign_test_against_an_independent_binomial_test():
    from scipy.stats import binomtest

    rng = np.random.default_rng(3)
    for rounds in (1, 2, 5, 16, 43):
        for _ in range(5):
            incumbent = list(rng.random(rounds))
            challenger = list(rng.random(rounds))
            wins = sum(a < b for a, b in zip(challenger, incumbent, strict=True))
            expected = binomtest(wins, rounds, 0.5, alternative="greater").pvalue
            assert numba_tuned.sign_test(challenger, incumbent) == pytest.approx(expected, rel=1e-12)
    assert numba_tuned.sign_test([1.0] * 4, [1.0] * 4) == 1.0  # ties count against the challenger


@pytest.mark.parametrize(
    "wins, rounds, expected",
    [
        (10, 10, "blocked-r8-pf2048"),  # p = 1/1024
        (9, 10, "blocked-r8-pf2048"),  # p = 11/1024
        (8, 10, "blocked-r8-pf4096"),  # p = 56/1024 > 5%: the rule of thumb stays
        (6, 10, "blocked-r8-pf4096"),
        (4, 4, "blocked-r8-pf4096"),  # p = 1/16: four rounds cannot tell
        (5, 5, "blocked-r8-pf2048"),  # p = 1/32
    ],
)
def test_the_race_replaces_the_rule_of_thumb_only_where_it_was_faster_in_significantly_many_rounds(
    wins, rounds, expected
):
    # the challenger has the lower median: faster by 1% in the rounds it wins, slower by 0.5% in the rest
    incumbent = [1.0 + 0.001 * k for k in range(rounds)]
    challenger = [t * (0.99 if k < wins else 1.005) for k, t in enumerate(incumbent)]
    times = {"blocked-r8-pf2048": challenger, "blocked-r8-pf4096": incumbent}
    assert numba_tuned.challenger(times) == "blocked-r8-pf2048"
    assert numba_tuned.winner(times, "blocked-r8-pf4096") == expected
    # without an incumbent, or where the race chose the incumbent itself, the race's choice stands
    assert numba_tuned.winner(times) == numba_tuned.winner(times, "blocked-r8-pf2048") == "blocked-r8-pf2048"


def test_which_candidates_prefetch():
    prefetching = {c.name for c in numba_tuned.CANDIDATES if c.prefetches}
    assert {"fused-pf1024", "blocked-r4-pf1024", "blocked-r16-pf16384"} <= prefetching
    assert not {"fused", "tiled-16k", "blocked-r4-nopf", "blocked-r16-nopf"} & prefetching


@pytest.mark.parametrize(
    "medians, expected",
    [
        ({"blocked-r8-nopf": 1.0, "blocked-r8-pf2048": 1.04, "fused": 2.0}, "blocked-r8-pf2048"),
        ({"blocked-r8-nopf": 1.0, "blocked-r8-pf2048": 1.06, "fused": 2.0}, "blocked-r8-nopf"),
        ({"blocked-r8-pf1024": 1.0, "blocked-r8-pf2048": 1.01, "blocked-r8-nopf": 1.02}, "blocked-r8-pf1024"),
        ({"tiled-16k": 1.0, "blocked-r8-nopf": 1.01, "fused": 1.02}, "tiled-16k"),  # none prefetches
        ({"blocked-r8-nopf": 1.0, "fused-pf2048": 1.03, "blocked-r4-pf4096": 1.02}, "blocked-r4-pf4096"),
    ],
)
def test_a_prefetching_finalist_within_the_margin_wins_over_a_faster_one_that_does_not(medians, expected):
    assert numba_tuned.PREFER_PREFETCH == 0.05
    times = {name: [median * 0.9, median, median * 1.1] for name, median in medians.items()}
    assert numba_tuned.winner(times) == expected
    # a candidate dropped before the last round is no finalist, however close its median
    times["blocked-r16-pf1024"] = [1.0]
    assert numba_tuned.winner(times) == expected


def test_the_first_round_drops_candidates_more_than_twice_as_slow_as_its_fastest(monkeypatch):
    candidates = numba_tuned.CANDIDATES[:8]
    cost = {c.name: 0.001 * (1 + 2 * (k % 2)) for k, c in enumerate(candidates)}  # 1 ms or 3 ms
    _fake_clock(monkeypatch, cost)
    times = numba_tuned.time_candidates(None, candidates, seconds=60.0, min_rounds=2, max_rounds=2)
    rounds = {name: len(values) for name, values in times.items()}
    assert rounds == {c.name: 1 if k % 2 else 2 for k, c in enumerate(candidates)}
    # never below the finalists, however slow the rest
    few = numba_tuned.time_candidates(None, candidates[:5], seconds=60.0, max_rounds=2, finalists=4)
    assert sorted(len(values) for values in few.values()) == [1, 2, 2, 2, 2]
    # the landscape keeps them all
    everyone = numba_tuned.time_candidates(None, candidates, seconds=60.0, max_rounds=2, finalists=None)
    assert {len(values) for values in everyone.values()} == {2}


def test_the_race_stops_when_its_time_is_up(monkeypatch):
    monkeypatch.setattr(numba_tuned, "_run", lambda candidate, problem, epochs=1: _busy(0.001 * epochs))
    candidates = numba_tuned.CANDIDATES[:4]
    # finalists=None: no candidate is dropped (on a busy machine, a 1 ms timing can take over 2 ms,
    # and the first round would drop it as hopeless), so only the time bound stops the race
    times = numba_tuned.time_candidates(
        None, candidates, seconds=0.0, min_rounds=2, max_rounds=50, finalists=None
    )
    assert {len(values) for values in times.values()} == {2}  # MIN_ROUNDS, then the bound


def test_where_time_runs_out_early_the_choice_duels_the_incumbent_up_to_the_test_rounds(monkeypatch):
    """Rounds far longer than the time bound: two rounds of the race, then only the race's choice
    and the incumbent run, until the sign test has TEST_ROUNDS rounds to decide on."""
    candidates = numba_tuned.CANDIDATES[:8]
    incumbent, fastest = candidates[7], candidates[3]
    cost = {c.name: 1.0 + 0.01 * k for k, c in enumerate(candidates)}
    cost[fastest.name] = 0.9
    _fake_clock(monkeypatch, cost)
    times = numba_tuned.time_candidates(None, candidates, seconds=0.5, finalists=3, keep=incumbent)
    rounds = {name: len(values) for name, values in times.items()}
    assert numba_tuned.TEST_ROUNDS == 10 and numba_tuned.MIN_ROUNDS == 2
    assert rounds == {c.name: 10 if c in (fastest, incumbent) else 2 for c in candidates}
    assert numba_tuned.finalists_of(times) == [fastest.name, incumbent.name]
    # faster in all 10 rounds: p = 1/1024, the choice replaces the rule of thumb (in 2 rounds,
    # p = 1/4 could not have)
    assert numba_tuned.sign_test(times[fastest.name], times[incumbent.name]) == 1 / 1024
    assert numba_tuned.winner(times, incumbent.name) == fastest.name
    # where the race's choice is the incumbent itself there is nothing to test: it stops
    cost[incumbent.name] = 0.8
    times = numba_tuned.time_candidates(None, candidates, seconds=0.5, finalists=3, keep=incumbent)
    assert {len(values) for values in times.values()} == {2}
    # without an incumbent, or for a full landscape, the time bound stops the race as before
    assert {len(v) for v in numba_tuned.time_candidates(None, candidates, seconds=0.5).values()} <= {1, 2}
    landscape = numba_tuned.time_candidates(None, candidates, seconds=0.5, finalists=None, keep=incumbent)
    assert {len(values) for values in landscape.values()} == {2}


def test_forget_and_show(fresh_wisdom, capsys):
    path, measured = fresh_wisdom
    assert wisdom.main(["show"]) == 0 and "no wisdom" in capsys.readouterr().out
    numba_tuned.plan(8, "float32")
    assert wisdom.main(["show"]) == 0
    shown = capsys.readouterr().out
    assert "float32, rows of 32+ bytes" in shown
    for candidate in numba_tuned.CANDIDATES:
        assert candidate.name in shown
    assert wisdom.main(["forget"]) == 0 and not path.exists()
    assert numba_tuned.plan(8, "float32").source == "measured" and len(measured) == 2


def test_wisdom_cli_in_a_process_of_its_own(tmp_path):
    env = {**os.environ, "LADDER_WISDOM": str(tmp_path / "w.json")}
    shown = subprocess.run(
        [sys.executable, "-m", "impls.wisdom", "show"], env=env, capture_output=True, text=True
    )
    assert shown.returncode == 0 and "no wisdom in" in shown.stdout and not shown.stderr
    bad = subprocess.run(
        [sys.executable, "-m", "impls.wisdom", "plan", "0"], env=env, capture_output=True, text=True
    )
    assert bad.returncode == 2 and "N must be >= 1" in bad.stderr


def test_unreadable_or_old_wisdom_is_measured_again(fresh_wisdom):
    path, measured = fresh_wisdom
    path.write_text("{not json")
    with pytest.warns(UserWarning, match="ignoring the wisdom"):
        assert numba_tuned.plan(5, "float64").source == "measured"
    path.write_text(json.dumps({"version": 0, "entries": {"x": {}}}))
    numba_tuned._KNOWN.clear()  # what a new process starts with
    numba_tuned._RECENT.clear()
    assert numba_tuned.plan(5, "float64").source == "measured" and len(measured) == 2
    assert json.loads(path.read_text())["version"] == numba_tuned.WISDOM_VERSION


def test_a_planning_mode_that_does_not_exist_is_named(monkeypatch):
    monkeypatch.setenv("LADDER_PLANNING", "patient")
    with pytest.raises(ValueError, match=r"LADDER_PLANNING.*measure, estimate.*'patient'"):
        numba_tuned.plan(10, "float64")


def test_measured_plan_gives_the_same_answer(fresh_wisdom):
    """Whatever wins the measurement, the fit agrees with the reference."""
    X, y = make_problem(3000, 12, seed=9)
    result = IMPLEMENTATIONS["numba_tuned"].fit(X, y, lr=0.5, epochs=4)
    assert fresh_wisdom[1], "the fit should have planned by measuring"
    expected = reference_fit(X, y, lr=0.5, epochs=4)
    from impls import relative_error

    assert relative_error(result, *expected) <= numba_tuned.TOLERANCE("float64")


def test_row_classes_are_powers_of_two_of_row_bytes():
    assert numba_tuned.row_class(1, 8) == 8
    assert numba_tuned.row_class(100, 8) == 512
    assert numba_tuned.row_class(100, 4) == 256
    assert numba_tuned.row_class(128, 8) == 1024


def test_the_thread_count_follows_numba_set_num_threads():
    before = numba.get_num_threads()
    try:
        for count in range(1, before + 1):
            numba.set_num_threads(count)
            assert numba_tuned.thread_count() == numba.get_num_threads() == count
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
        monkeypatch.setattr(numba_tuned, "_numba_parallel", private)
        assert numba_tuned.thread_count() == expected


def test_show_says_why_the_choice_is_not_the_fastest_finalist(fresh_wisdom, capsys):
    entry = numba_tuned.plan(30, "float64").entry
    shown = wisdom._show([entry])
    assert ("within 5% of the fastest finalist" in shown) == (entry["challenger"] != entry["fastest"])
    assert ("the rule of thumb, kept" in shown) == (entry["choice"] != entry["challenger"])
    cpu = entry["key"]["cpu"]
    preferred = {
        **entry,
        **{"choice": "blocked-r8-pf2048", "challenger": "blocked-r8-pf2048", "fastest": "blocked-r8-nopf"},
        **{"estimate": "blocked-r8-pf4096", "sign_test_p": 0.01},
    }
    assert (
        f"{cpu}): blocked-r8-pf2048 (blocked-r8-pf2048 prefetches and is within 5% of the fastest "
        "finalist, blocked-r8-nopf; faster than the rule of thumb, blocked-r8-pf4096, in significantly "
        "many rounds, sign test p = 0.01)" in wisdom._show([preferred])
    )
    kept = {**preferred, "choice": "blocked-r8-pf4096", "fastest": "blocked-r8-pf2048", "sign_test_p": 0.2}
    assert (
        f"{cpu}): blocked-r8-pf4096 (the rule of thumb, kept: blocked-r8-pf2048 was not faster in "
        "significantly many rounds, sign test p = 0.20 > 0.05)" in wisdom._show([kept])
    )
    same = {**kept, "challenger": "blocked-r8-pf4096", "fastest": "blocked-r8-pf4096"}
    assert f"{cpu}): blocked-r8-pf4096  [" in wisdom._show([same])
