"""The side-by-side points' fresh processes: set up at once, timed one after another, and a
process that fails is one clear error, not a hang."""

from __future__ import annotations

import time

import pytest

from bench.suite import side_by_side
from bench.suite.harness import Point

DESIGN = side_by_side.Design(min_rounds=3, max_rounds=3, seconds=0.01, probe_s=0.001)
POINT = Point(1_000, 10, "float64", "numpy_vectorized", "all")


def test_processes_set_up_together_time_one_after_another():
    assert side_by_side.together(POINT, 3)
    answers = side_by_side.in_fresh_processes(POINT, ["numpy_vectorized", "numba_loops"], DESIGN, 3)
    assert len(answers) == 3 and all(a["rounds"] == 3 for a in answers)
    spans = sorted(a["timed"] for a in answers)
    assert all(end <= spans[k + 1][0] for k, (_, end) in enumerate(spans[:-1]))  # never two at once
    assert max(a["setup_from"] for a in answers) < spans[0][0]  # every setup began before any timing


def test_processes_whose_x_do_not_fit_together_set_up_one_after_another(monkeypatch):
    monkeypatch.setattr(side_by_side, "CONCURRENT_BYTES", 1.0)
    assert not side_by_side.together(POINT, 2)
    answers = side_by_side.in_fresh_processes(POINT, ["numpy_vectorized"], DESIGN, 2)
    assert [a["rounds"] for a in answers] == [3, 3]


def test_a_process_that_fails_in_its_setup_is_one_error_naming_the_point_without_a_hang():
    start = time.perf_counter()
    with pytest.raises(RuntimeError, match=f"side-by-side process at {POINT.id} failed:\n.*no_such_rung"):
        side_by_side.in_fresh_processes(POINT, ["numpy_vectorized", "no_such_rung"], DESIGN, 3)
    assert time.perf_counter() - start < 60  # the others, waiting for their go, did not hold it up
