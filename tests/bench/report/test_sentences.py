"""Every sentence true for its run: the words follow the verdicts of the facts, and flip with them."""

from __future__ import annotations

import json
import re

import pytest

from bench.report import fmt, pages
from bench.report.facts import build, select
from bench.results import side
from bench.results.load import load
from tests.bench.report.runs import lesson_of, race_at, ranked, read_page, reshape_race, set_rounds


@pytest.mark.parametrize(
    ("factor", "words", "worth"),
    [
        (1.0, "level (1.00×, ", False),  # the same time in every round, bar a wobble: a tie
        (2.0, "2.00× (", False),  # twice the time in every round
        (0.5, "2.00× (", True),
    ],
    ids=["tie", "slower", "faster"],
)
def test_the_words_follow_the_interval_of_the_side_by_side_ratio(
    results_file, tmp_path, factor, words, worth
):
    raw = json.loads(results_file.read_text())
    race = race_at(raw, select.big_size(load(results_file)))
    reshape_race(race, [6, 6])
    set_rounds(race, "numpy_vectorized", lambda k: 1e-3 * (1 + 0.05 * (k % 3)))
    set_rounds(
        race, "numpy_inplace", lambda k: 1e-3 * (1 + 0.05 * (k % 3)) * factor * (1 + 0.001 * (-1) ** k)
    )
    path = tmp_path / "results.json"
    path.write_text(json.dumps(raw))
    page = pages.render(build(load(path)), {})["more-steps.md"]  # numpy_inplace's step
    sentence = next(line for line in page.splitlines() if "side by side, it was" in line)
    verdict = {1.0: "with", 2.0: "slower than", 0.5: "faster than"}[factor]
    assert f"it was {words}" in sentence and f") {verdict} `numpy_vectorized`" in sentence, sentence
    assert ("Here the temporaries were worth removing" in sentence) == worth


def test_verdicts_flip_when_the_rung_order_is_reversed(results_file, tmp_path):
    raw = json.loads(results_file.read_text())
    lessons = {}
    for name, factor in (("ordered", 0.5), ("reversed", 2.0)):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(ranked(raw, factor)))
        rendered = pages.render(build(load(path)), {})
        lessons[name] = "\n".join(rendered.values())
    ordered, reversed_ = lessons["ordered"], lessons["reversed"]
    interval = r"[\d.,]+× \([\d.,]+–[\d.,]+\)"
    for pattern in (
        rf"side by side it was {interval} (faster|slower) than `python_loops`",
        rf"{interval} (faster|slower) than\s+pure Python",
        rf"{interval} (faster|slower) than `numba_fused` and",
        rf"it was {interval} (faster|slower) than\s+`numpy_vectorized`",
        rf"side by side it\s+was {interval} (faster|slower) than `numba_tiled`",
        rf"`numba_fused`'s epoch was\s+{interval} (faster|slower) than NumPy's",
    ):
        before, after = re.search(pattern, ordered), re.search(pattern, reversed_)
        assert before and after, pattern
        assert {before.group(1), after.group(1)} == {"faster", "slower"}, pattern
    assert "did not pay off" not in ordered and "did not pay off" in reversed_
    assert "compiled loops make no calls at all" in ordered
    assert "compiled loops make no calls at all" not in reversed_
    assert ordered.count("faster than") > reversed_.count("faster than")
    assert reversed_.count("slower than") > ordered.count("slower than")


def test_the_time_to_the_optimum_is_within_the_relative_tolerance_the_lesson_states(results_file, generated):
    raw = json.loads(results_file.read_text())
    ways = [b["extra_info"] for b in raw["benchmarks"] if b["extra_info"]["kind"] == "optimum"]
    assert ways
    for info in ways:  # 1: relative, as stated
        assert (
            info["relative"] and info["final_cost"] - info["optimum"] <= info["tolerance"] * info["optimum"]
        )
        if info["method"] == "descent":  # 2: the epochs it ran are its evaluations, from the random start
            assert info["evaluations"] == info["steps"]
    assert raw["machine_info"]["bench_profile"]["start_w"] == "random"
    text = lesson_of(generated)
    assert f"within a relative {ways[0]['tolerance']:g} of the optimum (cost − optimum ≤" in text


def test_compile_times_are_best_rounds_as_every_other_time(results_file, generated):
    """3: the lesson quotes a compile time as the best of its rounds, and says so (or that it timed
    one call, where a profile times one round)."""
    raw = json.loads(results_file.read_text())
    facts = build(load(results_file))
    text = lesson_of(generated)
    rounds = set()
    for bench in raw["benchmarks"]:
        info = bench["extra_info"]
        if info["kind"] == "jit" and info["dtype"] == "float64":
            assert facts.rungs[info["rung"]].compile_s == bench["stats"]["min"]
            assert f"`{info['rung']}` {fmt.fmt_time(bench['stats']['min'])}" in text
            rounds.add(bench["stats"]["rounds"])
    assert rounds == {1}  # the smoke profile times one round: the other form is the next test's
    assert "(once a rung, with no help from the compiled copy Numba saves on disk)" in text


def test_compile_times_of_several_rounds_are_called_the_best_of_them(results_file, tmp_path):
    raw = json.loads(results_file.read_text())
    for bench in raw["benchmarks"]:
        if bench["extra_info"]["kind"] == "jit":
            bench["stats"]["rounds"] = 2
    copy = tmp_path / "results.json"
    copy.write_text(json.dumps(raw))
    text = "\n".join(pages.render(build(load(copy)), {}).values())
    assert "(the best of its rounds, none of them helped by the compiled copy Numba saves on disk)" in text


def test_the_cluster_page_forms_no_ratio_of_benchmarks_timed_apart(generated):
    """The distributed rung never runs side by side: its page gives times, and no ratio or share."""
    text = read_page(generated, "beyond.md")
    assert "÷ `" not in text and "its share of the epoch" not in text and "m ≈" not in text
    assert not re.search(r"\d×|\d% as long", text)


def test_the_thread_gain_of_the_vectorized_rung_is_explained_where_it_gained_less_than_the_probe(
    results_file, generated
):
    """7: NumPy's elementwise operations run on one core; only BLAS is threaded. Said where, side by
    side with the probe of each setting, it took surely fewer reads of X on one thread than on all."""
    raw = json.loads(results_file.read_text())
    size = select.axis_size(load(results_file), "float64", "one")
    one = side.ratio(race_at(raw, size, threads="one"), "numpy_vectorized", "roofline")
    every = side.ratio(race_at(raw, size), "numpy_vectorized", "roofline")
    explained = (
        "`numpy_vectorized` is such a case: only its two products run in BLAS, on every thread"
        in read_page(generated, "more-steps.md")
    )
    assert explained == (one.high < every.low)


def test_every_count_of_reads_is_the_side_by_side_ratio_with_the_probe(results_file, generated):
    """9: a rung's epoch in reads of X, wherever a page states it, is its epoch over the probe's read in
    the same rounds (computed here from the file's rounds)."""
    raw = json.loads(results_file.read_text())
    size = select.big_size(load(results_file))
    race = race_at(raw, size)
    reads = side.ratio(race, "numba_fused", "roofline")
    said = f"{fmt.number(reads.estimate)} ({fmt.number(reads.low)}–{fmt.number(reads.high)}) reads of $X$"
    assert f"this rung's epoch took {said}" in read_page(generated)
    assert "of the roofline" not in lesson_of(generated)  # no share from pairs of benchmarks
