"""``python -m bench.compare``: two results files, one line per benchmark, a gate for a CI."""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import ladderstats as stats
from bench import compare
from bench.results import comparison, side
from bench.results.load import load
from bench.results.schema import benchmark_name
from tests.bench.report.runs import joined

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "data" / "results.json"


def _raw() -> dict:
    """The small results file, each side-by-side point's passes one record (as the loader reads it)."""
    return joined(json.loads(FIXTURE.read_text()))


def _write(tmp_path: Path, name: str, raw: dict) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(raw))
    return path


def _slower(raw: dict, name: str, factor: float) -> None:
    """Make one benchmark ``factor`` times slower in every round and statistic."""
    bench = next(b for b in raw["benchmarks"] if b["fullname"] == name)
    stats = bench["stats"]
    stats["data"] = [x * factor for x in stats["data"]]
    for key in ("min", "max", "mean", "median", "q1", "q3", "iqr", "stddev", "total"):
        if isinstance(stats.get(key), float):
            stats[key] *= factor


def _timed(raw: dict, rounds: int = 32) -> str:
    """A descent benchmark that kept ``rounds`` rounds: the one to slow down."""
    return next(
        b["fullname"]
        for b in raw["benchmarks"]
        if b["extra_info"]["kind"] == "descent" and len(b["stats"].get("data") or []) == rounds
    )


def _steady(raw: dict, process_rounds=(6, 6, 6)) -> str:
    """Make the first side-by-side point steady (each rung within 1% over rounds and processes), its
    rounds spread over ``process_rounds``; return the name of its ``numba_loops`` epoch row."""
    race = next(b for b in raw["benchmarks"] if b["extra_info"]["kind"] == "head_to_head")["extra_info"]
    race["process_rounds"] = list(process_rounds)
    total = sum(process_rounds)
    wobble = [1 + 0.002 * ((3 * k) % 5) for k in range(total)]
    for name, times in race["times_s"].items():
        race["times_s"][name] = [times[0] * w for w in wobble]
    race["probe_s"] = [race["probe_s"][0] * w for w in wobble]
    race["race_rounds"] = total
    return side.epoch_name(race, "numba_loops")


def _epoch_slower(raw: dict, factor: float) -> None:
    """``numba_loops`` ``factor`` times slower in every round of the first side-by-side point (the
    one :func:`_steady` made steady; the others keep their own noise and their verdicts)."""
    race = next(b for b in raw["benchmarks"] if b["extra_info"]["kind"] == "head_to_head")["extra_info"]
    race["times_s"]["numba_loops"] = [t * factor for t in race["times_s"]["numba_loops"]]


def _bench(raw: dict, name: str) -> dict:
    return next(b for b in raw["benchmarks"] if b["fullname"] == name)


def _row(out: str, name: str) -> str:
    """The line of one benchmark (named as a results file names it, or as compare prints it)."""
    shown = benchmark_name(name)
    return next(line for line in out.splitlines() if line.startswith(shown + " "))


def test_the_fixture_keeps_rounds_to_compare():
    raw = _raw()
    kept = [b["stats"].get("data") or [] for b in raw["benchmarks"]]
    assert all(0 < len(d) <= 32 for d in kept)
    assert all(float(f"{x:.4g}") == x for d in kept for x in d)  # 4 significant digits


def test_a_file_against_itself_flags_nothing(capsys):
    assert compare.main([str(FIXTURE), str(FIXTURE), "--fail-slower", "5"]) == 0
    out = capsys.readouterr().out
    raw = json.loads(FIXTURE.read_text())
    rows = [line for line in out.splitlines() if line.startswith("bench/")]
    run = load(FIXTURE)
    epochs = side.epochs(run)  # every rung's epoch at every side-by-side point: a row each
    ladder = [b for b in raw["benchmarks"] if "workload" not in b["extra_info"]]
    passes = sum(b["extra_info"].get("side_pass") is not None for b in ladder)
    assert len(run.head_to_head) * 2 == passes  # the smoke profile's two passes a point, one line
    assert len(rows) == len(ladder) - passes // 2 + len(epochs)  # another workload's: not here
    assert "the benchmarks of shallow (another workload) are not compared here" in out
    assert all(" ~ " in row for row in rows)
    assert "geomean" in out and "+0.0%" in out.split("geomean")[1].splitlines()[0]
    assert "0 benchmark(s) slower by more than 5%" in out and "different machines" not in out


def _steady_pair(tmp_path: Path, factor: float, process_rounds=(6, 6, 6)) -> tuple[str, str, str]:
    """Base and new files with one steady side-by-side point, ``numba_loops`` ``factor`` times slower in
    new; and that epoch's row name."""
    raw = _raw()
    name = _steady(raw, process_rounds)
    base = _write(tmp_path, "base.json", raw)
    _epoch_slower(raw, factor)
    return str(base), str(_write(tmp_path, "new.json", raw)), name


def test_one_epoch_half_again_as_slow_in_every_process_fails_the_gate_and_is_named(tmp_path, capsys):
    base, new, name = _steady_pair(tmp_path, 1.5)
    assert compare.main([base, new, "--fail-slower", "5"]) == 1
    out = capsys.readouterr().out
    assert f"SLOWER: {name}: +50.0%" in out
    row = _row(out, name)
    assert " ~ " not in row and "+50.0%" in row and "n=18+18)" in row
    # Without the gate, the same comparison is only a report.
    assert compare.main([base, new]) == 0


def test_a_change_within_the_threshold_passes_the_gate(tmp_path, capsys):
    base, new, _ = _steady_pair(tmp_path, 1.03)
    assert compare.main([base, new, "--fail-slower", "5"]) == 0
    assert "SLOWER" not in capsys.readouterr().out


def test_rounds_of_one_process_a_side_give_no_verdict_and_say_why(tmp_path, capsys):
    """A descent timed in one process: half again as slow in all its 32 rounds, and still no verdict
    from one file a side, since the next process can differ by that much (the line says so)."""
    raw = _raw()
    name = _timed(raw)
    _slower(raw, name, 1.5)
    assert compare.main([str(FIXTURE), str(_write(tmp_path, "new.json", raw)), "--fail-slower", "5"]) == 0
    assert _row(capsys.readouterr().out, name).endswith(f" ~ +50.0%  {comparison.ONE_PROCESS}")


def test_processes_that_disagree_widen_the_interval_past_a_call(tmp_path, capsys):
    """About +50% in the pooled median, but one process of each file far off the others: the
    processes' spread reaches past the change, so nothing is called."""
    raw = _raw()
    name = _steady(raw)
    race = next(b for b in raw["benchmarks"] if b["extra_info"]["kind"] == "head_to_head")["extra_info"]
    loops = list(race["times_s"]["numba_loops"])
    race["times_s"]["numba_loops"] = [t * (1.0, 1.0, 2.0)[k // 6] for k, t in enumerate(loops)]
    base = _write(tmp_path, "base.json", raw)
    race["times_s"]["numba_loops"] = [t * (1.5, 1.5, 0.5)[k // 6] for k, t in enumerate(loops)]
    assert compare.main([str(base), str(_write(tmp_path, "new.json", raw)), "--fail-slower", "5"]) == 0
    row = _row(capsys.readouterr().out, name)
    assert re.search(r" ~ \+4\d\.\d% \(-\d+\.\d% to \+\d+\.\d%, n=18\+18\)$", row), row


def test_another_plan_for_the_planned_rung_is_another_kernel_not_a_change(tmp_path, capsys):
    raw = _raw()
    race = next(b for b in raw["benchmarks"] if b["extra_info"]["kind"] == "head_to_head")["extra_info"]
    before, race["plan"] = race["plan"], "tiled-64k"
    race["times_s"]["numba_tuned"] = [t * 2 for t in race["times_s"]["numba_tuned"]]
    compare.main([str(FIXTURE), str(_write(tmp_path, "new.json", raw)), "--fail-slower", "5"])
    row = _row(capsys.readouterr().out, side.epoch_name(race, "numba_tuned"))
    assert row.endswith(f" ≠ definition changed: plan {before} → tiled-64k")


def test_benchmarks_in_one_file_only_are_listed_and_another_machine_is_said(tmp_path, capsys):
    raw = _raw()
    gone = raw["benchmarks"].pop(0)["fullname"]
    raw["machine_info"]["cpu"]["brand_raw"] = "Another CPU"
    new = _write(tmp_path, "new.json", raw)
    assert compare.main([str(FIXTURE), str(new)]) == 0
    out = capsys.readouterr().out
    assert (
        f"only in base: {benchmark_name(gone)}" in out
        and "different machines" in out
        and "Another CPU" in out
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        ("{not json", "is not valid JSON"),
        ('{"benchmarks": []}', "holds no benchmark of this suite"),
    ],
    ids=["missing", "not-json", "not-ours"],
)
def test_a_bad_file_is_one_line_and_exit_2(tmp_path, capsys, content, message):
    bad = tmp_path / "bad.json"
    if content is not None:
        bad.write_text(content)
    assert compare.main([str(FIXTURE), str(bad)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and str(bad) in err


def test_a_negative_threshold_is_refused(capsys):
    assert compare.main([str(FIXTURE), str(FIXTURE), "--fail-slower", "-5"]) == 2
    assert "--fail-slower must be a percentage >= 0" in capsys.readouterr().err


def test_the_command_line_in_a_process_of_its_own():
    done = subprocess.run(
        [sys.executable, "-m", "bench.compare", str(FIXTURE), str(FIXTURE), "--fail-slower", "5"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 and "geomean" in done.stdout, done.stderr


def _runs(tmp_path: Path, side: str, count: int, slower: str | None = None) -> list[str]:
    """``count`` runs of the fixture, each a little off the others (as reruns are), one benchmark
    ``slower`` by half in every one of them if named."""
    paths = []
    for k in range(count):
        raw = _raw()
        for bench in raw["benchmarks"]:
            _slower(raw, bench["fullname"], 1 + 0.01 * (k - count / 2))  # -2% .. +1%: the runs' drift
        if slower:
            _slower(raw, slower, 1.5)
        paths.append(str(_write(tmp_path, f"{side}{k}.json", raw)))
    return paths


def test_several_runs_a_side_compare_their_medians_and_catch_a_real_change(tmp_path, capsys):
    name = _timed(_raw())
    base, new = _runs(tmp_path, "base", 4), _runs(tmp_path, "new", 4, slower=name)
    assert compare.main(["--base", *base, "--new", *new, "--fail-slower", "5"]) == 1
    out = capsys.readouterr().out
    assert f"SLOWER: {benchmark_name(name)}: +50.0%" in out and "1 benchmark(s) slower by more than 5%" in out
    assert "4 run(s) against 4, each run's median one sample" in out
    assert compare.main(["--base", *base, "--new", *_runs(tmp_path, "same", 4), "--fail-slower", "5"]) == 0


def test_too_few_runs_a_side_call_nothing_and_say_why(tmp_path, capsys):
    name = _timed(_raw())
    base, new = _runs(tmp_path, "base", 3), _runs(tmp_path, "new", 3, slower=name)
    assert compare.main(["--base", *base, "--new", *new, "--fail-slower", "5"]) == 0  # 3 a side: p >= 0.1
    out = capsys.readouterr().out
    assert _row(out, name).endswith(" ~ +50.0%  3 runs: too few for a verdict (4 needed)")


def test_one_file_and_several_runs_cannot_be_mixed_on_a_side(capsys):
    assert compare.main([str(FIXTURE), str(FIXTURE), "--base", str(FIXTURE)]) == 2
    assert "give BASE.json NEW.json, or --base FILE... --new FILE..." in capsys.readouterr().err


def test_calibration_of_a_run_against_itself_holds_everything_and_a_shift_is_seen(tmp_path, capsys):
    assert compare.main([str(FIXTURE), str(FIXTURE), "--calibration"]) == 0
    out = capsys.readouterr().out.split("calibration:")[1]
    races = out.splitlines()[1]
    assert "side-by-side ratios:" in races and "(100%)" in races and "+0.0% either side" in races
    assert "descents" not in out  # two benchmarks timed apart never make a ratio
    raw = _raw()
    for bench in raw["benchmarks"]:  # one compiled rung three times slower everywhere
        info = bench["extra_info"]
        if info["kind"] == "head_to_head":
            info["times_s"]["numba_loops"] = [t * 3 for t in info["times_s"]["numba_loops"]]
    shifted = _write(tmp_path, "shifted.json", raw)
    compare.main([str(FIXTURE), str(shifted), "--calibration"])
    races = capsys.readouterr().out.split("calibration:")[1].splitlines()[1]
    assert "(100%)" not in races and "+200.0% (90th percentile)" in races, races


def test_calibration_takes_one_run_a_side(capsys):
    assert compare.main(["--base", str(FIXTURE), str(FIXTURE), "--new", str(FIXTURE), "--calibration"]) == 2
    assert "--calibration compares two runs" in capsys.readouterr().err


# --- what was timed: a changed definition is another benchmark, never a change in speed ---------


def _curve(raw: dict) -> dict:
    return next(b for b in raw["benchmarks"] if b["extra_info"]["kind"] == "curve")


def test_a_changed_definition_is_named_and_never_a_change_in_speed(tmp_path, capsys):
    raw = _raw()
    curve = _curve(raw)
    epochs = curve["extra_info"]["epochs"]
    curve["extra_info"]["epochs"] = epochs + 4
    _slower(raw, curve["fullname"], 21.6)  # what "+2060%" was: more work, not slower code
    new = _write(tmp_path, "new.json", raw)
    assert compare.main([str(FIXTURE), str(new), "--fail-slower", "5"]) == 0
    out = capsys.readouterr().out
    row = _row(out, curve["fullname"])
    assert row.endswith(f" ≠ definition changed: epochs {epochs} → {epochs + 4}") and "%" not in row
    assert "1 whose definition changed (≠): another benchmark, not compared" in out
    assert "+0.0%" in out.split("geomean")[1].splitlines()[0]  # left out of the mean too
    assert "SLOWER" not in out


def test_measured_values_are_not_the_definition_and_unrecorded_fields_take_their_documented_value():
    from bench.results import definition

    row = {"kind": "optimum", "rung": "r", "m": 10, "n": 2, "dtype": "float64", "epochs": 1, "threads": 2}
    row |= {"threads_setting": "all", "method": "descent", "tolerance": 1e-5, "steps": 50, "final_cost": 0.6}
    same = row | {"steps": 54, "final_cost": 0.61, "max_rel_error": 1e-9}
    assert definition.digest(definition.of(row)) == definition.digest(definition.of(same))
    # a file written before 'relative' was recorded timed the absolute criterion: relative False
    assert definition.differences(definition.of(row), definition.of(row | {"relative": True})) == [
        "relative False → True"
    ]
    paired = row | {"kind": "paired", "probe_threads": 2}
    assert definition.of(paired)["probe_reads"] == 1  # older runs read X once a turn
    assert definition.differences(definition.of(paired), definition.of(paired | {"probe_reads": 16})) == [
        "probe_reads 1 → 16"
    ]
    assert definition.differences(definition.of(row), definition.of(row | {"m": 100_000})) == [
        "m 10 → 100,000"
    ]


def test_every_benchmark_of_an_old_file_has_its_definition():
    old = ROOT / "reports" / "machines" / "intel-xeon-6-167" / "results.json"
    run = load(old)
    assert run.version == 1 and set(run.definitions) == set(run.table["benchmark"])
    assert all({"kind", "rung", "m", "n", "dtype", "epochs"} <= set(d) for d in run.definitions.values())


# --- no verdict from too few rounds; columns and change from one sample -------------------------


@pytest.mark.parametrize(
    ("process_rounds", "called"), [((1, 1, 1), False), ((2, 2, 1), False), ((2, 2, 2), True)]
)
def test_no_verdict_from_fewer_than_six_rounds_and_the_line_says_why(
    tmp_path, capsys, process_rounds, called
):
    rounds = sum(process_rounds)
    base, new, name = _steady_pair(tmp_path, 1.5, process_rounds)
    assert compare.main([base, new, "--fail-slower", "5"]) == int(called)
    row = _row(capsys.readouterr().out, name)
    if called:
        assert "  +50.0% (" in row and f"n={rounds}+{rounds})" in row
    else:
        assert row.endswith(f" ~ +50.0%  {rounds} rounds: too few for a verdict (6 needed)")


def test_the_columns_and_the_change_come_from_the_same_rounds(tmp_path, capsys):
    from bench.results.text import fmt_time

    raw = _raw()
    name = _steady(raw)
    base = _write(tmp_path, "base.json", raw)
    race = next(b for b in raw["benchmarks"] if b["extra_info"]["kind"] == "head_to_head")["extra_info"]
    loops = race["times_s"]["numba_loops"]
    kept = sorted(loops)
    race["times_s"]["numba_loops"] = [x * 1.1 if x >= kept[len(kept) // 2] else x for x in loops]  # slow half
    new = _write(tmp_path, "new.json", raw)
    compare.main([str(base), str(new)])
    row = _row(capsys.readouterr().out, name)
    sample, before = statistics.median(race["times_s"]["numba_loops"]), statistics.median(loops)
    assert f"{fmt_time(before):>10}  {fmt_time(sample):>10}" in row
    assert f"{(sample / before - 1) * 100:+.1f}% (" in row
    found = comparison.compare(load(base), load(new))
    assert all(c.ratio is None or c.ratio.estimate == pytest.approx(c.estimate) for c in found.changes)


# --- the test named, its p shown --------------------------------------------------------------


def test_the_header_names_the_test_and_several_runs_show_their_p(tmp_path, capsys):
    compare.main([str(FIXTURE), str(FIXTURE)])
    out = capsys.readouterr().out
    assert "test: ratio of medians of each file's kept rounds" in out and "p=" not in out
    name = _timed(_raw())
    base, new = _runs(tmp_path, "base", 4), _runs(tmp_path, "new", 4, slower=name)
    compare.main(["--base", *base, "--new", *new])
    out = capsys.readouterr().out
    assert "test: Mann-Whitney U of the runs' medians" in out
    assert "p=0.0286, n=4+4)" in _row(out, name)  # 4 against 4, all apart: 2 / C(8, 4)
    level = next(
        line
        for line in out.splitlines()
        if line.startswith("bench/") and not line.startswith(benchmark_name(name))
    )
    assert " ~ " in level and "p=" in level


def test_the_rank_test_is_exact_for_few_runs_ties_included():
    assert stats.rank_test([1, 2, 3, 4], [5, 6, 7, 8]) == pytest.approx(2 / 70)
    assert stats.rank_test([1, 2, 3, 5], [5, 6, 7, 8]) == pytest.approx(4 / 70)  # one tie, mid-ranks
    assert stats.rank_test([1, 2, 3], [4, 5, 6]) == pytest.approx(0.1)  # why 3 a side cannot call
    assert stats.rank_test([2.0] * 4, [2.0] * 4) == 1.0


# --- machines by what their CPUs are, not their brand -------------------------------------------


def _cpu(tmp_path: Path, name: str, **cpu) -> Path:
    raw = _raw()
    raw["machine_info"]["cpu"].update(cpu)
    return _write(tmp_path, name, raw)


def test_one_brand_of_two_cpu_families_is_two_machines(tmp_path, capsys):
    zen1 = _cpu(tmp_path, "zen1.json", brand_raw="AMD EPYC", family=23, model=1)
    zen4 = _cpu(tmp_path, "zen4.json", brand_raw="AMD EPYC", family=25, model=17)
    compare.main([str(zen1), str(zen4)])
    note = next(line for line in capsys.readouterr().out.splitlines() if "different machines" in line)
    assert "family 23 → 25" in note and "model 1 → 17" in note and "brand" not in note.split("): ")[1]
    compare.main([str(zen4), str(_cpu(tmp_path, "zen4b.json", brand_raw="AMD EPYC", family=25, model=17))])
    assert "different machines" not in capsys.readouterr().out


def test_a_cpu_with_other_flags_is_another_machine_and_a_file_without_a_cpu_cannot_tell(tmp_path, capsys):
    flags = json.loads(FIXTURE.read_text())["machine_info"]["cpu"]["flags"]
    fewer = _cpu(tmp_path, "fewer.json", flags=[f for f in flags if f != "avx2"])
    compare.main([str(FIXTURE), str(fewer)])
    assert "flags −avx2" in capsys.readouterr().out
    raw = _raw()
    del raw["machine_info"]["cpu"]
    compare.main([str(FIXTURE), str(_write(tmp_path, "nocpu.json", raw))])
    assert "cannot tell whether" in capsys.readouterr().out


def test_the_machines_of_the_reports_are_told_apart():
    machines = ROOT / "reports" / "machines"
    text, _ = compare.report(
        load(machines / "amd-epyc-zen1" / "results.json"),
        load(machines / "amd-epyc-zen4" / "results.json"),
        None,
    )
    assert "different machines" in text and "family 23 → 25" in text


# --- calibration: against the 83% honest intervals give ------------------------------------------


def test_calibration_ends_with_what_held_and_says_what_honest_intervals_give(tmp_path, capsys):
    compare.main([str(FIXTURE), str(FIXTURE), "--calibration"])
    out = capsys.readouterr().out.rstrip().splitlines()
    held = re.fullmatch(r"held: (\d+) of (\d+) \(100%\)", out[-1])
    assert held and held[1] == held[2] and int(held[2]) > 0
    assert "about 83%" in out[-2] and "own noise" in out[-2]


def test_two_honest_intervals_hold_each_others_estimate_about_83_percent_of_the_time():
    assert stats.replication_rate() == pytest.approx(0.834, abs=0.001)
    rng = np.random.default_rng(7)
    first, second = rng.normal(size=20_000), rng.normal(size=20_000)  # two runs' estimates, noise 1
    assert np.mean(np.abs(second - first) <= 1.96) == pytest.approx(stats.replication_rate(), abs=0.01)


def test_a_probe_that_moved_between_the_files_is_said_in_the_header(tmp_path, capsys):
    """The probe reads X beside the rungs: where its read moved between the files, so did the
    machine's memory speed, and the header says a change of that size may be the machine's."""
    raw = _raw()
    for bench in raw["benchmarks"]:
        if bench["extra_info"]["kind"] == "head_to_head":
            bench["extra_info"]["probe_s"] = [t * 0.7 for t in bench["extra_info"]["probe_s"]]
    compare.main([str(FIXTURE), str(_write(tmp_path, "new.json", raw))])
    out = capsys.readouterr().out
    assert "note: the probe's read of X moved by -30.0% between the files" in out
    compare.main([str(FIXTURE), str(FIXTURE)])
    assert "the probe's read of X moved" not in capsys.readouterr().out
