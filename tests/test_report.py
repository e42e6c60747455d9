"""The report: generated from a small real results file made here, and robust to bad ones."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from bench import report

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def results_file(tmp_path_factory) -> Path:
    """A real results file: the benchmark files at their smallest sizes, timed briefly."""
    path = tmp_path_factory.mktemp("bench") / "results.json"
    command = [
        sys.executable,
        "-m",
        "pytest",
        "bench",
        "--benchmark-only",
        f"--benchmark-json={path}",
        "--benchmark-max-time=0.02",
        "--benchmark-min-rounds=3",
        "-q",
        "-p",
        "no:cacheprovider",
    ]
    # Plan as a user's benchmark run does (measure, into the run's own wisdom file), not as the tests do.
    env = {k: v for k, v in os.environ.items() if k != "LADDER_WISDOM"}
    env.update({"BENCH_PROFILE": "smoke", "LADDER_PLANNING": "measure"})
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return path


@pytest.fixture(scope="module")
def generated(results_file, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report")
    assert report.main([str(results_file), "--out", str(out)]) == 0
    return out


def test_every_chart_is_written_and_referenced(generated):
    lesson = (generated / "README.md").read_text()
    for key in report.CHARTS:
        name = f"fig_{key}.png"
        assert (generated / name).stat().st_size > 10_000, name
        assert f"]({name})" in lesson, name
    assert "Not measured in this run" not in lesson and "Chart not drawn" not in lesson


def test_csv_matches_the_json(results_file, generated):
    raw = json.loads(results_file.read_text())
    table = pd.read_csv(generated / "results.csv")
    assert len(table) == len(raw["benchmarks"])
    by_key = table.set_index(["kind", "rung", "m", "n", "dtype", "threads_setting"])
    for bench in raw["benchmarks"]:
        info = bench["extra_info"]
        rung = info["rung"] if info["kind"] != "roofline" else "roofline"
        key = (info["kind"], rung, info["m"], info["n"], info["dtype"], info.get("threads_setting", "all"))
        row = by_key.loc[key]
        assert row["median_s"] == pytest.approx(bench["stats"]["median"], rel=1e-12)
        # the lesson's time is the best round; the median is kept beside it
        assert row["time_per_epoch_s"] == pytest.approx(bench["stats"]["min"] / info["epochs"], rel=1e-12)
        median = bench["stats"]["median"] / info["epochs"]
        assert row["median_per_epoch_s"] == pytest.approx(median, rel=1e-12)


def test_ladder_table_shows_the_json_times(results_file, generated):
    raw = json.loads(results_file.read_text())
    results = report.load(results_file)
    m, n = report.big_size(results)
    lesson = (generated / "README.md").read_text()
    table = lesson[lesson.index("## The ladder at a glance") : lesson.index("![")]
    for bench in raw["benchmarks"]:
        info = bench["extra_info"]
        if info["kind"] == "descent" and (info["m"], info["n"], info["dtype"]) == (m, n, "float64"):
            if info["threads_setting"] == "all":
                shown = report.fmt_time(bench["stats"]["min"] / info["epochs"])
                row = next(line for line in table.splitlines() if line.startswith(f"| `{info['rung']}`"))
                assert shown in row, (info["rung"], shown, row)


def test_lesson_shows_the_code_that_was_timed(generated):
    lesson = (generated / "README.md").read_text()
    for name in report.IMPLEMENTATIONS:
        assert report.source_of(name) in lesson, name
    assert "$$z = Xw + b" in lesson


def _run_main(path: Path, out: Path, capsys) -> tuple[int, str]:
    code = report.main([str(path), "--out", str(out)])
    return code, capsys.readouterr().err


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
    code, err = _run_main(path, out, capsys)
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
    code, err = _run_main(path, tmp_path / "out", capsys)
    assert code == 0
    lesson = (tmp_path / "out" / "README.md").read_text()
    assert "Not measured in this run" in lesson and "Chart not drawn" in lesson
    assert "### Gaps in this run" in lesson
    assert "gap:" in err
    assert not (tmp_path / "out" / "fig_jit.png").exists()
    assert (tmp_path / "out" / "fig_time_vs_m.png").exists()


def test_results_file_keeps_statistics_not_raw_rounds(results_file):
    raw = json.loads(results_file.read_text())
    for bench in raw["benchmarks"]:
        assert "data" not in bench["stats"], bench["name"]
        assert {"min", "median", "q1", "q3", "rounds"} <= set(bench["stats"])
        assert "UNSERIALIZABLE" not in json.dumps(bench["params"]), bench["name"]
    # the run planned afresh, and its plans (with every candidate's time) are in the file
    assert raw["numba_tuned_wisdom"] and all(entry["best_s"] for entry in raw["numba_tuned_wisdom"])


def test_results_with_the_old_labels_still_load(results_file, tmp_path):
    raw = json.loads(results_file.read_text())
    renamed = {new: old for old, new in report.LABEL_ALIASES.items()}
    for bench in raw["benchmarks"]:
        info = bench["extra_info"]
        info["rung"] = renamed.get(info.get("rung"), info.get("rung"))
    path = tmp_path / "old.json"
    path.write_text(json.dumps(raw))
    rungs = set(report.load(path).table["rung"])
    assert {"numpy_vectorized", "numba_loops", "numba_blocked"} <= rungs
    assert not rungs & set(report.LABEL_ALIASES)


def test_tuning_section_shows_every_plan_of_the_run(results_file, generated):
    raw = json.loads(results_file.read_text())
    lesson = (generated / "README.md").read_text()
    section = lesson[lesson.index("### 9. `numba_tuned`") :]
    plans = [
        b["extra_info"]
        for b in raw["benchmarks"]
        if b["extra_info"]["kind"] == "descent" and b["extra_info"]["rung"] == "numba_tuned"
    ]
    assert plans
    table_lines = [line for line in section.splitlines() if line.startswith("|")]
    rows = [[cell.strip() for cell in line.split("|")[1:-1]] for line in table_lines]
    for info in plans:
        size, threads = report.fmt_size(info["m"], info["n"]), str(info["threads"])
        assert [size, info["dtype"], threads, f"`{info['plan']}`"] in [row[:4] for row in rows], info
    tuning = [b["extra_info"] for b in raw["benchmarks"] if b["extra_info"]["kind"] == "tuning"]
    assert tuning
    for info in tuning:
        assert f"`{info['tuning_choice']}`" in section
        assert set(info["landscape_best_s"]) == {c.name for c in report.numba_tuned.CANDIDATES}


def test_same_kernel_sentence_counts_the_plans_that_were_the_rule_of_thumb(results_file):
    results = report.load(results_file)
    tuned = (results.table["rung"] == "numba_tuned") & (results.table["kind"] == "descent")
    count = int(tuned.sum())
    assert count
    for row in results.table[tuned].itertuples():  # make every plan the rule of thumb ...
        results.table.loc[row.Index, "plan"] = report.numba_tuned.estimate(int(row.n), row.dtype).name
    assert f"At {count} of these {count} points" in report.same_kernel_text(results)
    results.table.loc[tuned, "plan"] = "fused"  # ... then none of them
    assert "At none of these points" in report.same_kernel_text(results)
