"""Files the benchmarks and the report write, where they cannot be written or are shared.

Each case as a user meets it: a real path under a file, a real folder in the way, two real
processes at once. (The wisdom file's cases are in tests/impls/test_planner.py, the Numba cache's
in tests/impls/test_cache.py, the dask rung's addresses and stores in
tests/impls/test_dask_surroundings.py.)
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench.report.cli import main
from tests.fixture import child_env

ROOT = Path(__file__).resolve().parents[3]
COMMITTED = ROOT / "reports" / "results.json"


def _bench(target: Path) -> subprocess.CompletedProcess:
    command = [
        sys.executable,
        "-m",
        "pytest",
        "bench/suite/bench_descent.py",
        "-k",
        "numpy_vectorized and m100-",
    ]
    command += ["--benchmark-only", f"--benchmark-json={target}", "-q", "-p", "no:cacheprovider"]
    env = child_env(BENCH_PROFILE="smoke", LADDER_PLANNING="estimate")
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env)


@pytest.mark.parametrize("where", ["under-a-file", "a-folder"])
def test_a_results_target_that_cannot_be_written_stops_the_run_before_any_timing(tmp_path, where):
    blocker = tmp_path / "blocker"
    if where == "under-a-file":
        blocker.write_text("a file")
        target = blocker / "results.json"
    else:
        blocker.mkdir()
        target = blocker
    done = _bench(target)
    assert done.returncode == 4, done.stdout[-2000:] + done.stderr[-2000:]  # pytest's usage error
    assert f"--benchmark-json {target}: cannot write there" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr and "passed" not in done.stdout


def test_a_results_target_in_a_folder_not_made_yet_is_made(tmp_path):
    target = tmp_path / "new" / "folder" / "results.json"
    done = _bench(target)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(target.read_text())["benchmarks"]


def test_a_lesson_folder_under_a_file_is_one_line(tmp_path, capsys):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file")
    assert main([str(COMMITTED), "--out", str(blocker / "lesson")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err and str(blocker) in err
    assert blocker.read_text() == "a file"


@pytest.mark.slow
def test_two_reports_into_one_folder_at_once_leave_one_whole_lesson(tmp_path):
    """Each writes into a folder of its own and moves every file into place: the folder ends with
    one report's lesson, whole, never a mix of two."""
    alone = {}
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        shutil.copy(COMMITTED, tmp_path / name / "results.json")
        assert main([str(tmp_path / name / "results.json"), "--out", str(tmp_path / f"alone-{name}")]) == 0
        alone[name] = (tmp_path / f"alone-{name}" / "methods.md").read_text()
    assert alone["a"] != alone["b"]  # each names its own results file on its methods page
    out = tmp_path / "lesson"
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "bench.report", str(tmp_path / name / "results.json"), "--out", str(out)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for name in ("a", "b")
    ]  # fmt: skip
    for process in processes:
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err[-2000:]
    assert (out / "methods.md").read_text() in alone.values()
    assert (out / "README.md").read_text() == (tmp_path / "alone-a" / "README.md").read_text()
    assert not list(tmp_path.glob(".report-*")) and not list(out.glob(".report-*"))
