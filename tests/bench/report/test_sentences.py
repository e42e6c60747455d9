"""Every sentence true for its run: the words follow the verdicts of the facts, and flip with them."""

from __future__ import annotations

import json
import re

import pytest

from bench.report import fmt, pages
from bench.report.facts import build, select
from bench.report.facts.rungs import rung_facts
from bench.results.load import load
from impls import IMPLEMENTATIONS
from tests.bench.report.runs import (
    inplace_against_vectorized,
    lesson_of,
    paired_probes,
    ranked,
    read_page,
    run_main,
)


@pytest.mark.parametrize(
    ("factor", "spread", "words"),
    [
        (1.0, 0.01, "level (ratio 1, 95% interval"),  # the same rounds: a tie
        (1.02, 0.05, "level (ratio 1.02, 95% interval"),  # 2% apart, rounds 55% apart: no telling
        (2.0, 0.01, "100% slower than"),  # twice the time in every round
        (0.5, 0.01, "50% faster than"),
    ],
    ids=["tie", "within-noise", "slower", "faster"],
)
def test_the_words_follow_the_interval_of_the_ratio(results_file, tmp_path, factor, spread, words):
    path = tmp_path / "results.json"
    path.write_text(
        json.dumps(inplace_against_vectorized(json.loads(results_file.read_text()), factor, spread))
    )
    page = pages.render(build(load(path)), {})["more-steps.md"]  # numpy_inplace's step
    sentence = next(
        line
        for line in page.splitlines()
        if line.startswith("**Measured.**") and "it is" in line and "`numpy_vectorized`" in line
    )
    assert words in sentence, sentence
    worth = "Here the temporaries were worth removing" in sentence
    assert worth == (factor == 0.5)


def test_verdicts_flip_when_the_rung_order_is_reversed(results_file, tmp_path):
    raw = json.loads(results_file.read_text())
    lessons = {}
    for name, factor in (("ordered", 0.5), ("reversed", 2.0)):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(ranked(raw, factor)))
        rendered = pages.render(build(load(path)), {})
        lessons[name] = "\n".join(rendered.values())
    ordered, reversed_ = lessons["ordered"], lessons["reversed"]
    for pattern in (
        r"an epoch takes [^,]+, [\d.,]+× (faster|slower) than `python_loops`",
        r"[\d.,]+× (faster|slower) than pure Python",
        r"(faster|slower) than `numba_fused` and",
        r"it is \d+% (faster|slower) than `numpy_vectorized`",
        r"an epoch takes [^:]+: [\d.,]+× (faster|slower) than `numba_tiled`",
        r"`numba_fused`'s epoch is [\d.,]+× (faster|slower) than NumPy's",
    ):
        before, after = re.search(pattern, ordered), re.search(pattern, reversed_)
        assert before and after, pattern
        assert {before.group(1), after.group(1)} == {"faster", "slower"}, pattern
    assert "did not pay off" not in ordered and "did not pay off" in reversed_
    assert "compiled loops make no calls at all" in ordered
    assert "compiled loops make no calls at all" not in reversed_
    assert ordered.count("faster than") > reversed_.count("faster than")
    assert reversed_.count("slower than") > ordered.count("slower than")


def test_the_main_page_says_where_a_best_round_and_the_median_disagree(
    results_file, tmp_path, capsys, no_pictures
):
    """A size where the one-pass rung's best round beats the reference but its rounds as a whole lose
    is said in both terms: the chart's points are best rounds, the verdict comes from all of them."""
    raw = json.loads(results_file.read_text())
    reference, other = "numpy_vectorized", "numba_fused"
    sweep = select.m_sweep(load(results_file))
    n_fixed, m_first = int(sweep["n"].iat[0]), int(sweep["m"].min())
    for bench in raw["benchmarks"]:
        info = bench["extra_info"]
        if info["kind"] != "descent" or info["rung"] not in (reference, other) or info["m"] != m_first:
            continue
        if (info["n"], info["dtype"], info["threads_setting"]) != (n_fixed, "float64", "all"):
            continue
        if info["rung"] == reference:  # 1.0 to 1.09
            rounds = [info["epochs"] * (1 + 0.01 * i) for i in range(10)]
        else:  # one lucky round at 0.9, the rest 1.3 to 1.39
            rounds = [0.9 * info["epochs"]] + [info["epochs"] * (1.3 + 0.01 * i) for i in range(9)]
        ordered = sorted(rounds)
        bench["stats"].update(min=ordered[0], median=ordered[5], q1=ordered[2], q3=ordered[7], data=rounds)
    path = tmp_path / "disagree.json"
    path.write_text(json.dumps(raw))
    points = select.slower_points(load(path), other)
    assert m_first in [m for m, *_ in points]
    code, err = run_main(path, tmp_path / "out", capsys)
    assert code == 0, err
    page = (tmp_path / "out" / "README.md").read_text()
    said = f"At m = {m_first:,} `{other}` is faster in its best round but "
    assert said in page and " slower in its median round than `numpy_vectorized`" in page


@pytest.mark.parametrize(("after", "words"), [(1.0, "within a tenth in all"), (1.3, "were beyond a tenth")])
def test_the_methods_page_says_whether_the_probe_depends_on_what_ran_before(
    results_file, tmp_path, after, words
):
    path = tmp_path / "results.json"
    path.write_text(json.dumps(paired_probes(json.loads(results_file.read_text()), after)))
    page = pages.render(build(load(path)), {})["methods.md"]
    sentence = next(line for line in page.splitlines() if "Within one benchmark the order" in line)
    assert words in sentence, sentence
    assert f"was {after:.2f} (95% interval" in sentence, sentence


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
    """3: the lesson quotes a compile time as the best of its rounds, and says so."""
    raw = json.loads(results_file.read_text())
    results = load(results_file)
    text = lesson_of(generated)
    for bench in raw["benchmarks"]:
        info = bench["extra_info"]
        if info["kind"] == "jit" and info["dtype"] == "float64":
            assert rung_facts(results)[info["rung"]].compile_s == bench["stats"]["min"]
            assert f"`{info['rung']}` {fmt.fmt_time(bench['stats']['min'])}" in text
    assert "(the best of its rounds, none of them helped by the compiled copy Numba saves on disk)" in text


def test_scheduling_is_said_to_reach_a_tenth_only_where_measured(results_file, generated):
    """5: the m from which the empty epoch is at most a tenth of the real one, from the sweep alone."""
    from bench.report.facts.beyond import beyond

    facts_ = beyond(load(results_file))
    text = read_page(generated, "beyond.md")
    small = [p["m"] for p in facts_.sweep if p["empty"] <= 0.1 * p["epoch"]]
    if small:
        assert f"From m = {min(small):,} up, in this run's sweep" in text
    assert "m ≈" not in text


def test_the_thread_gain_of_the_vectorized_rung_is_explained_where_it_gained_less_than_the_probe(
    results_file, generated
):
    """7: NumPy's elementwise operations run on one core; only BLAS is threaded."""
    results = load(results_file)
    size = select.axis_size(results, "float64", "one")
    gain = {
        r: select.t_epoch(results, r, *size, "float64", "one") / select.t_epoch(results, r, *size)
        for r in ("numpy_vectorized", "roofline")
    }
    explained = (
        "`numpy_vectorized` is such a case: only its two products run in BLAS, on every thread"
        in read_page(generated, "more-steps.md")
    )
    assert explained == (gain["numpy_vectorized"] < gain["roofline"])


def test_the_main_pages_shares_are_the_side_by_side_ones(results_file, generated):
    """9: one figure per claim: every share of the roofline the main page states is a paired median."""
    raw = json.loads(results_file.read_text())
    results = load(results_file)
    m, n = select.big_size(results)
    assert "of the roofline" not in read_page(generated)  # the main page leaves shares to the depth pages
    page = lesson_of(generated)
    said = {
        "torch": "of the roofline (the median of its side-by-side pairs)",
        "jax": "of the roofline (the median of its side-by-side pairs)",
    }
    checked = 0
    for bench in raw["benchmarks"]:
        info = bench["extra_info"]
        if info["kind"] != "paired" or (info["m"], info["n"], info["dtype"], info["threads_setting"]) != (
            m,
            n,
            "float64",
            "all",
        ):
            continue
        if info["rung"] in said:
            assert f"{fmt.fmt_pct(info['share_median'])} {said[info['rung']]}" in page, info["rung"]
            checked += 1
    assert checked == len({"torch", "jax"} & set(IMPLEMENTATIONS))
