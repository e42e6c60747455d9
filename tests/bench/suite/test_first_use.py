"""The first-use check of the planned rung: a shape in a fresh process with an empty wisdom gives its
plan, its confirmation (ended before the rounds that compare the rungs) and ratios with intervals."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.fixture import child_env

ROOT = Path(__file__).resolve().parents[3]


def test_a_shape_is_planned_confirmed_and_compared_in_a_fresh_process(tmp_path):
    out = tmp_path / "first-use.json"
    run = [sys.executable, "-m", "bench.suite.first_use", "--out", str(out), "--shape", "4000,10,float64"]
    run += ["--epochs", "5", "--fits", "2", "--rounds", "6", "--seconds", "0.2"]
    done = subprocess.run(run, cwd=ROOT, env=child_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    (shape,) = json.loads(out.read_text())["shapes"]
    assert shape["shape"] == [4000, 10, "float64"] and shape["data"] == "cache"
    assert shape["confirmed"] is not None  # ended before the rounds: they time the rung warm
    # 5 epochs of 4,000 x 10 last well under one turn of 1 ms: a confirmation with turns to take
    # (six rounds at least) needs more fits than the first, one with none needs no more
    assert (shape["fits_to_confirm"] > 1) == (shape["confirmed"]["rounds"] > 0)
    assert len(shape["choice_fits_before_s"]) == len(shape["choice_fits_s"]) == 2
    ratio, low, high = shape["against_best_other"]
    assert low <= ratio <= high and shape["keeps_up"] == (high <= 1.05)
    assert shape["rounds"] >= 6 and shape["best_other"] in ("numba_fused", "numba_tiled", "numba_blocked")
    assert "4,000 x 10 float64 | cache" in done.stdout
