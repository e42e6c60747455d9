"""The report's fixtures: the committed small results file, and the lesson made from it once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.report.cli import main
from tests.bench.report.runs import FIXTURE, joined


@pytest.fixture(scope="module")
def results_file(tmp_path_factory) -> Path:
    """A copy of the committed small results file (tests/data/results.json, made by
    ``python -m tests.fixture``): every benchmark of the suite at its smallest sizes, timed briefly,
    each side-by-side point's passes joined into one record for the tests to edit (the loader joins
    them the same way: ``tests/bench/test_compare.py`` and ``test_facts.py`` read them unjoined)."""
    path = tmp_path_factory.mktemp("bench") / "results.json"
    path.write_text(json.dumps(joined(json.loads(FIXTURE.read_text()))))
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
