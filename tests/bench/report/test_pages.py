"""The pages: the templates, the context they read, and what each page says of a run."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jinja2
import pytest
from jinja2 import nodes

from bench.report import pages
from bench.report.charts import CHARTS
from bench.report.cli import main
from bench.report.facts import build
from bench.report.facts.claims import STEPS, Claim
from bench.results.load import load
from impls import IMPLEMENTATIONS, MISSING
from tests.bench.report.runs import lesson_of, read_page


def test_template_lines_stay_short_and_wrapped_lines_render_as_one(tmp_path):
    for path in sorted(pages.TEMPLATES.rglob("*.j2")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            assert len(line) <= 300, (
                f"{path.name}:{number} is {len(line)} characters: wrap it with a backslash"
            )
    (tmp_path / "t.md.j2").write_text("one \\\ntwo {{ x }} \\\nthree\n\nnext\n")
    env = pages.environment()
    env.loader = pages.WrappedLoader(tmp_path)
    assert env.get_template("t.md.j2").render(x=2) == "one two 2 three\n\nnext\n"


def test_every_term_is_defined_or_linked_at_its_first_use_on_every_page(results_file):
    """The main page defines its terms in its text (in bold, where first used); the depth pages
    link each term they use without defining it, before its first use; the glossary has them all."""
    from bench.report import glossary

    lesson = pages.render(build(load(results_file)), {})
    for name, text in lesson.items():
        if name != glossary.PAGE:
            assert glossary.undefined(text) == [], name
    assert all(
        f"### {term}\n\n{definition}" in lesson[glossary.PAGE]
        for term, definition in glossary.terms().items()
    )
    assert "_Terms used here" not in lesson["README.md"]


def test_a_term_used_before_its_definition_is_caught():
    from bench.report import glossary

    assert glossary.undefined("Each SIMD lane ... then **SIMD** (one instruction, several numbers).") == [
        "SIMD"
    ]
    assert glossary.undefined("Here **SIMD** (one instruction, several numbers), then SIMD again.") == []
    assert glossary.undefined("See [SIMD](glossary.md#simd); SIMD again.") == []
    assert glossary.undefined("```\nSIMD in code\n```\n# SIMD in a heading\n`SIMD` as code") == []
    assert glossary.undefined("Two caches, then the **cache** defined.") == ["cache"]


def test_every_registered_rung_has_a_lesson_template():
    templates = {path.name.removesuffix(".md.j2") for path in pages.RUNG_TEMPLATES.glob("*.md.j2")}
    assert set(IMPLEMENTATIONS) <= templates, set(IMPLEMENTATIONS) - templates
    stray = templates - set(IMPLEMENTATIONS) - set(MISSING)  # a peer not installed keeps its template
    assert not stray, f"templates of no registered rung: {stray}"


def test_a_name_the_context_lacks_fails_loudly(results_file):
    import jinja2

    results = load(results_file)
    env = pages.environment()
    template = env.from_string("{% if have(rungs.no_such_rung.t_big) %}x{% endif %}")
    with pytest.raises(jinja2.UndefinedError):
        template.render(pages.context(build(results), {}))
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{{ no_such_number | time }}").render(pages.context(build(results), {}))


def test_a_run_records_the_code_it_times_and_the_lesson_shows_the_record(results_file, generated):
    """A run records each rung's code as it is now (its core functions and the shared maths they
    call: ``bench.suite.describe``), and the lesson shows the record of its file, whatever the code is
    today (the fixture's record, made when it was made)."""
    import inspect

    from bench.suite.describe import ladder
    from impls import _scalar, _vector

    now = ladder()["rungs"]
    for name, rung in IMPLEMENTATIONS.items():
        for function in rung.core:  # the code that would run, as it is in the rung's module
            function = getattr(function, "py_func", function)
            assert inspect.getsource(function).strip() in now[name]["code"], (name, function.__name__)
    helpers = [h["code"] for rung in now.values() for h in rung.get("helpers", [])]
    for helper in (_scalar.logistic_terms, _vector.sigmoid, _vector.mean_loss):  # helpers recorded too
        assert any(inspect.getsource(helper).strip() in source for source in helpers), helper.__name__
    recorded = json.loads(results_file.read_text())["ladder"]["rungs"]
    lesson = lesson_of(generated)
    for name in IMPLEMENTATIONS:  # every function whole (a page may show a rung's functions apart)
        assert recorded[name]["code"], name
        for block in recorded[name]["code"].split("\n\n\n"):
            assert block in lesson, (name, block.splitlines()[0])
    for helper in (h for rung in recorded.values() for h in rung.get("helpers", [])):
        if helper["name"].endswith(("logistic_terms", "sigmoid", "mean_loss")):  # shown with the rungs
            assert helper["code"].strip() in lesson, helper["name"]
    assert "$$z^{(i)} = w^\\top x^{(i)} + b" in lesson


def test_the_lesson_says_where_the_timed_descents_started(results_file, generated, tmp_path):
    text = read_page(generated, "methods.md")
    assert "starts from the same random $w$" in text and "does not record where" not in text
    raw = json.loads(results_file.read_text())
    del raw["machine_info"]["bench_profile"]["start_w"]  # a run from before the field
    old = tmp_path / "old.json"
    old.write_text(json.dumps(raw))
    assert main([str(old), "--out", str(tmp_path / "out")]) == 0
    text = read_page(tmp_path / "out", "methods.md")
    assert "does not record where the timed descents started" in text and "the same random $w$" not in text


def test_the_methods_page_says_what_the_allocator_kept(results_file, tmp_path):
    """A run that recorded its allocator's setting (``bench/__init__.py``) shows it; a file from
    before the field says nothing of it."""
    raw = json.loads(results_file.read_text())
    raw["machine_info"]["allocator"] = {
        "allocator": "glibc",
        "mmap_threshold": 32 << 20,
        "trim_threshold": 256 << 20,
    }
    kept = tmp_path / "kept.json"
    kept.write_text(json.dumps(raw))
    assert main([str(kept), "--out", str(tmp_path / "kept")]) == 0
    text = read_page(tmp_path / "kept", "methods.md")
    assert "**Freed memory.**" in text
    assert (
        "| allocator | glibc, freed memory kept (blocks under 32 MiB from the heap, "
        "up to 256 MiB kept free) |" in (re.sub(r" +\|", " |", re.sub(r"\| +", "| ", text)))
    )
    raw["machine_info"].pop("allocator")
    old = tmp_path / "old.json"
    old.write_text(json.dumps(raw))
    assert main([str(old), "--out", str(tmp_path / "old")]) == 0
    assert "allocator" not in read_page(tmp_path / "old", "methods.md")


# --------------------------------------------------------------------------- words, not decisions

#: What a template may call: the presence of an optional sentence's numbers, the gap of a claim, and
#: methods that take a value apart. A verdict comes decided from the facts; a template only words it.
CALLS = {"have", "gap"}
METHODS = {"format", "split", "get", "items", "as_posix"}
#: Units a template may convert by (bytes to GB).
UNITS = {1e3, 1e6, 1e9}
ORDERING = {"lt", "lteq", "gt", "gteq"}
ORDERING_TESTS = {"lt", "le", "gt", "ge", "lessthan", "greaterthan", "<", "<=", ">", ">="}


def _templates():
    env = pages.environment()
    for path in sorted(pages.TEMPLATES.rglob("*.j2")):
        name = path.relative_to(pages.TEMPLATES).as_posix()
        yield name, env.parse(env.loader.get_source(env, name)[0])


def _ordering_allowed(compare: nodes.Compare) -> bool:
    """A count against 0 or 1 (singular or plural), or a list's length: grammar, not a verdict."""
    operands = [compare.expr, *(op.expr for op in compare.ops)]
    if isinstance(compare.expr, nodes.Filter) and compare.expr.name == "length":
        return True
    return any(
        isinstance(e, nodes.Const) and e.value in (0, 1) and not isinstance(e.value, float) for e in operands
    )


def test_the_templates_hold_no_threshold_and_call_no_verdict_function():
    """No float but a unit's, no ordering of two numbers, no filter by a threshold, no call but the
    presence checks: where one time beats another, by how much a rung lags, is the facts' to say."""
    for name, tree in _templates():
        for call in tree.find_all(nodes.Call):
            callee = call.node
            if isinstance(callee, nodes.Name):
                assert callee.name in CALLS, f"{name} calls {callee.name}()"
            else:
                assert isinstance(callee, nodes.Getattr) and callee.attr in METHODS, f"{name}: {callee}"
        for const in tree.find_all(nodes.Const):
            if isinstance(const.value, float):
                assert const.value in UNITS, f"{name} holds the number {const.value}"
        for compare in tree.find_all(nodes.Compare):
            if any(op.op in ORDERING for op in compare.ops):
                assert _ordering_allowed(compare), f"{name} orders two numbers (line {compare.lineno})"
        for select in tree.find_all(nodes.Filter):
            if select.name in ("select", "reject", "selectattr", "rejectattr"):
                tests = {a.value for a in select.args if isinstance(a, nodes.Const)}
                assert not tests & ORDERING_TESTS, f"{name} filters by a threshold (line {select.lineno})"


def test_the_scan_of_the_templates_catches_a_threshold_and_a_verdict():
    env = pages.environment()
    threshold = env.parse("{% if rung.pinned_cpu_one <= 1.05 %}one core{% endif %}")
    assert [c.value for c in threshold.find_all(nodes.Const) if isinstance(c.value, float)] == [1.05]
    ordered = env.parse("{% if rung.t_big < fused.t_big %}faster{% endif %}")
    assert not all(_ordering_allowed(c) for c in ordered.find_all(nodes.Compare))
    called = env.parse("{{ versus(rung.t_big, vec.t_big) }}")
    assert [c.node.name for c in called.find_all(nodes.Call)] == ["versus"]


def test_every_claim_a_step_words_is_declared_and_every_declared_claim_is_worded():
    """``steps.json`` holds what each rung's step states; its template words exactly those claims."""
    declared = json.loads(STEPS.read_text())
    templates = {path.name.removesuffix(".md.j2") for path in pages.RUNG_TEMPLATES.glob("*.md.j2")}
    assert set(declared) == templates
    for label, claims in declared.items():
        used = set(re.findall(r"rung\.claims\.(\w+)", pages.rung_template(label).read_text()))
        assert used == set(claims), label


# --------------------------------------------------------------------------- one pass


def test_the_pages_are_the_same_in_any_order_and_write_nothing_back(results_file, monkeypatch):
    facts = build(load(results_file))
    figures = {key: f"fig_{key}.png" for key in CHARTS}
    before = pages.render(facts, figures)
    monkeypatch.setattr(pages, "PAGES", dict(reversed(pages.PAGES.items())))
    after = pages.render(facts, figures)
    assert after == before and list(after) == list(reversed(before))
    assert pages.render(facts, figures) == after  # a second lesson from the same facts: unchanged


def test_the_methods_page_lists_the_gaps_of_every_page(results_file, tmp_path):
    raw = json.loads(results_file.read_text())
    raw["benchmarks"] = [b for b in raw["benchmarks"] if b["extra_info"]["kind"] not in ("memory", "jit")]
    path = tmp_path / "results.json"
    path.write_text(json.dumps(raw))
    made = pages.lesson(build(load(path)), {})
    listed = made.pages["methods.md"].split("## What this run did not measure")[1]
    assert made.gaps and all(f"- {gap}" in listed for gap in made.gaps)
    assert "JIT compile time: not measured in this run" in made.gaps  # a gap of the main page's text
    assert any(gap.startswith("the cost of numba_tuned's first use") for gap in made.gaps)  # the planner's


def test_every_page_of_a_quick_run_says_so(results_file, tmp_path):
    raw = json.loads(results_file.read_text())
    raw["machine_info"]["bench_profile"] |= {"name": "quick", "benchmark_min_rounds": 3}
    path = tmp_path / "results.json"
    path.write_text(json.dumps(raw))
    quick = pages.render(build(load(path)), {})
    for page, text in quick.items():
        assert "A quick run (`tox -e report-quick`)" in text and "at least 3 rounds" in text, page
    assert "tox -e report-quick" in quick["methods.md"].split("## Redo it")[1]
    usual = pages.render(build(load(results_file)), {})
    assert not any("A quick run" in text for text in usual.values())


def _degraded(results_file, tmp_path, drop) -> Path:
    raw = json.loads(results_file.read_text())
    raw["benchmarks"] = [b for b in raw["benchmarks"] if not drop(b["extra_info"])]
    path = tmp_path / "degraded.json"
    path.write_text(json.dumps(raw))
    return path


#: Runs that leave claims of every page unmeasured: a rung, the side-by-side and race benchmarks,
#: compilation and memory, the cluster.
DEGRADED = {
    "no-tiled-no-loops": lambda i: i.get("rung") in ("numba_tiled", "python_loops"),
    "no-pairs-no-races": lambda i: i["kind"] in ("paired", "head_to_head", "tuning", "first_fit"),
    "no-jit-no-memory": lambda i: i["kind"] in ("jit", "memory", "curve"),
    "no-cluster-no-float32": lambda i: i.get("rung") == "dask" or i.get("dtype") == "float32",
}


@pytest.mark.parametrize("drop", list(DEGRADED.values()), ids=list(DEGRADED))
def test_the_gaps_the_pages_print_are_the_ones_the_methods_page_lists(results_file, tmp_path, drop):
    """The facts decide the gaps before any page is rendered; the pages print exactly those, in the
    order the methods page lists them (a chart's gap listed once with a section's of the same name)."""
    made = pages.lesson(build(load(_degraded(results_file, tmp_path, drop))), {})
    charts = {gap.lower() for gap in pages.chart_gaps({})}
    printed: dict[str, str] = {}
    for name in pages.PAGES:
        for topic in re.findall(r"_\(Not measured in this run: (.*?)\.\)_", made.pages[name]):
            gap = f"{topic}: not measured in this run"
            printed.setdefault(gap.lower(), gap)
    assert printed and set(printed) <= {gap.lower() for gap in made.gaps}
    listed = [gap for gap in made.gaps if gap.lower() not in charts]
    assert [gap for key, gap in printed.items() if key not in charts] == listed


def test_a_page_prints_no_gap_the_facts_did_not_decide():
    with pytest.raises(ValueError, match="do not list"):
        pages.Gaps(("a topic: not measured in this run",)).gap(Claim("a topic", measured=True))
    with pytest.raises(ValueError, match="do not list"):
        pages.Gaps(()).gap(Claim("another topic", measured=False))
    assert pages.Gaps(("A Topic: not measured in this run",)).gap(Claim("a topic", measured=False)) == (
        "_(Not measured in this run: a topic.)_"
    )


def test_each_page_is_rendered_once_in_any_order_with_its_gaps(results_file, tmp_path, monkeypatch):
    """One render per page (includes are parts of it), and the same lesson whatever the order, gaps
    and all: nothing a page prints depends on a page rendered before it."""
    facts = build(load(_degraded(results_file, tmp_path, DEGRADED["no-jit-no-memory"])))
    renders: list[str] = []
    real = jinja2.Template.render
    monkeypatch.setattr(
        jinja2.Template, "render", lambda self, *a, **k: renders.append(self.name) or real(self, *a, **k)
    )
    before = pages.lesson(facts, {})
    assert sorted(renders) == sorted(pages.PAGES.values())
    monkeypatch.setattr(pages, "PAGES", dict(reversed(pages.PAGES.items())))
    after = pages.lesson(facts, {})
    assert after.gaps == before.gaps and "## What this run did not measure" in after.pages["methods.md"]
    assert after.pages == before.pages and len(renders) == 2 * len(pages.PAGES)
