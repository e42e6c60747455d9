"""numba_tuned's planner: its candidates, its key, the race, the decision and the wisdom file.

The race is pure (a clock and a runner passed in), so its tests run fake contenders on a clock
only they move: exact, with no real waiting. Measuring for real uses small data and a short
bound (monkeypatched): those tests check what is chosen, stored, shown and forgotten, never
how fast anything is.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numba
import numpy as np
import pytest

from impls import IMPLEMENTATIONS, numba_blocked, numba_fused, numba_tiled, numba_tuned, relative_error
from impls._common import source_digest
from impls.planner import __main__ as cli
from impls.planner import candidates, confirm, key, planning, race, store
from impls.planner.candidates import BY_NAME, CANDIDATES, rule_of_thumb
from impls.planner.race import Rules
from tests.reference import make_problem, reference_fit

ROOT = Path(__file__).resolve().parents[1]
TUNING_BYTES = planning.tuning_bytes  # before any fixture replaces it
QUICK = Rules(seconds=0.01, min_rounds=2, max_rounds=60, finalists=3, hopeless=2.0, test_rounds=2)


@pytest.fixture
def fresh_wisdom(tmp_path, monkeypatch):
    """Measure mode, a wisdom file of our own, small tuning data and a short race; counts measurements."""
    path = tmp_path / "wisdom.json"
    monkeypatch.setenv("LADDER_WISDOM", str(path))
    monkeypatch.setenv("LADDER_PLANNING", "measure")
    monkeypatch.setattr(planning, "tuning_bytes", lambda data="memory": 2**20)
    measured = []
    real_measure = planning.measure

    def counting_measure(n, dtype, nbytes=None, rules=planning.RULES, data="memory"):
        measured.append((n, str(np.dtype(dtype)), numba.get_num_threads()))
        return real_measure(n, dtype, nbytes, rules=QUICK, data=data)

    monkeypatch.setattr(planning, "measure", counting_measure)
    planning._RECENT.clear()  # plans remembered by this process under other settings
    planning._KNOWN.clear()
    yield path, measured
    planning._RECENT.clear()
    planning._KNOWN.clear()


# --------------------------------------------------------------------------- candidates and key


def test_candidates_cover_every_kernel_block_size_and_prefetch_distance_including_none():
    names = [c.name for c in CANDIDATES]
    assert len(set(names)) == len(names)
    assert {c.family for c in CANDIDATES} == set(candidates.FAMILIES) == {"fused", "tiled", "blocked"}
    blocked = [c for c in CANDIDATES if c.family == "blocked"]
    assert {c.knobs[0] for c in blocked} == set(numba_blocked.BLOCK_SIZES)
    assert {c.knobs[1] for c in blocked} == set(candidates.PREFETCH_DISTANCES)
    assert numba_blocked.NO_PREFETCH in candidates.PREFETCH_DISTANCES
    # the fused kernel as numba_fused runs it (no prefetch), and at every prefetch distance
    fused = {c.knobs[0] for c in CANDIDATES if c.family == "fused"}
    assert fused == {0} | {d for d in candidates.PREFETCH_DISTANCES if d > 0}
    assert BY_NAME["fused"].knobs == numba_fused.NO_KNOBS
    # the rule of thumb is itself a candidate, so measuring can only match or beat it
    for n in (1, 10, 25, 100, 1000):
        for dtype in ("float64", "float32"):
            assert rule_of_thumb(n, dtype) in CANDIDATES


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
        assert key.thread_count() == expected


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


def _race(cost, rules, names=None, **kwargs):
    clock = FakeClock(cost, kwargs.get("per_timing", 1))
    names = list(cost) if names is None else names
    family = kwargs.pop("family", lambda name: BY_NAME[name].family)
    return race.race(names, clock.run, clock, rules, family=family, **kwargs), clock


def test_timing_over_several_units_gives_seconds_per_unit():
    cost = {"a": 3e-5, "b": 7e-5}
    rules = Rules(seconds=0, min_rounds=3, finalists=None)
    one, _ = _race(cost, rules, family=str)
    many, _ = _race(cost, rules, family=str, per_timing=50)
    for name in cost:  # 50 units per timing, divided out: the same time per unit
        assert one[name] == pytest.approx([cost[name]] * 3) and many[name] == pytest.approx([cost[name]] * 3)


def test_the_race_halves_the_field_as_its_stages_double_and_keeps_each_familys_fastest():
    field = CANDIDATES[:15]  # fused 0-5, tiled 6-8, blocked with 4 rows 9-14
    assert [c.family for c in field] == ["fused"] * 6 + ["tiled"] * 3 + ["blocked"] * 6
    # no candidate more than twice as slow as the fastest: none is dropped after the first round
    cost = {c.name: 0.002 + 0.00005 * k for k, c in enumerate(field)}
    cost.update({c.name: 0.0028 + 0.00001 * k for k, c in enumerate(field[6:9])})  # tiled: slowest
    cost[field[12].name] = 0.0015
    times, _ = _race(cost, Rules(seconds=60.0, min_rounds=2, max_rounds=10, finalists=3))
    rounds = {k: len(times[c.name]) for k, c in enumerate(field)}
    # rounds 1-2: all 15; 3-4: the faster 8 (12, 0-5, 9) and tiled's fastest (6); 5-8: the faster 5
    # (12, 0-3) and 6; 9-10: the faster 3 (12, 0, 1) and 6
    assert rounds == {
        **{k: 2 for k in (7, 8, 10, 11, 13, 14)},
        **{k: 4 for k in (4, 5, 9)},
        **{k: 8 for k in (2, 3)},
        **{k: 10 for k in (0, 1, 6, 12)},
    }
    assert race.finalists_of(times) == [field[k].name for k in (0, 1, 6, 12)]
    assert planning.winner(times) == field[12].name
    # finalists=None keeps every contender for every round (a full landscape)
    everyone, _ = _race(cost, Rules(seconds=60.0, max_rounds=3, finalists=None))
    assert {len(values) for values in everyone.values()} == {3}
    assert race.finalists_of(everyone) == [c.name for c in field]


def test_every_round_runs_each_contender_once_in_a_shuffled_order():
    cost = {name: 1.0 for name in "abcdef"}
    _, clock = _race(cost, Rules(seconds=1000.0, max_rounds=20, finalists=None), family=str)
    rounds = [clock.ran[k : k + 6] for k in range(0, len(clock.ran), 6)]
    assert len(rounds) == 20 and all(sorted(r) == list("abcdef") for r in rounds)
    assert len({tuple(r) for r in rounds}) > 10  # the order changes from round to round


def test_the_first_round_drops_contenders_more_than_hopeless_times_slower_than_its_fastest():
    field = CANDIDATES[:8]
    cost = {c.name: 0.001 * (1 + 2 * (k % 2)) for k, c in enumerate(field)}  # 1 ms or 3 ms
    times, _ = _race(cost, Rules(seconds=60.0, min_rounds=2, max_rounds=2, finalists=3, hopeless=2.0))
    assert {name: len(values) for name, values in times.items()} == {
        c.name: 1 if k % 2 else 2 for k, c in enumerate(field)
    }
    # the same field with a looser bound keeps everyone
    loose, _ = _race(cost, Rules(seconds=60.0, min_rounds=2, max_rounds=2, finalists=3, hopeless=3.5))
    assert {len(values) for values in loose.values()} == {2}
    # never below the finalists, however slow the rest
    few, _ = _race({c.name: cost[c.name] for c in field[:5]}, Rules(seconds=60.0, max_rounds=2, finalists=4))
    assert sorted(len(values) for values in few.values()) == [1, 2, 2, 2, 2]


def test_the_kept_contender_runs_every_round_on_top_of_the_finalists():
    field = CANDIDATES[:8]
    cost = {c.name: 0.001 * (1 + 2 * (k % 2)) + 0.00001 * k for k, c in enumerate(field)}
    cost[field[7].name] = 0.01  # the slowest, over 2x the fastest: dropped after round 1 if not kept
    times, _ = _race(cost, Rules(seconds=60.0, min_rounds=2, max_rounds=6, finalists=3), keep=field[7].name)
    assert len(times[field[7].name]) == 6
    # the 3 fastest, tiled's fastest (6: the family's only one left after round 1), the kept one
    assert race.finalists_of(times) == [field[k].name for k in (0, 2, 4, 6, 7)]


def test_the_race_stops_when_its_time_is_up():
    cost = {c.name: 0.001 for c in CANDIDATES[:4]}
    times, _ = _race(cost, Rules(seconds=0.0075, min_rounds=2, max_rounds=50, finalists=None))
    assert {len(values) for values in times.values()} == {2}  # 8 ms after round 2
    times, _ = _race(cost, Rules(seconds=0.0, min_rounds=3, max_rounds=50, finalists=None))
    assert {len(values) for values in times.values()} == {3}  # at least min_rounds
    times, _ = _race(cost, Rules(seconds=60.0, min_rounds=2, max_rounds=5, finalists=None))
    assert {len(values) for values in times.values()} == {5}  # at most max_rounds


def test_where_time_runs_out_early_the_choice_duels_the_kept_one_up_to_the_test_rounds():
    """Rounds far longer than the time bound: two rounds of the race, then only the race's choice
    and the rule of thumb run, until the sign test has ``test_rounds`` rounds to decide on."""
    field = CANDIDATES[:8]
    fallback, fastest = field[7], field[3]
    cost = {c.name: 1.0 + 0.01 * k for k, c in enumerate(field)}
    cost[fastest.name] = 0.9
    rules = Rules(seconds=0.5, min_rounds=2, finalists=3, test_rounds=10)
    times, _ = _race(cost, rules, keep=fallback.name, choose=planning.challenger)
    rounds = {name: len(values) for name, values in times.items()}
    assert rounds == {c.name: 10 if c in (fastest, fallback) else 2 for c in field}
    assert race.finalists_of(times) == [fastest.name, fallback.name]
    # faster in all 10 rounds: p = 1/1024, the choice replaces the rule of thumb (in 2 rounds,
    # p = 1/4 could not have)
    assert race.sign_test(times[fastest.name], times[fallback.name]) == 1 / 1024
    assert planning.winner(times, fallback.name) == fastest.name
    # where the race's choice is the rule of thumb itself there is nothing to test: it stops
    cost[fallback.name] = 0.8
    times, _ = _race(cost, rules, keep=fallback.name, choose=planning.challenger)
    assert {len(values) for values in times.values()} == {2}
    # with no one kept, or for a full landscape, the time bound alone stops the race
    alone, _ = _race(cost, rules)
    assert {len(values) for values in alone.values()} == {2}
    landscape, _ = _race(cost, Rules(seconds=0.5, min_rounds=2, finalists=None, test_rounds=10))
    assert {len(values) for values in landscape.values()} == {2}


# --------------------------------------------------------------------------- the decision


def test_the_sign_test_against_an_independent_binomial_test():
    from scipy.stats import binomtest

    rng = np.random.default_rng(3)
    for rounds in (1, 2, 5, 16, 43):
        for _ in range(5):
            fallback = list(rng.random(rounds))
            chosen = list(rng.random(rounds))
            wins = sum(a < b for a, b in zip(chosen, fallback, strict=True))
            expected = binomtest(wins, rounds, 0.5, alternative="greater").pvalue
            assert race.sign_test(chosen, fallback) == pytest.approx(expected, rel=1e-12)
    assert race.sign_test([1.0] * 4, [1.0] * 4) == 1.0  # ties count against the challenger


@pytest.mark.parametrize("wins, rounds", [(10, 10), (9, 10), (8, 10), (6, 10), (4, 4), (5, 5), (12, 16)])
def test_the_choice_replaces_the_rule_of_thumb_only_where_it_was_faster_in_significantly_many_rounds(
    wins, rounds
):
    from scipy.stats import binomtest

    # the challenger has the lower median: faster by 1% in the rounds it wins, slower by 0.5% in the rest
    fallback = [1.0 + 0.001 * k for k in range(rounds)]
    chosen = [t * (0.99 if k < wins else 1.005) for k, t in enumerate(fallback)]
    times = {"blocked-r8-pf2048": chosen, "blocked-r8-pf4096": fallback}
    assert planning.challenger(times) == "blocked-r8-pf2048"
    significant = binomtest(wins, rounds, 0.5, alternative="greater").pvalue <= planning.SIGNIFICANCE
    expected = "blocked-r8-pf2048" if significant else "blocked-r8-pf4096"
    assert planning.winner(times, "blocked-r8-pf4096") == expected
    # without a rule of thumb, or where the race chose it itself, the race's choice stands
    assert planning.winner(times) == planning.winner(times, "blocked-r8-pf2048") == "blocked-r8-pf2048"


def _medians(*pairs) -> dict[str, list[float]]:
    return {name: [median * 0.9, median, median * 1.1] for name, median in pairs}


def test_a_prefetching_finalist_within_the_margin_wins_over_a_faster_one_that_does_not():
    inside, outside = 1 + 0.8 * planning.PREFER_PREFETCH, 1 + 1.2 * planning.PREFER_PREFETCH
    cases = [
        ([("blocked-r8-nopf", 1.0), ("blocked-r8-pf2048", inside), ("fused", 2.0)], "blocked-r8-pf2048"),
        ([("blocked-r8-nopf", 1.0), ("blocked-r8-pf2048", outside), ("fused", 2.0)], "blocked-r8-nopf"),
        (
            [("blocked-r8-pf1024", 1.0), ("blocked-r8-pf2048", 1.001), ("blocked-r8-nopf", 1.002)],
            "blocked-r8-pf1024",
        ),
        ([("tiled-16k", 1.0), ("blocked-r8-nopf", 1.001), ("fused", 1.002)], "tiled-16k"),  # none prefetch
        # the fastest of those that prefetch, not the first one within the margin
        (
            [("blocked-r8-nopf", 1.0), ("fused-pf2048", inside), ("blocked-r4-pf4096", 1.001)],
            "blocked-r4-pf4096",
        ),
    ]
    for medians, expected in cases:
        times = _medians(*medians)
        assert planning.winner(times) == expected, times
        times["blocked-r16-pf1024"] = [0.5]  # dropped before the last round: no finalist, however fast
        assert planning.winner(times) == expected, times


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
    # the rule of thumb (240-byte rows: blocks of 8) ran every round, and the choice replaced it
    # only if it beat it clearly
    assert entry["rule_of_thumb"] == "blocked-r8-pf4096" and entry["rule_of_thumb"] in finalists
    assert entry["challenger"] in finalists
    beat = entry["sign_test_p"] <= planning.SIGNIFICANCE
    assert (
        entry["choice"] == first.candidate.name == (entry["challenger"] if beat else entry["rule_of_thumb"])
    )
    assert entry["rounds"] >= QUICK.min_rounds and entry["measured_n"] == 30
    assert all(seconds > 0 for seconds in entry["best_s"].values())
    assert all(entry["best_s"][name] <= entry["median_s"][name] for name in entry["best_s"])
    stamp = entry["key"]
    assert stamp["source"] == source_digest() and stamp["numba"] == numba.__version__ and stamp["cpu"]
    assert stamp["n"] == 30 and stamp["dtype"] == "float64"

    again = planning.plan(30, "float64")  # the same key: remembered
    assert again.source == "wisdom" and again.candidate == first.candidate and len(measured) == 1
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


@pytest.mark.parametrize("epoch_s", [1e-6, 3e-5, 1e-4, 0.5])
def test_each_timing_covers_whole_epochs_to_at_least_the_floor(monkeypatch, epoch_s):
    """One epoch per timing wherever an epoch reaches MIN_SAMPLE_SECONDS, else just enough of them."""
    clock = FakeClock({})
    monkeypatch.setattr(
        candidates, "run", lambda c, problem, epochs=1: setattr(clock, "now", clock.now + epoch_s)
    )
    problem = planning.tuning_problem(20, "float64", nbytes=20 * 8 * 100)
    epochs = planning.epochs_per_sample(problem, clock=clock)
    floor = planning.MIN_SAMPLE_SECONDS
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
    shown = cli.show([entry])
    assert ("within 5% of the fastest finalist" in shown) == (entry["challenger"] != entry["fastest"])
    assert ("the rule of thumb, kept" in shown) == (entry["choice"] != entry["challenger"])
    cpu = entry["key"]["cpu"]
    preferred = {
        **entry,
        **{"choice": "blocked-r8-pf2048", "challenger": "blocked-r8-pf2048", "fastest": "blocked-r8-nopf"},
        **{"rule_of_thumb": "blocked-r8-pf4096", "sign_test_p": 0.01},
    }
    assert (
        f"{cpu}): blocked-r8-pf2048 (blocked-r8-pf2048 prefetches and is within 5% of the fastest "
        "finalist, blocked-r8-nopf; faster than the rule of thumb, blocked-r8-pf4096, in significantly "
        "many rounds, sign test p = 0.01)" in cli.show([preferred])
    )
    kept = {**preferred, "choice": "blocked-r8-pf4096", "fastest": "blocked-r8-pf2048", "sign_test_p": 0.2}
    assert (
        f"{cpu}): blocked-r8-pf4096 (the rule of thumb, kept: blocked-r8-pf2048 was not faster in "
        "significantly many rounds, sign test p = 0.20 > 0.05)" in cli.show([kept])
    )
    same = {**kept, "challenger": "blocked-r8-pf4096", "fastest": "blocked-r8-pf4096"}
    assert f"{cpu}): blocked-r8-pf4096  [" in cli.show([same])


def test_a_planning_mode_that_does_not_exist_is_named(monkeypatch):
    monkeypatch.setenv("LADDER_PLANNING", "patient")
    planning._RECENT.clear()
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
    from bench.describe import RESULTS_VERSION, ladder
    from bench.report.ladder import from_record

    recorded = ladder()
    json.dumps(recorded)  # it goes into a results file
    read = from_record(json.loads(json.dumps(recorded)), RESULTS_VERSION)
    for name, value in recorded["planner"].items():  # nested records (the race's rules) come flattened
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
    planning._KNOWN.clear()  # what a new process starts with
    planning._RECENT.clear()
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
    planning._KNOWN.clear()
    planning._RECENT.clear()
    assert planning.plan(9, "float64", m=2000).source == "wisdom"  # still in this process's memory


_PLAN_IN_A_PROCESS = """
import sys
from impls.planner import planning
from impls.planner.race import Rules
planning.tuning_bytes = lambda data="memory": 2**19
real = planning.measure
planning.measure = lambda n, dtype, nbytes=None, rules=None, data="memory": real(
    n, dtype, nbytes, rules=Rules(seconds=0.3, finalists=3, test_rounds=2), data=data)
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


def _run_trial(trial: confirm.Trial, cost: dict[str, float], epochs: int) -> list[str]:
    """Feed a trial epochs whose time per row is ``cost[name]``; the order of the turns."""
    turns = []
    for _ in range(epochs):
        turns.append(trial.next())
        trial.add(turns[-1], cost[turns[-1]])
    return turns


def test_a_trial_gives_the_finalists_turns_drops_the_slow_and_keeps_the_race_choice_within_the_margin():
    trial = confirm.Trial(chosen="a", finalists=("a", "b", "c"))
    slow = 1 + 2 * confirm.DROP
    cost = {"a": 1.0, "b": 1 / (1 + confirm.MARGIN / 2), "c": slow}
    turns = _run_trial(trial, cost, 6 + 2 * (confirm.SAMPLES - 2))
    assert sorted(turns[:3]) == sorted(turns[3:6]) == ["a", "b", "c"]  # two turns each,
    assert sorted(turns[6:]) == sorted(["a", "b"] * (confirm.SAMPLES - 2))  # then c (2 x DROP slower) stops
    assert trial.confirmed and trial.chosen == "a"  # b is faster, but within the margin
    faster = confirm.Trial(chosen="a", finalists=("a", "b"))
    _run_trial(faster, {"a": 1.0, "b": 1 / (1 + 2 * confirm.MARGIN)}, 2 * confirm.SAMPLES)
    assert faster.confirmed and faster.chosen == "b"
    assert faster.record()["samples"] == {"a": confirm.SAMPLES, "b": confirm.SAMPLES}


def test_one_slow_turn_in_the_trial_is_not_enough_to_stop():
    trial = confirm.Trial(chosen="a", finalists=("a", "b"))
    times = {"a": [1.0] * confirm.SAMPLES, "b": [1 + 3 * confirm.DROP] + [0.9] * (confirm.SAMPLES - 1)}
    for _ in range(2 * confirm.SAMPLES):  # b's first epoch met a burst of other work
        name = trial.next()
        trial.add(name, times[name].pop(0))
    assert trial.confirmed and trial.chosen == "b" and trial.racing == ["a", "b"]


def test_once_confirmed_the_others_take_a_turn_now_and_then_and_a_faster_one_takes_over():
    trial = confirm.Trial(chosen="a", finalists=("a", "b", "c"))
    cost = {"a": 1.0, "b": 1.1, "c": 1.12}
    _run_trial(trial, cost, 3 * confirm.SAMPLES)
    assert trial.confirmed and trial.chosen == "a"
    turns = _run_trial(trial, cost, 4 * confirm.EXPLORE_EVERY)
    explored = [k for k, name in enumerate(turns) if name != "a"]
    assert [turns[k] for k in explored] == ["b", "c", "b", "c"]  # in turn, one every EXPLORE_EVERY
    assert all((k + 1) % confirm.EXPLORE_EVERY == 0 for k in explored)
    cost["b"] = 0.9  # the machine changes: b is now clearly faster
    turns = []
    while trial.chosen == "a":  # b's turn comes, again at the next explore turn, then it is chased
        turns += _run_trial(trial, cost, 1)
    b_turns = [k for k, name in enumerate(turns) if name == "b"]
    gaps = [second - first for first, second in itertools.pairwise(b_turns)]
    assert b_turns[0] < confirm.EXPLORE_EVERY and gaps[0] <= confirm.EXPLORE_EVERY
    chased = gaps[confirm.CONFIRM_RATIOS - 1 :]  # once fast in that many turns in a row
    assert chased and chased == [confirm.CHASE_EVERY] * len(chased)  # its record held the slower ones
    cost["b"] = 1.0 / (1 - confirm.MARGIN / 2)  # b slows to within the margin of a: no flip back
    _run_trial(trial, cost, 10 * confirm.EXPLORE_EVERY)
    assert trial.chosen == "b"


def test_a_single_faster_turn_is_not_enough_to_take_over():
    trial = confirm.Trial(chosen="a", finalists=("a", "b"))
    _run_trial(trial, {"a": 1.0, "b": 1.1}, 2 * confirm.SAMPLES)
    assert trial.confirmed and trial.chosen == "a"
    turns = []
    for _ in range(3 * confirm.EXPLORE_EVERY):  # b is faster once only: a burst of noise
        name = trial.next()
        turns.append(name)
        faster_once = name == "b" and turns.count("b") == 1
        trial.add(name, 0.5 if faster_once else {"a": 1.0, "b": 1.1}[name])
    assert turns.count("b") >= 2 and trial.chosen == "a"


def test_a_plan_slow_in_one_epoch_of_three_gives_way_to_a_steady_finalist():
    """Its median is the fast level; what a fit pays is the mean, and the watch compares with that."""
    trial = confirm.Trial(chosen="a", finalists=("a", "b"))
    _run_trial(trial, {"a": 1.0, "b": 1.1}, 2 * confirm.SAMPLES)
    assert trial.chosen == "a"
    epochs = {"a": 0}

    def cost(name: str) -> float:
        if name == "b":
            return 1.05  # steady
        epochs["a"] += 1
        return 1.6 if epochs["a"] % 3 == 0 else 1.0  # mean 1.2, median 1.0

    for _ in range(4 * confirm.EXPLORE_EVERY):
        name = trial.next()
        trial.add(name, cost(name))
    assert trial.chosen == "b"


def test_a_finalist_with_two_speeds_does_not_take_over_from_a_steady_plan():
    trial = confirm.Trial(chosen="a", finalists=("a", "b"))
    _run_trial(trial, {"a": 1.0, "b": 1.05}, 2 * confirm.SAMPLES)
    assert trial.chosen == "a"
    speeds = [0.85, 0.85, 1.25, 1.25]  # b: fast twice in a row, then slow twice; 1.05 on average
    turns, plans = [], set()
    for _ in range(12 * confirm.EXPLORE_EVERY):
        turns.append(trial.next())
        trial.add(turns[-1], speeds[turns.count("b") % 4 - 1] if turns[-1] == "b" else 1.0)
        plans.add(trial.chosen)
    assert turns.count("b") >= 8 and plans == {"a"}


def test_a_stall_of_the_machine_in_the_plans_turns_does_not_hand_the_plan_over():
    trial = confirm.Trial(chosen="a", finalists=("a", "b"))
    _run_trial(trial, {"a": 1.0, "b": 1.2}, 2 * confirm.SAMPLES)
    assert trial.chosen == "a"
    stalls, plans = 0, set()
    for _ in range(4 * confirm.EXPLORE_EVERY):
        name = trial.next()
        before_b = (trial.epochs + 2) % confirm.EXPLORE_EVERY == 0  # a's turn just before b's
        stall = name == "a" and before_b and stalls < 2  # in two windows in a row, then no more
        stalls += stall
        trial.add(name, 15.0 if stall else {"a": 1.0, "b": 1.2}[name])
        plans.add(trial.chosen)
    assert stalls == 2 and plans == {"a"}  # a's typical turn is still 1.0, b's 1.2


def test_a_finalist_far_behind_gets_fewer_turns_of_the_watch():
    trial = confirm.Trial(chosen="a", finalists=("a", "b", "c", "d"))
    cost = {"a": 1.0, "b": 1.05, "c": 1 + 2 * confirm.DROP, "d": 1 + 3 * confirm.DROP}
    _run_trial(trial, cost, 4 * confirm.SAMPLES)
    assert trial.confirmed and trial.chosen == "a" and trial.racing == ["a", "b"]
    turns = _run_trial(trial, cost, 6 * confirm.SLOW_EVERY * confirm.EXPLORE_EVERY)
    explored = [name for name in turns if name != "a"]
    far = len(explored) // confirm.SLOW_EVERY  # one explore turn in SLOW_EVERY, the far ones in turn
    assert explored.count("c") == explored.count("d") == far // 2
    assert explored.count("b") == len(explored) - far


def test_a_slow_first_turn_does_not_drop_a_finalist_from_the_trial():
    """A kernel's first epoch on an X can pay a first touch: the drop goes by each one's best turn."""
    trial = confirm.Trial(chosen="a", finalists=("a", "b", "c"))
    first = {"a": 1.0, "b": 2.0, "c": 1.0 + 2 * confirm.DROP}  # b: a first touch; c: slow every time
    then = {"a": 1.0, "b": 0.9, "c": 1.0 + 2 * confirm.DROP}
    seen = set()
    for _ in range(3 * confirm.SAMPLES):
        name = trial.next()
        trial.add(name, (then if name in seen else first)[name])
        seen.add(name)
    assert trial.confirmed and trial.chosen == "b" and "c" not in trial.racing
    assert trial.ratios["c"][-1] == pytest.approx(then["c"] / then["b"])  # best turn over the plan's


def test_a_finalist_within_the_margin_does_not_take_every_turn_of_the_watch():
    """A finalist just below the plan, but within the margin, is looked at again once, then waits its
    turn: looking at it every time would starve the others of the turns that find a faster one."""
    trial = confirm.Trial(chosen="a", finalists=("a", "b", "c"))
    cost = {"a": 1.0, "b": 1 - confirm.MARGIN / 2, "c": 1.05}
    _run_trial(trial, {"a": 1.0, "b": 1.02, "c": 1.05}, 3 * confirm.SAMPLES)
    assert trial.confirmed and trial.chosen == "a"
    turns = _run_trial(trial, cost, 12 * confirm.EXPLORE_EVERY)
    explored = [name for name in turns if name != "a"]
    assert explored.count("c") >= len(explored) // 3 and trial.chosen == "a"


def test_one_lucky_turn_does_not_start_a_chase():
    """A chase gives a finalist every second turn; on one fast turn (noise, on a small X) that would
    hand half the fit to a kernel no faster than the plan."""
    trial = confirm.Trial(chosen="a", finalists=("a", "b"))
    _run_trial(trial, {"a": 1.0, "b": 1.02}, 2 * confirm.SAMPLES)
    assert trial.confirmed and trial.chosen == "a"
    turns, lucky = [], True
    for _ in range(4 * confirm.EXPLORE_EVERY):
        name = trial.next()
        turns.append(name)
        trial.add(name, 0.8 if name == "b" and lucky else {"a": 1.0, "b": 1.02}[name])
        lucky = lucky and name != "b"
    first = trial.epochs - len(turns)  # the watch's count of epochs before these
    b_turns = [first + k + 1 for k, name in enumerate(turns) if name == "b"]
    assert len(b_turns) >= 3 and all(epoch % confirm.EXPLORE_EVERY == 0 for epoch in b_turns)


def test_the_other_rungs_kernels_are_not_shut_out_of_the_watch_by_one_slow_minute():
    """A kernel the plan must not lose to keeps its turns where it was last seen somewhat slower:
    one slow minute in the trial must not leave it one turn in SLOW_EVERY."""
    trial = confirm.Trial(chosen="a", finalists=("a", "b", "c", "k"), keep=("k",))
    slow = 1 + 1.5 * confirm.DROP  # far for the others, not for a kernel of another rung
    cost = {"a": 1.0, "b": slow, "c": slow, "k": slow}
    _run_trial(trial, cost, 4 * confirm.SAMPLES)
    assert trial.confirmed and trial.chosen == "a"
    turns = _run_trial(trial, cost, 6 * confirm.SLOW_EVERY * confirm.EXPLORE_EVERY)
    explored = [name for name in turns if name != "a"]
    assert explored.count("k") == len(explored) - len(explored) // confirm.SLOW_EVERY
    cost["k"] = 0.8  # the minute passes: k is the fastest
    _run_trial(trial, cost, 4 * confirm.EXPLORE_EVERY)
    assert trial.chosen == "k"


def test_on_a_new_number_of_rows_the_finalists_near_the_plan_get_an_early_turn():
    """Records from another X must not decide for long: each near finalist is timed on the new X
    within a few epochs, and one faster there takes over."""
    trial = confirm.Trial(chosen="a", finalists=("a", "b", "c", "d"))
    old = {"a": 1.0, "b": 1.05, "c": 1.08, "d": 1 + 2 * confirm.DROP}
    for _ in range(4 * confirm.SAMPLES + 4 * confirm.EXPLORE_EVERY):
        name = trial.next()
        trial.add(name, old[name], rows=1000)
    assert trial.confirmed and trial.chosen == "a"
    new = {"a": 1.0, "b": 1.05, "c": 0.85, "d": 1 + 2 * confirm.DROP}
    turns = []
    for _ in range(2 * confirm.CHASE_EVERY + 1):
        turns.append(trial.next())
        trial.add(turns[-1], new[turns[-1]], rows=100_000)
    assert {"b", "c"} <= set(turns) and "d" not in turns  # the near ones, at once; not the far one
    for _ in range(3 * confirm.EXPLORE_EVERY):
        name = trial.next()
        trial.add(name, new[name], rows=100_000)
    assert trial.chosen == "c"


def test_the_watch_compares_turns_on_the_same_number_of_rows_only():
    """Per row, a small X pays more for a call's fixed cost: its turns are no yardstick for a large X's."""
    trial = confirm.Trial(chosen="a", finalists=("a", "b"))
    small = {"a": 3.0, "b": 3.3}
    for _ in range(2 * confirm.SAMPLES):
        name = trial.next()
        trial.add(name, small[name], rows=10)
    while trial.next() != "b":
        trial.add("a", small["a"], rows=10)
    record = list(trial.ratios["b"])
    trial.add("b", 1.1, rows=1000)  # the first turn on a large X, where b is still 10% slower
    assert list(trial.ratios["b"]) == record  # not 1.1 / 3.0: no ratio without the plan's turns here
    for _ in range(4 * confirm.EXPLORE_EVERY):
        name = trial.next()
        trial.add(name, {"a": 1.0, "b": 1.1}[name], rows=1000)
    assert trial.chosen == "a" and len(trial.ratios["b"]) > len(record)
    assert min(trial.ratios["b"]) == pytest.approx(1.1)


def test_a_confirmed_entry_starts_where_the_last_process_left_off():
    trial = confirm.Trial(chosen="a", finalists=("a", "b"))
    _run_trial(trial, {"a": 2.0, "b": 1.0}, 2 * confirm.SAMPLES)
    entry = {"choice": "a", "finalists": ["a", "b"], "confirmed": trial.record()}
    again = confirm.trial_for(entry)
    assert again.confirmed and again.chosen == "b" and again.median("a") == 2.0 and again.median("b") == 1.0


def test_a_damaged_confirmed_entry_is_not_trusted_for_its_times():
    """A time of zero, below zero or not finite in the wisdom file would be a ratio of inf or nan."""
    entry = {"choice": "a", "finalists": ["a", "b"]}
    entry["confirmed"] = {"choice": "a", "median_s_per_row": {"a": 0.0, "b": float("nan")}}
    trial = confirm.trial_for(entry)
    assert trial.confirmed and not trial.times["a"] and not trial.times["b"] and not trial.ratios["b"]
    assert trial.next() == "a"


def test_the_other_rungs_kernels_take_turns_even_where_the_race_dropped_them():
    """The race on generated data can drop the kernel another rung runs; on the caller's X it can be
    the fastest, and the plan must be able to become it."""
    entry = {"choice": "a", "finalists": ["a", "b", "fused"]}
    trial = confirm.trial_for(entry, also=("fused", "tiled-256k"))
    assert trial.finalists == ("a", "b", "fused", "tiled-256k")  # once each, the race's choice first
    _run_trial(trial, {"a": 1.0, "b": 1.1, "fused": 1.2, "tiled-256k": 0.8}, 4 * confirm.SAMPLES)
    assert trial.confirmed and trial.chosen == "tiled-256k"
    shipped = {c.name for c in candidates.RUNG_KERNELS}
    assert shipped == {"fused", f"tiled-{numba_tiled.TILE_BYTES // 1024}k"}
    assert shipped <= set(candidates.BY_NAME)  # real candidates, with kernels the planner can run


class _EpochClock:
    """A clock that only the finalists' epochs move, by their cost on the caller's data."""

    def __init__(self, monkeypatch, cost: dict[str, float]):
        self.now, self.cost, self.epochs, self.calls = 0.0, cost, [], []
        real = numba_tuned.run_epochs
        by_knobs = {(c.family, c.knobs): c.name for c in CANDIDATES}

        def run_epochs(driver, problem, w, b, lr, costs, knobs):
            family = next(name for name, d in candidates.drivers().items() if d is driver)
            name = by_knobs[family, tuple(knobs)]
            self.epochs += [name] * len(costs)
            self.calls.append((name, len(costs)))
            self.now += self.cost.get(name, 1.0) * len(costs)
            return real(driver, problem, w, b, lr, costs, knobs)

        monkeypatch.setattr(numba_tuned, "run_epochs", run_epochs)
        monkeypatch.setattr(numba_tuned, "time", SimpleNamespace(perf_counter=lambda: self.now))


def test_the_finalists_take_turns_on_the_callers_data_and_the_fastest_there_is_remembered(
    fresh_wisdom, monkeypatch
):
    path, measured = fresh_wisdom
    X, y = make_problem(4000, 11, seed=5)
    raced = planning.plan(11, "float64", m=4000)
    finalists = raced.trial.finalists
    assert raced.source == "measured" and finalists[0] == raced.candidate.name and len(finalists) >= 2
    assert {c.name for c in candidates.RUNG_KERNELS} <= set(finalists)  # whatever the race dropped
    assert set(raced.trial.keep) == {c.name for c in candidates.RUNG_KERNELS} | {raced.entry["rule_of_thumb"]}
    fastest_here = finalists[-1]  # on these data, another finalist than the race's choice is fastest,
    faster = 1 - 2 * confirm.MARGIN  # by more than the margin and by less than DROP: no one stops
    clock = _EpochClock(monkeypatch, {name: 0.010 for name in finalists} | {fastest_here: 0.010 * faster})
    epochs = len(finalists) * confirm.SAMPLES + 4
    result = IMPLEMENTATIONS["numba_tuned"].fit(X, y, lr=0.5, epochs=epochs)
    trial_epochs = len(clock.epochs) - 4
    assert set(clock.epochs[:trial_epochs]) == set(finalists)  # each finalist its turns
    assert clock.epochs.count(fastest_here) >= confirm.SAMPLES + 4
    assert clock.epochs[-4:] == [fastest_here] * 4  # then the fastest for the rest
    expected = reference_fit(X, y, lr=0.5, epochs=epochs)  # turns or not: the same descent
    assert relative_error(result, *expected) <= IMPLEMENTATIONS["numba_tuned"].tolerance("float64")
    entry = next(iter(json.loads(path.read_text())["entries"].values()))
    assert entry["confirmed"]["choice"] == fastest_here and entry["choice"] == raced.candidate.name
    planning._KNOWN.clear()  # a new process: the confirmed plan, watched from where it was left
    planning._RECENT.clear()
    again = planning.plan(11, "float64", m=4000)
    assert again.source == "confirmed" and again.candidate.name == fastest_here and again.trial.confirmed
    assert len(measured) == 1


def test_short_fits_take_the_turns_one_epoch_each(fresh_wisdom, monkeypatch):
    X, y = make_problem(4000, 11, seed=5)
    finalists = planning.plan(11, "float64", m=4000).trial.finalists
    clock = _EpochClock(monkeypatch, {name: 0.010 for name in finalists})
    for _ in range(len(finalists) * confirm.SAMPLES):
        IMPLEMENTATIONS["numba_tuned"].fit(X, y, lr=0.5, epochs=1)
    assert sorted(clock.epochs) == sorted(list(finalists) * confirm.SAMPLES)
    confirmed = planning.plan(11, "float64", m=4000)
    assert confirmed.source == "confirmed" and confirmed.candidate.name == finalists[0]  # all level: kept


def test_short_epochs_of_a_long_fit_take_their_turns_several_at_a_time(fresh_wisdom, monkeypatch):
    X, y = make_problem(4000, 11, seed=5)
    finalists = planning.plan(11, "float64", m=4000).trial.finalists
    epoch = confirm.TURN_SECONDS / 3.5  # timed, but four make a turn
    clock = _EpochClock(monkeypatch, {name: epoch for name in finalists})
    IMPLEMENTATIONS["numba_tuned"].fit(X, y, lr=0.5, epochs=4 * len(finalists) * confirm.SAMPLES + 3)
    counts = [count for _, count in clock.calls]  # epochs per call: one per turn, the last turn short
    assert counts[0] == 1 and set(counts[1:-1]) == {4} and 0 < counts[-1] <= 4  # the first measures the epoch
    confirmed = planning.plan(11, "float64", m=4000)
    assert confirmed.source == "confirmed" and confirmed.trial.record()["median_s_per_row"][finalists[0]] == (
        pytest.approx(epoch / 4000)
    )


def test_where_epochs_are_too_short_to_time_the_plan_runs_untouched(fresh_wisdom, monkeypatch):
    path, _ = fresh_wisdom
    X, y = make_problem(300, 11, seed=5)
    raced = planning.plan(11, "float64", m=300)
    clock = _EpochClock(monkeypatch, {c.name: confirm.MIN_EPOCH_SECONDS / 10 for c in CANDIDATES})
    for _ in range(3):
        IMPLEMENTATIONS["numba_tuned"].fit(X, y, lr=0.5, epochs=5)
    assert clock.epochs == [raced.candidate.name] * 15  # its first epoch timed, then all at once
    after = planning.plan(11, "float64", m=300)
    assert after.candidate == raced.candidate and not any(after.trial.times.values())
    assert "confirmed" not in next(iter(json.loads(path.read_text())["entries"].values()))
