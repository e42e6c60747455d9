"""The tables: the ladder's times and the planner's plans, tuning races and races against the
ladder, each cell as the results file has it, and the CSV beside the lesson."""

from __future__ import annotations

import dataclasses
import json

import pandas as pd
import pytest

from bench.report import fmt, pages
from bench.report.cli import main
from bench.report.facts import build, planner, select
from bench.results import side
from bench.results.load import load
from impls.planner import CANDIDATES, rule_of_thumb
from impls.planner import race as race_module
from tests.bench.report.runs import race_records, read_page, table_rows


def test_csv_matches_the_json(results_file, generated):
    from bench.results.load import POINT_DETAIL

    raw = json.loads(results_file.read_text())
    table = pd.read_csv(generated / "results.csv")
    ladder = [b for b in raw["benchmarks"] if "workload" not in (b.get("extra_info") or {})]
    assert len(table) == len(ladder)  # another workload's records are its page's, not the CSV's
    columns = ["kind", "rung", "m", "n", "dtype", "threads_setting", *POINT_DETAIL]

    def key(values) -> tuple:
        return tuple(None if pd.isna(v) else v for v in values)

    by_key = {key(row[columns]): row for _, row in table.iterrows()}
    assert len(by_key) == len(table)  # every row is one point
    for bench in ladder:
        info = {**bench["extra_info"], "threads_setting": bench["extra_info"].get("threads_setting", "all")}
        if info["kind"] == "roofline":
            info["rung"] = "roofline"
        row = by_key[key(info.get(c) for c in columns)]
        assert row["median_s"] == pytest.approx(bench["stats"]["median"], rel=1e-12)
        # the lesson's time is the best round; the median is kept beside it
        assert row["time_per_epoch_s"] == pytest.approx(bench["stats"]["min"] / info["epochs"], rel=1e-12)
        median = bench["stats"]["median"] / info["epochs"]
        assert row["median_per_epoch_s"] == pytest.approx(median, rel=1e-12)


def test_ladder_table_shows_the_json_times(results_file, generated):
    raw = json.loads(results_file.read_text())
    results = load(results_file)
    m, n = select.big_size(results)
    lesson = (generated / "more-steps.md").read_text()  # the whole ladder's table
    table = "\n".join(line for line in lesson.splitlines() if line.startswith("| `"))
    for bench in raw["benchmarks"]:
        info = bench["extra_info"]
        if info["kind"] == "descent" and (info["m"], info["n"], info["dtype"]) == (m, n, "float64"):
            if info["threads_setting"] == "all":
                shown = fmt.fmt_time(bench["stats"]["min"] / info["epochs"])
                row = next(line for line in table.splitlines() if line.startswith(f"| `{info['rung']}`"))
                assert shown in row, (info["rung"], shown, row)


def test_the_planner_page_shows_every_plan_of_the_run(results_file, generated):
    raw = json.loads(results_file.read_text())
    page = read_page(generated, "planner.md")
    plans = [
        b["extra_info"]
        for b in raw["benchmarks"]
        if b["extra_info"]["kind"] == "descent" and b["extra_info"]["rung"] == "numba_tuned"
    ]
    assert plans
    rows = table_rows(page)
    for info in plans:  # every point, with its data class and the candidate its plan ran
        size, threads = fmt.fmt_size((info["m"], info["n"])), str(info["threads"])
        assert [size, info["dtype"], threads, info["plan_data"], f"`{info['plan']}`"] in [r[:5] for r in rows]
    tuning = [b["extra_info"] for b in raw["benchmarks"] if b["extra_info"]["kind"] == "tuning"]
    assert tuning
    for info in tuning:
        assert f"`{info['tuning_choice']}`" in page
        assert set(info["landscape_best_s"]) == {c.name for c in CANDIDATES}
    for entry in raw["wisdom"]:  # the plans the run ended with: race's choice, and where confirmed
        key = entry["key"]
        cells = [str(key["n"]), key["dtype"], str(key["threads"]), key["data"]]
        confirmed = f"`{entry['confirmed']['choice']}`" if "confirmed" in entry else None
        assert any(
            r[:4] == cells and r[4] == f"`{entry['choice']}`" and confirmed in (None, r[5]) for r in rows
        ), cells


def test_each_tuning_race_keeps_the_rule_of_thumb_unless_it_dropped_and_the_lesson_counts_them(
    results_file, generated, tmp_path
):
    raw = json.loads(results_file.read_text())
    tuning = [b["extra_info"] for b in raw["benchmarks"] if b["extra_info"]["kind"] == "tuning"]
    assert tuning and raw["ladder"]["planner"]["rules"] == dataclasses.asdict(race_module.RULES)
    counts = {"same": 0, "replaced": 0, "kept": 0}
    page = read_page(generated, "planner.md")
    cells = [row[1] for row in table_rows(page) if len(row) > 1]
    for info in tuning:
        estimate, fastest = info["tuning_rule_of_thumb"], info["tuning_fastest"]
        assert estimate == rule_of_thumb(info["n"], info["dtype"]).name
        assert fastest in info["tuning_finalists"] and info["tuning_choice"] in info["tuning_finalists"]
        # the incumbent stays while it runs: only a surely faster kernel drops it
        assert (info["tuning_choice"] == estimate) == (estimate in info["tuning_finalists"])
        way = "same" if fastest == estimate else "kept" if info["tuning_choice"] == estimate else "replaced"
        counts[way] += 1
        phrase = {
            "same": ": the rule of thumb",
            "replaced": f": beat the rule of thumb `{estimate}`",
            "kept": f": the rule of thumb, kept against `{fastest}`",
        }[way]
        assert any(cell.startswith(f"`{info['tuning_choice']}`") and cell.endswith(phrase) for cell in cells)
    assert (
        f"the choice was the rule of thumb itself at {counts['same']} of {len(tuning)} keys, another kernel"
        f" that beat it at {counts['replaced']}, and the rule of thumb kept, the fastest finalist not surely"
        f" faster, at {counts['kept']}."
    ) in page
    # a results file from before the rule of thumb ran in the race: no count and no note in the column
    for bench in raw["benchmarks"]:
        for field in ("tuning_rule_of_thumb", "tuning_fastest"):
            bench["extra_info"].pop(field, None)
    (tmp_path / "old.json").write_text(json.dumps(raw))
    assert main([str(tmp_path / "old.json"), "--out", str(tmp_path / "old")]) == 0
    old = read_page(tmp_path / "old", "planner.md")
    assert "the choice was the rule of thumb itself" not in old and "rule of thumb, kept" not in old


def test_every_race_against_the_ladder_is_tabled_with_how_it_ended(results_file, generated):
    """Each race's row: the planned rung against the rung hardest to beat, by the ratio of their epochs
    in the same rounds (computed here from the file's rounds), and kept within 5% only where the whole
    interval is."""
    races = race_records(results_file)
    page = read_page(generated, "planner.md")
    rows = table_rows(page)
    kept = 0
    for info in races:
        times = info["times_s"]
        assert set(times) == set(info["ladder"]) and "numba_tuned" in times
        assert {len(v) for v in times.values()} == {len(info["probe_s"])}  # every rung ran every round
        # the registry's order: the other rung first (it comes before the planned rung on the ladder)
        ratios = {name: side.ratio(info, name, "numba_tuned") for name in times if name != "numba_tuned"}
        hardest = min(ratios, key=lambda name: ratios[name].estimate)
        r = ratios[hardest]  # the other's epoch over the planned rung's
        outcome = (
            "kept"
            if 1 / r.low <= planner.KEEPS_UP
            else "behind"
            if 1 / r.high > planner.KEEPS_UP
            else "undecided"
        )
        kept += outcome == "kept"
        label = fmt.point_label(info["m"], info["n"], info["dtype"], info["threads_setting"])
        row = next(r for r in rows if r[:2] == [label, str(sum(info["process_rounds"]))])
        assert f"`{info['plan']}`" in row
        longer = (r.estimate, r.low, r.high) if r.estimate >= 1 else (1 / r.estimate, 1 / r.high, 1 / r.low)
        numbers = "{}× ({}–{})".format(*(fmt.number(v) for v in longer))
        word = "level" if r.low <= 1 <= r.high else "slower" if r.high < 1 else "faster"  # the planned rung's
        said = f"level ({numbers.replace('× (', '×, ')} with" if word == "level" else f"{numbers} {word} than"
        assert row[-2] == f"{said} `{hardest}`", row[-2]
        assert (
            row[-1]
            == {
                "kept": "kept within 5%",
                "behind": "**behind by more than 5%**",
                "undecided": "not told apart from the 5% margin",
            }[outcome]
        )
    assert f"kept within 5% of every other rung at {kept} of {len(races)} points." in page


def test_same_kernel_sentence_counts_the_plans_that_were_the_rule_of_thumb(results_file):
    results = load(results_file)
    tuned = (results.table["rung"] == "numba_tuned") & (results.table["kind"] == "descent")
    count = int(tuned.sum())
    assert count
    for row in results.table[tuned].itertuples():  # make every plan the rule of thumb ...
        results.table.loc[row.Index, "plan"] = rule_of_thumb(int(row.n), row.dtype).name
    assert planner.rule_of_thumb_plans(results) == (count, count)
    assert f"At {count} of these {count} points" in pages.render(build(results), {})["planner.md"]
    results.table.loc[tuned, "plan"] = "fused"  # ... then none of them
    assert planner.rule_of_thumb_plans(results) == (0, count)
    assert "At none of these points" in pages.render(build(results), {})["planner.md"]


def test_the_planner_page_lists_the_settings_the_run_recorded_whatever_they_are(results_file):
    results = load(results_file)
    results.ladder.planner.pop("llc_span", None)  # a run before the "llc" class
    results.ladder.planner["a_later_rule"] = 0.25  # a run of a later planner
    text = pages.render(build(results), {})["planner.md"]
    rows = {row[0]: row[1] for row in table_rows(text) if len(row) == 2}
    assert rows["`a_later_rule`"] == "0.25" and "`llc_span`" not in rows
    assert rows["`margin`"] == f"{race_module.RULES.margin:g}" and "an earlier planner" not in text
    for name in dataclasses.asdict(race_module.RULES):  # a run from before the rules
        del results.ladder.planner[name]
    assert "This run was made by an earlier planner" in pages.render(build(results), {})["planner.md"]
