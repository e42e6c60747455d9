"""The shallow network's ladder across the roofline: every rung within the time budget at each
hidden width h, side by side with a read of X and a BLAS matrix product, in fresh processes.

X is the same at every h (m × n of the profile's sweep, larger than the last-level cache in the
default profile, so a read of it is a read from memory); each h is ``PROFILE.side_processes``
passes, one fresh process each, spread over the run with the ladder's (the suite's conftest). A
record per pass holds its rounds; the page (``page.py``) reads a width's passes together.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from bench.results.side import pass_id
from bench.suite.config import PROFILE
from bench.suite.side_by_side import Design, in_fresh_process
from bench.workloads.shallow import FIELDS, NAME, PRODUCT, READ, check
from bench.workloads.shallow.measure import PRODUCT_SIZE, Point, epoch_seconds, measure
from impls.planner.race import RULES
from impls.shallow import IMPLEMENTATIONS

#: (m, n, hidden widths) by profile: the default sweeps h over powers of two from 1 to 256 with an X
#: of 67 MB, twice a large last-level cache. The quick profile leaves the sweep out: its five
#: minutes are the ladder's.
SWEEPS = {
    "smoke": (256, 8, (1, 4)),
    "quick": (16_384, 512, ()),
    "default": (16_384, 512, tuple(2**k for k in range(9))),
    "large": (65_536, 512, tuple(2**k for k in range(10))),
}
M, N, WIDTHS = SWEEPS[PROFILE.name]
POINTS = [Point(M, N, h) for h in WIDTHS]
PASSES = [(k, point) for k in range(PROFILE.side_processes) for point in POINTS]
#: Rows an epoch is timed on to predict it at m (scaled by m / rows): 32 predicted 1.0 s for the
#: interpreted rung's epoch at h = 1 that took 1.4 s. A rung over the budget at one width is not
#: timed again at a wider one (an epoch grows with h).
PREDICT_ROWS = 256
#: Seconds an epoch may take, where the profile's budget over its epochs is not the limit: the
#: default profile's 4 s a round is sized for `python_loops` at the main page's first step, and at
#: 1.33 s an epoch `numba_loops` joins the sweep at h = 128 (33 s of a run that must stay in 15 min).
EPOCH_LIMIT_S = {"default": 1.0}

_LADDERS: dict[Point, list[str]] = {}


def rungs_at(point: Point) -> list[str]:
    """The rungs whose predicted epoch fits the sweep's limit (``EPOCH_LIMIT_S``, else the budget a
    descent's epoch has), decided at the point's first pass and kept (the passes' rounds join only
    where the same rungs ran)."""
    if point not in _LADDERS:
        rows = min(point.m, PREDICT_ROWS)
        limit = EPOCH_LIMIT_S.get(PROFILE.name, PROFILE.budget_s / PROFILE.epochs)
        narrower = [names for p, names in _LADDERS.items() if p.hidden < point.hidden]
        _LADDERS[point] = [
            name
            for name in IMPLEMENTATIONS
            if all(name in names for names in narrower)  # over the budget at a narrower h: over here
            and epoch_seconds(name, point, rows) * point.m / rows <= limit
        ]
    return list(_LADDERS[point])


def design() -> Design:
    """One process's share of the profile's side-by-side rounds and time, as the ladder's points."""
    processes = PROFILE.side_processes
    return Design(
        min_rounds=max(1, math.ceil(PROFILE.head_to_head_rounds / processes)),
        max_rounds=100,
        seconds=PROFILE.head_to_head_s / processes,
        probe_s=RULES.turn_s,
    )


@pytest.mark.parametrize("side_pass, point", PASSES, ids=[f"shallow-{p.id}-{pass_id(k)}" for k, p in PASSES])
def test_shallow_side_by_side(benchmark, side_pass: int, point: Point):
    names = rungs_at(point)
    benchmark.group = "shallow side by side"
    process = benchmark.pedantic(
        lambda: in_fresh_process(point, names, design(), measure), rounds=1, iterations=1
    )
    times = process["times_s"]
    info = {
        "workload": NAME,
        "kind": "side_by_side",
        "m": point.m,
        "n": point.n,
        "dtype": point.dtype,
        "hidden": point.hidden,
        "threads": _threads(),
        "side_pass": side_pass,
        "ladder": names,
        "times_s": {name: times[name] for name in names},
        "probe_s": times[READ],
        "product_s": times[PRODUCT],
        "product_macs": PRODUCT_SIZE**3,
        "macs_per_epoch": 2 * point.m * point.n * point.hidden,
        "bytes_x": point.m * point.n * np.dtype(point.dtype).itemsize,
        "errors": process["errors"],
        "tolerance": {name: IMPLEMENTATIONS[name].tolerance(point.dtype) for name in names},
    }
    benchmark.extra_info.update(check(info, f"shallow at {point.id}"))
    assert set(info) == set(FIELDS)
    for name in names:
        assert process["errors"][name] <= info["tolerance"][name], (
            f"{name} is off by {process['errors'][name]:.3g} from the reference at {point.id}: "
            f"{IMPLEMENTATIONS[name].tolerance.why}"
        )


def _threads() -> int:
    import numba

    return numba.config.NUMBA_NUM_THREADS
