"""The committed lessons: each regenerates from its results file alone, and reads as a lesson."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench.report import pages
from bench.report.charts import CHARTS
from bench.report.facts import build
from bench.results.load import load, load_machines
from tests.bench.report.runs import COMMITTED, ROOT, links_of, prose_words

_REPORT_WITHOUT_IMPLS = (
    "import runpy, sys; sys.modules['impls'] = None; "  # any import of impls fails
    # Every chart is drawn, but not rasterised: its file is written empty (the pages are the same).
    "import matplotlib.figure as f; f.Figure.savefig = lambda self, path, *a, **k: open(path, 'wb').close(); "
    "sys.argv = ['bench.report', *sys.argv[1:]]; runpy.run_module('bench.report', run_name='__main__')"
)


def test_the_committed_lessons_regenerate_without_the_ladders_code_or_notes(tmp_path):
    """A copy of the checkout without impls/ and bench/FINDINGS.md writes the committed lessons bytewise
    (the charts' pictures are left out here: test_every_chart_is_written_and_referenced draws them)."""
    copy_root = tmp_path / "checkout"
    shutil.copytree(
        ROOT / "bench", copy_root / "bench", ignore=shutil.ignore_patterns("__pycache__", "FINDINGS.md")
    )
    shutil.copytree(
        ROOT / "ladderstats", copy_root / "ladderstats", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copytree(ROOT / "reports", copy_root / "reports")
    assert not (copy_root / "impls").exists() and not (copy_root / "bench" / "FINDINGS.md").exists()
    command = [sys.executable, "-c", _REPORT_WITHOUT_IMPLS, "reports/results.json", "--out", "reports"]
    command += ["--machines", "reports/machines"]
    env = {**os.environ, "PYTHONPATH": str(copy_root)}
    done = subprocess.run(command, cwd=copy_root, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    written = [ROOT / "reports" / page for page in pages.PAGES]
    written += [path for path in sorted((ROOT / "reports" / "machines").rglob("*.md"))]
    for lesson in written:
        regenerated = copy_root / lesson.relative_to(ROOT)
        assert regenerated.read_bytes() == lesson.read_bytes(), lesson.relative_to(ROOT)


@pytest.mark.parametrize("folder", COMMITTED, ids=[str(p.relative_to(ROOT)) for p in COMMITTED])
def test_committed_lessons_regenerate_from_their_results(folder):
    """Every committed lesson is what today's report code writes from the results file beside it."""
    results = load(folder / "results.json")
    results.path = Path(os.path.relpath(folder / "results.json", ROOT))
    machines = ROOT / "reports" / "machines"
    links = pages.links_from(
        folder, machines if folder == ROOT / "reports" else None, back=folder.parent == machines
    )
    figures = {key: f"fig_{key}.png" for key in CHARTS if (folder / f"fig_{key}.png").exists()}
    others = []
    if folder == ROOT / "reports":  # the main lesson sets the other machines' runs beside its own
        for run in load_machines(machines):
            run.path = Path(os.path.relpath(run.path, ROOT))
            others.append((run.path.parent.name, build(run)))
    for page, text in pages.render(build(results), figures, links, others).items():
        assert text == (folder / page).read_text(), page


# --------------------------------------------------------------------------- the lesson for its reader


@pytest.mark.parametrize("folder", COMMITTED, ids=[str(p.relative_to(ROOT)) for p in COMMITTED])
def test_the_main_page_is_read_in_25_minutes(folder):
    assert prose_words((folder / "README.md").read_text()) <= 4000


def test_the_word_count_leaves_out_code_tables_and_formulas():
    page = "Two words.\n\n```python\nx = 1  # not prose\n```\n\n$$z = w x$$\n\n| a | b |\n"
    page += "\n![chart](f.png) [link](x.md)"
    assert prose_words(page) == 3  # "Two", "words.", "link"


def test_the_main_page_stays_a_30_minute_read():
    """At most 2,500 words of prose, 100 lines of code and 5 charts: the rest is on the depth pages."""
    page = (ROOT / "reports" / "README.md").read_text()
    code = sum(len(block.splitlines()) - 2 for block in re.findall(r"```python\n.*?```", page, flags=re.S))
    assert prose_words(page) <= 2500 and code <= 100 and page.count("![") <= 5


@pytest.mark.parametrize("folder", COMMITTED, ids=[str(p.relative_to(ROOT)) for p in COMMITTED])
def test_every_page_a_lesson_links_exists(folder):
    from urllib.parse import unquote

    pages_linked = set()
    for page in sorted(folder.glob("*.md")):
        for target in links_of(page):
            assert (folder / unquote(target)).exists(), f"{page.relative_to(ROOT)} links {target}"
            pages_linked.add((folder / unquote(target)).resolve())
    deeper = [folder / name for name in pages.PAGES if name != "README.md"]
    linked_from_main = {(folder / unquote(t)).resolve() for t in links_of(folder / "README.md")}
    assert {p.resolve() for p in deeper} <= linked_from_main, "the main page links every deeper page"
    assert len(deeper) >= 3


@pytest.mark.parametrize("folder", COMMITTED, ids=[str(p.relative_to(ROOT)) for p in COMMITTED])
def test_no_lesson_page_carries_a_commit_hash_or_notes_of_another_machine(folder):
    for page in folder.glob("*.md"):
        text = page.read_text()
        assert not re.search(r"\b(at|commit|of) [0-9a-f]{7,40}\b", text), page
        assert "Cascade Lake" not in text and "32 KiB L1" not in text, page


_FALSE_BEFORE = [
    "within a relative 1e-05\b(?![^.]*cost − optimum)",  # 1: said relative, tested absolute
    "exactly the steps it needed",  # 2: the timed descent ran one epoch more, from w = 0
    # 4 ("2 blocks per worker thread were fastest", said where the spreads overlapped) depends on
    # the run: test_the_fastest_block_count_is_the_fastest_or_says_level checks the rule itself.
    "the fit puts the scheduling at a tenth",  # 5: a second, model's m beside the measured one
    "arithmetic alone",  # 6: the in-cache time is the cache's bandwidth too
    "that factor is what the interpreter costs",  # 8
]


@pytest.mark.parametrize("folder", COMMITTED, ids=[str(p.relative_to(ROOT)) for p in COMMITTED])
def test_none_of_the_sentences_found_false_is_back(folder):
    text = "".join(page.read_text() for page in folder.glob("*.md"))
    for pattern in _FALSE_BEFORE:
        assert not re.search(pattern, text), pattern


def test_the_machines_page_leaves_the_cluster_rung_out(results_file):
    """The cluster's rung never runs side by side (its cluster would slow the others): no machine's
    count of reads names it."""
    from bench.report.facts.machines import machine

    results = load(results_file)
    assert not any(set(race["times_s"]) & set(results.ladder.distributed) for race in results.head_to_head)
    here = machine(build(results), "this run", "../README.md")
    assert here.reads and not set(here.reads) & set(results.ladder.distributed)


def test_the_lesson_names_the_tox_environment_that_redoes_its_run():
    main_page = (ROOT / "reports" / "README.md").read_text()
    timed = {  # the ladder's rungs (another workload's records name theirs in their "ladder")
        b["extra_info"].get("rung")
        for b in json.loads((ROOT / "reports" / "results.json").read_text())["benchmarks"]
    }
    expected = "report-peers" if timed & {"torch", "jax"} else "report"
    assert f"tox -e {expected}`" in main_page
    assert "tox -e report-large`" in (ROOT / "reports" / "large" / "README.md").read_text()
