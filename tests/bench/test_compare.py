"""``python -m bench.compare``: two results files, one line per benchmark, a gate for a CI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench import compare

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "data" / "results.json"


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


def _timed(raw: dict) -> str:
    """A descent benchmark that kept several rounds: the one to slow down."""
    return next(
        b["fullname"]
        for b in raw["benchmarks"]
        if b["extra_info"]["kind"] == "descent" and len(b["stats"].get("data") or []) >= 5
    )


def test_the_fixture_keeps_rounds_to_compare():
    raw = json.loads(FIXTURE.read_text())
    kept = [b["stats"].get("data") or [] for b in raw["benchmarks"]]
    assert all(0 < len(d) <= 32 for d in kept)
    assert all(float(f"{x:.4g}") == x for d in kept for x in d)  # 4 significant digits


def test_a_file_against_itself_flags_nothing(capsys):
    assert compare.main([str(FIXTURE), str(FIXTURE), "--fail-slower", "5"]) == 0
    out = capsys.readouterr().out
    raw = json.loads(FIXTURE.read_text())
    rows = [line for line in out.splitlines() if line.startswith("bench/")]
    assert len(rows) == len(raw["benchmarks"]) and all(" ~ " in row for row in rows)
    assert "geomean" in out and "+0.0%" in out.split("geomean")[1].splitlines()[0]
    assert "0 benchmark(s) slower by more than 5%" in out and "different machines" not in out


def test_one_benchmark_half_again_as_slow_fails_the_gate_and_is_named(tmp_path, capsys):
    raw = json.loads(FIXTURE.read_text())
    name = _timed(raw)
    _slower(raw, name, 1.5)
    new = _write(tmp_path, "new.json", raw)
    assert compare.main([str(FIXTURE), str(new), "--fail-slower", "5"]) == 1
    out = capsys.readouterr().out
    assert f"SLOWER: {name}: +50.0%" in out
    row = next(line for line in out.splitlines() if line.startswith(name + " "))
    assert " ~ " not in row and "+50.0%" in row
    # Without the gate, the same comparison is only a report.
    assert compare.main([str(FIXTURE), str(new)]) == 0


def test_a_change_within_the_threshold_passes_the_gate(tmp_path, capsys):
    raw = json.loads(FIXTURE.read_text())
    _slower(raw, _timed(raw), 1.03)
    new = _write(tmp_path, "new.json", raw)
    assert compare.main([str(FIXTURE), str(new), "--fail-slower", "5"]) == 0
    assert "SLOWER" not in capsys.readouterr().out


def test_benchmarks_in_one_file_only_are_listed_and_another_machine_is_said(tmp_path, capsys):
    raw = json.loads(FIXTURE.read_text())
    gone = raw["benchmarks"].pop(0)["fullname"]
    raw["machine_info"]["cpu"]["brand_raw"] = "Another CPU"
    new = _write(tmp_path, "new.json", raw)
    assert compare.main([str(FIXTURE), str(new)]) == 0
    out = capsys.readouterr().out
    assert f"only in base: {gone}" in out and "different machines" in out and "Another CPU" in out


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
        raw = json.loads(FIXTURE.read_text())
        for bench in raw["benchmarks"]:
            _slower(raw, bench["fullname"], 1 + 0.01 * (k - count / 2))  # -2% .. +1%: the runs' drift
        if slower:
            _slower(raw, slower, 1.5)
        paths.append(str(_write(tmp_path, f"{side}{k}.json", raw)))
    return paths


def test_several_runs_a_side_compare_their_medians_and_catch_a_real_change(tmp_path, capsys):
    name = _timed(json.loads(FIXTURE.read_text()))
    base, new = _runs(tmp_path, "base", 4), _runs(tmp_path, "new", 4, slower=name)
    assert compare.main(["--base", *base, "--new", *new, "--fail-slower", "5"]) == 1
    out = capsys.readouterr().out
    assert f"SLOWER: {name}: +50.0%" in out and "1 benchmark(s) slower by more than 5%" in out
    assert "4 run(s) against 4, each run's median one sample" in out
    assert compare.main(["--base", *base, "--new", *_runs(tmp_path, "same", 4), "--fail-slower", "5"]) == 0


def test_too_few_runs_a_side_call_nothing(tmp_path, capsys):
    name = _timed(json.loads(FIXTURE.read_text()))
    base, new = _runs(tmp_path, "base", 3), _runs(tmp_path, "new", 3, slower=name)
    assert compare.main(["--base", *base, "--new", *new, "--fail-slower", "5"]) == 0  # 3 a side: p >= 0.1
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith(name))
    assert " ~ +50.0% (" in row and "+∞" in row


def test_one_file_and_several_runs_cannot_be_mixed_on_a_side(capsys):
    assert compare.main([str(FIXTURE), str(FIXTURE), "--base", str(FIXTURE)]) == 2
    assert "give BASE.json NEW.json, or --base FILE... --new FILE..." in capsys.readouterr().err


def test_calibration_of_a_run_against_itself_holds_everything_and_a_shift_is_seen(tmp_path, capsys):
    assert compare.main([str(FIXTURE), str(FIXTURE), "--calibration"]) == 0
    out = capsys.readouterr().out.split("calibration:")[1]
    races, descents = out.splitlines()[1:3]
    assert "same-round races:" in races and "(100%)" in races and "+0.0% either side" in races
    assert "descents:" in descents and "(100%)" in descents
    raw = json.loads(FIXTURE.read_text())
    for bench in raw["benchmarks"]:  # one compiled rung a third slower everywhere
        info = bench["extra_info"]
        if info.get("rung") == "numba_loops" and info["kind"] == "descent":
            _slower(raw, bench["fullname"], 1.5)
        if info["kind"] == "head_to_head":
            info["times_s"]["numba_loops"] = [t * 1.5 for t in info["times_s"]["numba_loops"]]
    shifted = _write(tmp_path, "shifted.json", raw)
    compare.main([str(FIXTURE), str(shifted), "--calibration"])
    races = capsys.readouterr().out.split("calibration:")[1].splitlines()[1]
    assert "(100%)" not in races and "+50.0% (90th percentile)" in races, races


def test_calibration_takes_one_run_a_side(capsys):
    assert compare.main(["--base", str(FIXTURE), str(FIXTURE), "--new", str(FIXTURE), "--calibration"]) == 2
    assert "--calibration compares two runs" in capsys.readouterr().err
