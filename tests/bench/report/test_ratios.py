"""One comparison, one measurement: every ratio a page states is the one the facts' registry keeps for
its pair and point, from the side-by-side rounds, printed with its 95% interval, the same on every
page; a pair the run did not time side by side is a gap, never a ratio of separate benchmarks."""

from __future__ import annotations

import copy
import json
import re

import pytest

import ladderstats
from bench.report import fmt, pages
from bench.report.facts import build, select
from bench.results import side
from bench.results.load import load
from tests.bench.report.runs import ROOT, race_at, ranked, reshape_race, set_rounds

#: What a stated ratio looks like on a page: a factor, an interval, a number right before a word of
#: speed, "level (", a count of reads of X, a share of the roofline.
RATIO_SHAPES = (
    r"\d×",
    r"\(\s*\d[\d.,]*%?\s*–\s*\d[\d.,]*%?\s*\)",
    r"\d[\d.,]*[%×]?\)?\s+(?:faster|slower|ahead|behind)\b",
    r"\blevel \(",
    r"\d[\d.,]*\)? reads of",
    r"% of the roofline",
)
NUMBER = r"\d[\d,]*(?:\.\d+)?"
INTERVAL = rf"\({NUMBER}–{NUMBER}\)"
LEVEL = rf"\({NUMBER}×, {NUMBER}–{NUMBER}\)"


def _prose(page: str) -> str:
    """A page without its code blocks and display formulas (code is never a statement of the run)."""
    return re.sub(r"```.*?```|\$\$.*?\$\$", " ", page, flags=re.S)


def _leftovers(page: str, stated: list[str]) -> list[str]:
    """What still looks like a ratio once every text the registry states is taken out of the page."""
    text = _prose(page)
    for numbers in sorted(stated, key=len, reverse=True):
        text = text.replace(numbers, " ")
    return [m.group(0) for shape in RATIO_SHAPES for m in re.finditer(shape, text)]


def _lesson(path):
    facts = build(load(path))
    return facts, pages.render(facts, {})


def _by_numbers(facts) -> dict[str, set[tuple]]:
    """Each printed ratio (its numbers and interval) → the pairs and points it is the registry's for."""
    out: dict[str, set[tuple]] = {}
    for key, stated in facts.ratios.made().items():
        out.setdefault(fmt.numbers(stated), set()).add(key)
    return out


LESSONS = {
    "fixture": None,  # the results_file fixture: a run of today's suite
    "large": ROOT / "reports" / "large" / "results.json",  # an older file: compiled rungs, one process
}


@pytest.fixture(scope="module", params=list(LESSONS))
def lesson(request, results_file):
    return _lesson(LESSONS[request.param] or results_file)


def test_no_two_pages_state_different_ratios_for_one_pair_at_one_point(lesson):
    """Every ratio on every page is the registry's for the pair it names (the rung after "than" or
    "with" is one of the pair), and nothing else on any page looks like a ratio: so one pair at one
    point has one set of numbers wherever it is stated."""
    facts, rendered = lesson
    by_numbers = _by_numbers(facts)
    assert by_numbers, "the lesson states no ratio"
    where: dict[tuple, set[str]] = {}
    for page, text in rendered.items():
        prose = _prose(text)
        for numbers, keys in by_numbers.items():
            found = re.finditer(re.escape(numbers) + r"(?: (?:faster|slower) than| with) `(\w+)`", prose)
            for match in found:
                assert any(match.group(1) in key[:2] for key in keys), (page, match.group(0), keys)
            if numbers in prose:
                for key in keys:
                    where.setdefault(key, set()).add(page)
        assert _leftovers(text, list(by_numbers)) == [], page
    assert any(len(stated_on) > 1 for stated_on in where.values()), "no pair is stated on two pages"


def _interval_missing(page: str) -> list[str]:
    """Comparisons without their interval: a factor not followed by one, a number right before a word
    of speed, "level" without its numbers, a count of reads without its interval, and a line that says
    "kept within" with no interval or mention of one."""
    text = _prose(page)
    missing = [m.group(0) for m in re.finditer(rf"{NUMBER}×(?! {INTERVAL})(?!, {NUMBER}–{NUMBER}\))", text)]
    missing += [m.group(0) for m in re.finditer(rf"{NUMBER}[%×]?\s+(?:faster|slower|ahead|behind)\b", text)]
    missing += [m.group(0) for m in re.finditer(rf"\blevel \((?!{NUMBER}×, {NUMBER}–{NUMBER}\))", text)]
    missing += [m.group(0) for m in re.finditer(rf"{NUMBER}(?! {INTERVAL}) reads of", text)]
    for line in text.splitlines():
        for sentence in re.split(r"(?<=\.) ", line):
            if "kept within" in sentence and not re.search(rf"{INTERVAL}|{LEVEL}|interval", sentence):
                missing.append(sentence)
    return missing


def test_every_comparison_word_on_every_page_has_its_interval(lesson):
    _, rendered = lesson
    for page, text in rendered.items():
        assert _interval_missing(text) == [], page


@pytest.mark.parametrize(
    "text",
    [
        "an epoch is 2.53× faster than NumPy's",
        "it is 12% slower than `numpy_vectorized`",
        "level (ratio 1.02, 95% interval 0.97–1.08) with",
        "takes as long as 2.2 reads of $X$",
        "| kept within 5% | at 10 of 10 |",
    ],
)
def test_the_scan_catches_a_comparison_without_its_interval(text):
    assert _interval_missing(text)
    assert _leftovers(text, []) or "kept within" in text


def test_the_scan_passes_the_forms_the_pages_print():
    assert not _interval_missing("was 3.28× (3.20–3.35) faster than `numpy_vectorized`'s")
    assert not _interval_missing(
        "was level (1.01×, 0.98–1.06) with it, and took 2.18 (2.10–2.27) reads of $X$"
    )
    assert not _interval_missing("Why it is faster. At m = 1,000 × n = 10 it kept within 5% (its interval).")


# --------------------------------------------------------------------------- runs built to say one thing


def _expected(race: dict, first: str, second: str, subject: str) -> str:
    """``subject`` (one of the two) against the other in words, computed here from the rounds (not
    through the report): the ratio of ``first`` over ``second``, the ladder's order, as the registry
    computes it, then the longer epoch over the shorter."""
    r = ladderstats.side_by_side(side.by_process(race, first), side.by_process(race, second))
    longer = (r.estimate, r.low, r.high) if r.estimate >= 1 else (1 / r.estimate, 1 / r.high, 1 / r.low)
    if r.low <= 1 <= r.high:
        return "level ({:.2f}×, {:.2f}–{:.2f})".format(*longer)
    word = "slower" if (r.low > 1) == (subject == first) else "faster"
    return "{:.2f}× ({:.2f}–{:.2f}) ".format(*longer) + word


def _with_race(results_file, tmp_path, fused_over_numpy) -> tuple:
    """The fixture with the one-process rung's rounds at the lesson's largest size set to
    ``fused_over_numpy(k)`` times the reference's, in 3 processes of 8 rounds."""
    raw = json.loads(results_file.read_text())
    size = select.big_size(load(results_file))
    race = race_at(raw, size)
    reshape_race(race, [8, 8, 8])
    set_rounds(race, "numpy_vectorized", lambda k: 1e-3 * (1 + 0.03 * ((7 * k) % 5)))
    set_rounds(race, "numba_fused", lambda k: 1e-3 * (1 + 0.03 * ((7 * k) % 5)) * fused_over_numpy(k))
    path = tmp_path / "race.json"
    path.write_text(json.dumps(raw))
    return path, race


@pytest.mark.parametrize(
    ("fused_over_numpy", "word"),
    [
        (lambda k: 1 + 0.004 * (-1) ** k, "level"),  # a tie: each round's ratio 1.004 or 0.996
        (lambda k: (1 + 0.01 * (k % 3)) / 3, "faster"),  # a third of the time, in every round
        (lambda k: 1.5 * (1 + 0.01 * (k % 3)), "slower"),
    ],
    ids=["tie", "faster", "slower"],
)
def test_a_known_ratio_is_stated_with_the_right_word_and_numbers(
    results_file, tmp_path, fused_over_numpy, word
):
    path, race = _with_race(results_file, tmp_path, fused_over_numpy)
    expected = _expected(race, "numpy_vectorized", "numba_fused", "numba_fused")
    assert expected.startswith(word) or expected.endswith(word)
    rendered = pages.render(build(load(path)), {})
    joined = " with" if word == "level" else " than"
    step = next(line for line in rendered["README.md"].splitlines() if "this rung's epoch was" in line)
    said = [line for line in rendered["README.md"].splitlines() if "one pass over $X$ made the epoch" in line]
    assert f"this rung's epoch was {expected}{joined} `numpy_vectorized`'s" in step, step
    assert said and f"made the epoch {expected}{joined} NumPy's" in said[0]


def test_a_pair_stated_on_two_pages_reads_the_same_on_both(results_file, tmp_path):
    path, race = _with_race(results_file, tmp_path, lambda k: (1 + 0.01 * (k % 3)) / 3)
    rendered = pages.render(build(load(path)), {})
    expected = _expected(race, "numpy_vectorized", "numba_fused", "numba_fused")
    on = [name for name, text in rendered.items() if expected in text]
    assert {"README.md", "more-steps.md"} <= set(on), on  # the main page's step 3 and the m sweep's table


def test_best_rounds_change_no_ratio(results_file, tmp_path):
    """The descent benchmarks' best rounds are times only: moving them changes the times a page shows,
    never a ratio it states."""
    raw = json.loads(results_file.read_text())
    before = pages.render(build(load(results_file)), {})
    moved = copy.deepcopy(raw)
    for bench in moved["benchmarks"]:
        if bench["extra_info"]["kind"] in ("descent", "roofline"):
            factor = 0.01 if bench["extra_info"].get("rung") == "numba_fused" else 3.0
            bench["stats"] = {k: v * factor if isinstance(v, float) else v for k, v in bench["stats"].items()}
            bench["stats"]["data"] = [t * factor for t in bench["stats"].get("data", [])]
    path = tmp_path / "moved.json"
    path.write_text(json.dumps(moved))
    facts = build(load(path))
    after = pages.render(facts, {})
    stated = list(_by_numbers(facts))
    for page in before:
        ratios = [
            m.group(0)
            for m in re.finditer(
                rf"{NUMBER}×? {INTERVAL}|\({NUMBER}×, {NUMBER}–{NUMBER}\)", _prose(before[page])
            )
        ]
        again = [
            m.group(0)
            for m in re.finditer(
                rf"{NUMBER}×? {INTERVAL}|\({NUMBER}×, {NUMBER}–{NUMBER}\)", _prose(after[page])
            )
        ]
        assert ratios == again, page
        assert _leftovers(after[page], stated) == [], page
    assert before["README.md"] != after["README.md"]  # the times did move


def test_a_run_without_side_by_side_rounds_states_no_ratio_and_lists_the_gaps(results_file, tmp_path):
    raw = json.loads(results_file.read_text())
    raw["benchmarks"] = [b for b in raw["benchmarks"] if b["extra_info"]["kind"] != "head_to_head"]
    path = tmp_path / "apart.json"
    path.write_text(json.dumps(raw))
    made = pages.lesson(build(load(path)), {})
    for page, text in made.pages.items():
        assert _leftovers(text, []) == [], page
    assert (
        "numba_fused against numpy_vectorized side by side at the largest size: not measured in this run"
        in (made.gaps)
    )
    assert (
        "_(Not measured in this run: numba_fused against numpy_vectorized side by side"
        in made.pages["README.md"]
    )


def test_the_registry_computes_each_pair_once_and_names_it_from_either_side(results_file):
    facts = build(load(results_file))
    size = facts.sizes.big
    fused = facts.ratios("numba_fused", "numpy_vectorized", size)
    numpy = facts.ratios("numpy_vectorized", "numba_fused", size)
    assert fused.key == numpy.key and fused.canonical is numpy.canonical
    assert fused.numbers == numpy.numbers and fmt.numbers(fused) == fmt.numbers(numpy)
    assert {fused.verdict, numpy.verdict} in ({"level"}, {"faster", "slower"})
    race = race_at(json.loads(results_file.read_text()), size)
    canonical = side.ratio(race, "numpy_vectorized", "numba_fused")  # the ladder's order
    assert (numpy.ratio.estimate, numpy.ratio.low) == pytest.approx((canonical.estimate, canonical.low))
    assert facts.rungs["numba_fused"].vs["numpy_vectorized"]["t_big"].canonical is fused.canonical
    assert facts.ratios("numba_fused", "no_such_rung", size) is None
    assert facts.ratios("numba_fused", "numpy_vectorized", (7, 7)) is None
    with pytest.raises(KeyError):
        facts.rungs["numba_fused"].vs["no_such_rung"]


def test_the_machines_page_states_each_machines_ratios_with_their_intervals(results_file, tmp_path):
    """The machines page words each leader by a ratio of its own run's registry, with its interval,
    and states nothing else that looks like a ratio."""
    from bench.report.facts import machines

    raw = json.loads(results_file.read_text())
    other = tmp_path / "other.json"
    other.write_text(json.dumps(ranked(raw, 2.0)))
    runs = [build(load(results_file)), build(load(other))]
    compared = [
        machines.machine(run, label, "x/README.md")
        for run, label in zip(runs, ("here", "there"), strict=True)
    ]
    page = pages.render_machines(compared, chart=False)
    stated = [numbers for run in runs for numbers in _by_numbers(run)]
    assert _leftovers(page, stated) == [] and _interval_missing(page) == []
    assert "the next" in page or "level with" in page
