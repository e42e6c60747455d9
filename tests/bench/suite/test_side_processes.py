"""The side-by-side points' fresh processes: each answers its rounds, and a process that fails
is one clear error naming the point, not a hang."""

from __future__ import annotations

import time

import pytest

from bench.suite import side_by_side
from bench.suite.harness import Point

DESIGN = side_by_side.Design(min_rounds=3, max_rounds=3, seconds=0.01, probe_s=0.001)
POINT = Point(1_000, 10, "float64", "numpy_vectorized", "all")


def test_a_fresh_process_times_every_rung_and_the_probe_in_each_round():
    answer = side_by_side.in_fresh_process(POINT, ["numpy_vectorized", "numba_loops"], DESIGN)
    assert answer["rounds"] == 3
    assert {name: len(t) for name, t in answer["times_s"].items()} == {
        "numpy_vectorized": 3,
        "numba_loops": 3,
        "roofline": 3,
    }
    assert all(t > 0 for times in answer["times_s"].values() for t in times)


def test_a_process_that_fails_in_its_setup_is_one_error_naming_the_point_without_a_hang():
    start = time.perf_counter()
    with pytest.raises(RuntimeError, match=f"side-by-side process at {POINT.id} failed:\n.*no_such_rung"):
        side_by_side.in_fresh_process(POINT, ["numpy_vectorized", "no_such_rung"], DESIGN)
    assert time.perf_counter() - start < 60
