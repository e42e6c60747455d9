"""The command line: every results file read or refused in one line, all or nothing written, and
the formats of results files it reads."""

from __future__ import annotations

import copy
import json
import re
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.report import pages
from bench.report.cli import main
from bench.report.facts import BUILDS, build, select
from bench.results.load import ResultsError, load
from impls import DISTRIBUTED, IMPLEMENTATIONS, LABEL_ALIASES
from impls.planner import rule_of_thumb
from tests.bench.report.runs import lesson_of, ranked, read_page, run_main


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, r"does not exist"),
        ("", r"is empty"),
        ("{not json", r"is not valid JSON"),
        ('{"machine_info": {}}', r"not a pytest-benchmark results file"),
        ('{"benchmarks": [{"name": "x", "stats": {}}]}', r"holds no benchmark of this suite"),
    ],
    ids=["missing", "empty", "malformed", "no-benchmarks", "foreign-benchmarks"],
)
def test_bad_results_file_gives_a_clear_message(tmp_path, capsys, content, message):
    path = tmp_path / "results.json"
    if content is not None:
        path.write_text(content)
    out = tmp_path / "out"
    code, err = run_main(path, out, capsys)
    assert code == 2
    assert re.search(message, err) and "Traceback" not in err
    assert not out.exists(), "nothing is written from an unusable file"


def test_results_lacking_rungs_and_axes_label_the_gaps(results_file, tmp_path, capsys):
    raw = json.loads(results_file.read_text())
    partial = copy.deepcopy(raw)
    partial["benchmarks"] = [
        b
        for b in raw["benchmarks"]
        if b["extra_info"]["kind"] == "descent"
        and b["extra_info"]["rung"] not in ("numba_tiled", "python_loops")
        and b["extra_info"]["dtype"] == "float64"
    ]
    path = tmp_path / "partial.json"
    path.write_text(json.dumps(partial))
    code, err = run_main(path, tmp_path / "out", capsys)
    assert code == 0
    lesson = lesson_of(tmp_path / "out")
    assert "Not measured in this run" in lesson and "Chart not drawn" in lesson
    assert "## What this run did not measure" in read_page(tmp_path / "out", "methods.md")
    assert "gap:" in err
    assert not (tmp_path / "out" / "fig_jit.png").exists()
    assert (tmp_path / "out" / "fig_time_vs_m.png").exists()


def test_results_file_keeps_statistics_and_a_sample_of_rounds(results_file):
    raw = json.loads(results_file.read_text())
    for bench in raw["benchmarks"]:
        kept = bench["stats"]["data"]
        assert 1 <= len(kept) <= min(32, bench["stats"]["rounds"]), bench["name"]
        assert min(kept) == pytest.approx(bench["stats"]["min"], rel=1e-3) or len(kept) == 32
        assert {"min", "median", "q1", "q3", "rounds"} <= set(bench["stats"])
        assert "UNSERIALIZABLE" not in json.dumps(bench["params"]), bench["name"]
    # the run planned afresh, and its plans (with every candidate's time) are in the file
    assert raw["wisdom"] and all(entry["best_s"] for entry in raw["wisdom"])


def test_results_with_the_old_labels_still_load(results_file, tmp_path):
    raw = json.loads(results_file.read_text())
    renamed = {new: old for old, new in LABEL_ALIASES.items()}
    for bench in raw["benchmarks"]:
        info = bench["extra_info"]
        info["rung"] = renamed.get(info.get("rung"), info.get("rung"))
    path = tmp_path / "old.json"
    path.write_text(json.dumps(raw))
    rungs = set(load(path).table["rung"])
    assert {"numpy_vectorized", "numba_loops", "numba_blocked"} <= rungs
    assert not rungs & set(LABEL_ALIASES)


def test_each_results_file_is_loaded_and_its_facts_built_once(
    results_file, tmp_path, monkeypatch, no_pictures
):
    """The lesson of a run and of two other machines: three files, three loads, three sets of facts."""
    from bench.results import load as load_module

    machines = tmp_path / "machines"
    for name in ("cpu a", "cpu b"):
        (machines / name).mkdir(parents=True)
        shutil.copyfile(results_file, machines / name / "results.json")
    loads = []
    real_load = load_module.load
    monkeypatch.setattr(load_module, "load", lambda *a, **k: loads.append(a[0]) or real_load(*a, **k))
    monkeypatch.setattr("bench.report.cli.load", load_module.load)
    before = BUILDS["count"]
    assert main([str(results_file), "--out", str(tmp_path / "out"), "--machines", str(machines)]) == 0
    assert sorted(map(str, loads)) == sorted(map(str, [results_file, *machines.glob("*/results.json")]))
    assert BUILDS["count"] - before == 3


def test_machines_side_by_side(results_file, tmp_path, capsys):
    raw = json.loads(results_file.read_text())
    (tmp_path / "machines" / "other-cpu").mkdir(parents=True)
    (tmp_path / "machines" / "other-cpu" / "results.json").write_text(json.dumps(ranked(raw, 2.0)))
    (tmp_path / "here.json").write_text(json.dumps(ranked(raw, 0.5)))
    folder = str(tmp_path / "machines")
    code = main([str(tmp_path / "here.json"), "--out", str(tmp_path), "--machines", folder])
    assert code == 0, capsys.readouterr().err
    page = (tmp_path / "machines" / "README.md").read_text()
    assert "other-cpu" in page and "](other-cpu/README.md)" in page and "](../README.md)" in page
    assert (tmp_path / "machines" / "fig_machines.png").stat().st_size > 10_000
    # Each machine's leader, named with the side-by-side ratio that makes it so; a cluster's rung is
    # not compared (it never runs side by side).
    order = [r for r in IMPLEMENTATIONS if r not in DISTRIBUTED]
    differs = page.split("## What differs")[1]
    assert re.search(
        rf"on this run, `{order[-1]}`, [\d.]+× \([\d.]+–[\d.]+\) faster than `{order[-2]}`", differs
    )
    assert re.search(
        rf"on other-cpu, `{order[0]}`, [\d.]+× \([\d.]+–[\d.]+\) faster than `{order[1]}`", differs
    )
    assert "No rung leads on every machine." in differs and "`dask`" not in differs
    assert (tmp_path / "machines" / "other-cpu" / "README.md").exists()
    assert "](machines/README.md)" in (tmp_path / "README.md").read_text()


def test_paths_with_spaces_work_in_the_lesson(results_file, tmp_path, no_pictures):
    folder = tmp_path / "my runs" / "run 1"
    folder.mkdir(parents=True)
    (folder / "results file.json").write_text(results_file.read_text())
    machines = tmp_path / "my runs" / "other machines"
    (machines / "cpu a").mkdir(parents=True)
    (machines / "cpu a" / "results.json").write_text(results_file.read_text())
    out = folder / "lesson out"
    assert main([str(folder / "results file.json"), "--out", str(out), "--machines", str(machines)]) == 0
    lesson = (out / "README.md").read_text()
    assert "[`results file.json`](results%20file.json)" in lesson
    assert f'python -m bench.report "{folder / "results file.json"}"' in (out / "methods.md").read_text()
    link = re.search(r"- \[The machines compared\]\(([^)]*)\)", lesson).group(1)
    assert (
        " " not in link and (out / link.replace("%20", " ")).resolve() == (machines / "README.md").resolve()
    )
    page = (machines / "README.md").read_text()
    assert "](cpu%20a/README.md)" in page


# --------------------------------------------------------------------------- the schema


def test_schema_refuses_what_the_benchmarks_must_not_write():
    from bench.results.schema import SchemaError, record

    point = {"rung": "numba_fused", "m": 10, "n": 2, "dtype": "float64", "epochs": 1}
    assert record("jit", **point)["kind"] == "jit"
    with pytest.raises(SchemaError, match="missing field 'epochs'"):
        record("jit", **{k: v for k, v in point.items() if k != "epochs"})
    with pytest.raises(SchemaError, match="not in the schema: epoch_count"):
        record("jit", **point, epoch_count=3)
    with pytest.raises(SchemaError, match="'m' must be int"):
        record("jit", **{**point, "m": "10"})
    with pytest.raises(SchemaError, match="unknown benchmark kind"):
        record("descents", **point)


def test_a_renamed_key_is_an_error_naming_file_and_benchmark(results_file, tmp_path, capsys):
    raw = json.loads(results_file.read_text())
    bench = next(b for b in raw["benchmarks"] if b["extra_info"]["kind"] == "descent")
    bench["extra_info"]["bytes_of_x"] = bench["extra_info"].pop("bytes_x")
    path = tmp_path / "renamed.json"
    path.write_text(json.dumps(raw))
    code, err = run_main(path, tmp_path / "out", capsys)
    assert code == 2 and "Traceback" not in err
    assert str(path) in err and bench["name"] in err and "'bytes_x'" in err
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- all or nothing


def _first(raw: dict, kind: str) -> dict:
    return next(b for b in raw["benchmarks"] if b["extra_info"]["kind"] == kind)


def _set_stat(key, value):
    def change(raw):
        _first(raw, "descent")["stats"][key] = value

    return change


def _duplicate(raw):
    raw["benchmarks"].append(copy.deepcopy(_first(raw, "descent")))


def _machine_field(raw):
    raw["machine_info"]["cpu_count"] = "two"


BROKEN = [
    ("nan-time", _set_stat("min", float("nan")), r"min time is nan, not a positive number"),
    ("zero-time", _set_stat("median", 0.0), r"median time is 0.0, not a positive number"),
    ("negative-time", _set_stat("q1", -1.0), r"q1 time is -1.0, not a positive number"),
    ("string-time", _set_stat("min", "fast"), r"stats has no numeric 'min'"),
    ("duplicate", _duplicate, r"two benchmarks measure the same point"),
    ("machine-type", _machine_field, r"machine_info 'cpu_count' must be int"),
]


@pytest.mark.parametrize(("change", "message"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_a_bad_results_file_leaves_out_exactly_as_it_was(results_file, tmp_path, capsys, change, message):
    raw = json.loads(results_file.read_text())
    change(raw)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(raw))
    out = tmp_path / "out"
    out.mkdir()
    (out / "README.md").write_text("the last good lesson\n")
    code, err = run_main(path, out, capsys)
    assert code == 2 and re.search(message, err), err
    assert len(err.strip().splitlines()) == 1 and str(path) in err
    assert [p.name for p in out.iterdir()] == ["README.md"]
    assert (out / "README.md").read_text() == "the last good lesson\n"
    assert not list(tmp_path.glob(".report-*"))


@pytest.mark.parametrize("kind", ["empty", "file", "folder-results", "not-utf8"])
def test_bad_paths_are_one_line_errors(results_file, tmp_path, capsys, kind):
    out, results = str(tmp_path / "out"), str(results_file)
    if kind == "empty":
        out = ""
    elif kind == "file":
        out = str(results_file)
    elif kind == "folder-results":
        results = str(tmp_path)
    else:
        (tmp_path / "latin1.json").write_bytes("{'é'}".encode("latin-1"))
        results = str(tmp_path / "latin1.json")
    code = main([results, "--out", out])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err


def test_a_wrong_answer_is_listed_and_never_ranked(results_file, tmp_path, capsys):
    raw = json.loads(results_file.read_text())
    wrong = next(
        b
        for b in raw["benchmarks"]
        if b["extra_info"]["kind"] == "descent" and b["extra_info"]["rung"] == "numba_tuned"
    )
    wrong["extra_info"]["max_rel_error"] = 0.5  # far outside its tolerance: a fast wrong rung
    wrong["stats"].update(min=1.2345e-9, median=1.2345e-9, q1=1.2345e-9, q3=1.2345e-9)
    failed = next(b for b in raw["benchmarks"] if b["extra_info"]["kind"] == "memory")
    raw["ladder_run"] = {
        "complete": True,
        "exit_status": 1,
        "failed": {failed["fullname"]: "boom"},
        "not_run": [],
    }
    path = tmp_path / "wrong.json"
    path.write_text(json.dumps(raw))
    code, err = run_main(path, tmp_path / "out", capsys)
    assert code == 0
    assert f"FAILED in {path}: {wrong['name']}" in err and failed["fullname"] in err
    for page in pages.PAGES:  # listed at the top of every page
        text = (tmp_path / "out" / page).read_text()
        failures = text[text.index("benchmark(s) of this run failed") : text.index("\n\n#")]
        assert wrong["name"] in failures and failed["fullname"] in failures
    assert "1.2345e-09" not in (tmp_path / "out" / "results.csv").read_text()
    results = load(path)
    info = wrong["extra_info"]
    point = (info["m"], info["n"], info["dtype"], info["threads_setting"])
    assert select.at(results, "numba_tuned", *point) is None


# --------------------------------------------------------------------------- results of other formats


def test_a_results_file_of_a_newer_format_is_one_line_saying_so(results_file, tmp_path, capsys):
    raw = json.loads(results_file.read_text())
    raw["results_version"] = 99
    path = tmp_path / "future.json"
    path.write_text(json.dumps(raw))
    code, err = run_main(path, tmp_path / "out", capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "of format 99, newer than this report reads" in err and "tox -e bench" in err


@pytest.mark.parametrize(
    "damage",
    [
        lambda ladder: ladder.pop("roles"),
        lambda ladder: ladder["rungs"].pop(ladder["order"][0]),
        lambda ladder: ladder["rungs"][ladder["order"][0]].update(summary=7),
        lambda ladder: ladder.update(order="python_loops"),
    ],
    ids=["no-roles", "undescribed-rung", "summary-not-text", "order-not-a-list"],
)
def test_a_malformed_record_of_the_ladder_is_one_line(results_file, tmp_path, capsys, damage):
    raw = json.loads(results_file.read_text())
    damage(raw["ladder"])
    path = tmp_path / "bad-ladder.json"
    path.write_text(json.dumps(raw))
    code, err = run_main(path, tmp_path / "out", capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert str(path) in err and "'ladder'" in err


def test_a_results_file_of_format_1_loads_without_code(results_file, tmp_path):
    """Files written before runs recorded their code: the ladder of format 1, its fields renamed since."""
    raw = json.loads(results_file.read_text())
    for key in ("results_version", "ladder"):
        del raw[key]
    for bench in raw["benchmarks"]:
        info = bench["extra_info"]
        if "tuning_rule_of_thumb" in info:
            info["tuning_estimate"] = info.pop("tuning_rule_of_thumb")
        info.pop("plan_rule_of_thumb", None)
    path = tmp_path / "old.json"
    path.write_text(json.dumps(raw))
    results = load(path)
    assert results.version == 1 and not results.ladder.code_recorded
    assert results.ladder.planned == "numba_tuned" and results.ladder.baseline == "python_loops"
    assert all(e["tuning_rule_of_thumb"] for e in results.tuning)
    tuned = results.table[(results.table["rung"] == "numba_tuned") & results.table["plan"].notna()]
    for row in tuned.itertuples():  # format 1's rule of thumb is today's: the same names
        assert row.plan_rule_of_thumb == rule_of_thumb(int(row.n), row.dtype).name
    text = "".join(pages.render(build(results), {}).values())
    assert "did not record the code it timed" in text and "```python" not in text


# --------------------------------------------------------------------------- however the file is malformed


def test_a_pathologically_nested_results_file_is_one_line(tmp_path, capsys):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    code, err = run_main(path, tmp_path / "out", capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert str(path) in err and "nests its values too deeply" in err


_ODD_VALUES = [None, "", "x", 0, -1, 1.5, 10**400, float("nan"), True, [], {}, [[]], {"a": {}}, [1, "x"]]


@pytest.mark.slow
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_results_file_damaged_anywhere_is_reported_or_refused_in_one_line(results_file, tmp_path, data):
    """Replace one value anywhere in a real results file by one of another kind: the report either reads
    it or refuses it with a ResultsError; it never fails with another exception."""
    raw = json.loads(results_file.read_text())
    node = raw
    while True:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        if not keys:
            break
        key = data.draw(st.sampled_from(keys))
        child = node[key]
        if not isinstance(child, dict | list) or not child or data.draw(st.booleans()):
            node[key] = data.draw(st.sampled_from(_ODD_VALUES))
            break
        node = child
    path = tmp_path / "damaged.json"
    path.write_text(json.dumps(raw))
    try:
        results = load(path)
    except ResultsError as exc:
        assert str(path) in str(exc) and "\n" not in str(exc)
        return
    pages.render(build(results), {})  # what it could read, it can report
