"""The report's fixtures: the committed small results file, and the lesson made from it once."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bench.report.cli import main
from tests.bench.report.runs import FIXTURE


@pytest.fixture(scope="module")
def results_file(tmp_path_factory) -> Path:
    """A copy of the committed small results file (tests/data/results.json, made by
    ``python -m tests.fixture``): every benchmark of the suite at its smallest sizes, timed briefly."""
    path = tmp_path_factory.mktemp("bench") / "results.json"
    shutil.copyfile(FIXTURE, path)
    return path


@pytest.fixture
def no_pictures(monkeypatch):
    """Charts drawn but not rasterised (their files written empty): for tests of the pages alone."""
    from matplotlib.figure import Figure

    monkeypatch.setattr(Figure, "savefig", lambda self, path, *args, **kwargs: Path(path).write_bytes(b""))


@pytest.fixture(scope="module")
def generated(results_file, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report")
    assert main([str(results_file), "--out", str(out)]) == 0
    return out
