"""Benchmark profiles: which sizes run, how many epochs a timed round holds, the time budget.

One environment variable picks the profile: ``BENCH_PROFILE=smoke|quick|default|large``
(default: ``default``). ``BENCH_BUDGET_S`` overrides the per-round time budget above
which a slow rung is skipped, with its reason shown. Sizes are append-only so that old
results stay comparable.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Profile:
    name: str
    m_sweep: tuple[int, ...]  # examples, at n = n_fixed
    n_fixed: int
    n_sweep: tuple[int, ...]  # features, at m = m_fixed
    m_fixed: int
    axis_sizes: tuple[tuple[int, int], ...]  # (m, n) where float32 and 1 thread are measured
    n_axis: tuple[int, ...]  # row lengths around the axis size, raced side by side at m = n_axis_m
    n_axis_m: int
    curve_size: tuple[int, int]  # (m, n) of the m sweep where the cost is drawn against time
    epochs: int  # epochs in one timed round
    budget_s: float  # a rung predicted to need longer than this for one round is skipped
    jit_rounds: int
    jit_dtypes: tuple[str, ...] = ("float64", "float32")  # each dtype is a compilation of its own
    tuning_landscape_s: float = 2.0  # timing bound of each candidate landscape (numba_tuned)
    head_to_head_s: float = 3.0  # timing bound of each side-by-side point, spread over its processes ...
    # ... and its least rounds in all: 6 a process, the fewest an interval of one process needs
    head_to_head_rounds: int = 18
    side_processes: int = 3  # fresh processes each side-by-side point runs in (bench_side_by_side.py)
    dask_blocks_per_thread: tuple[int, ...] = (1, 2, 4, 16, 64)  # the dask rung's block-size axis
    # (dtype, threads) measured at the axis sizes, besides the sweeps' float64 on all threads
    axis_settings: tuple[tuple[str, str], ...] = (("float64", "all"), ("float32", "all"), ("float64", "one"))


PROFILES = {
    # Every benchmark once at tiny sizes: what the test suite runs, timing disabled.
    "smoke": Profile(
        name="smoke",
        m_sweep=(100, 1_000),
        n_fixed=10,
        n_sweep=(1, 10),
        m_fixed=100,
        axis_sizes=((1_000, 10),),
        n_axis=(12,),
        n_axis_m=1_000,
        curve_size=(1_000, 10),
        epochs=2,
        budget_s=5.0,
        jit_rounds=1,
        jit_dtypes=("float64",),
        tuning_landscape_s=0.01,
        head_to_head_s=0.01,
        head_to_head_rounds=6,  # 3 a process: the 6 rounds an interval needs, for the tests
        side_processes=2,
        dask_blocks_per_thread=(1, 4),
    ),
    # Benchmarks 733 s on a 2-vCPU EPYC (Zen 4), Numba's cache warm (835 s cold), dask and the shallow
    # sweep included (no torch or jax).
    "default": Profile(
        name="default",
        m_sweep=(100, 1_000, 10_000, 100_000, 1_000_000),
        n_fixed=100,
        n_sweep=(1, 10, 100, 1_000),
        m_fixed=100_000,
        axis_sizes=((1_000_000, 100),),
        # 128 and 112 in the large profile: each point is three processes (~35 s), and the default
        # run's time went to the shallow network's sweep (bench/workloads/shallow)
        n_axis=(96,),
        n_axis_m=1_000_000,
        curve_size=(100_000, 100),
        epochs=3,
        # python_loops at curve_size (the main page's first step) takes ~0.78 s an epoch here: a
        # budget of 3 s lost it twice to predictions 45-60% high in slow spells (bench/FINDINGS.md)
        budget_s=4.0,
        jit_rounds=1,  # a cold compile of numba_tuned takes ~25 s, numba_blocked's ~15 s
        jit_dtypes=("float64",),
    ),
    # The default profile's m sweep and its n sweep up to 100, float64 only, with fewer and shorter
    # rounds: the lesson in 5 minutes on 2 cores from empty caches (Numba compiles every kernel once per
    # dtype, ~35 s for float32), with wider intervals and the float32 and n = 1,000 parts left as gaps
    # (tox -e report-quick also shortens pytest-benchmark's rounds).
    "quick": Profile(
        name="quick",
        m_sweep=(100, 1_000, 10_000, 100_000, 1_000_000),
        n_fixed=100,
        n_sweep=(1, 10, 100),
        m_fixed=100_000,
        axis_sizes=((1_000_000, 100),),
        n_axis=(),
        n_axis_m=1_000_000,
        curve_size=(100_000, 100),
        epochs=1,
        budget_s=0.2,
        jit_rounds=1,
        jit_dtypes=("float64",),
        tuning_landscape_s=0.15,
        head_to_head_s=0.3,
        head_to_head_rounds=8,
        dask_blocks_per_thread=(1, 16),
        axis_settings=(("float64", "all"), ("float64", "one")),
    ),
    # Up to 4e6 x 100 (3.2 GB of float64), and 4e6 short rows where exp starts to matter.
    "large": Profile(
        name="large",
        m_sweep=(100, 1_000, 10_000, 100_000, 1_000_000, 4_000_000),
        n_fixed=100,
        n_sweep=(1, 10, 25, 100, 1_000),
        m_fixed=100_000,
        axis_sizes=((1_000_000, 100), (4_000_000, 25), (4_000_000, 100)),
        n_axis=(96, 112, 128),
        n_axis_m=1_000_000,
        curve_size=(100_000, 100),
        epochs=5,
        budget_s=4.0,
        jit_rounds=3,
        tuning_landscape_s=3.0,
    ),
}


class SettingsError(ValueError):
    """A BENCH_* variable has a value the benchmarks cannot use; the message names it."""


def _budget(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise SettingsError(
            f"BENCH_BUDGET_S must be a number of seconds > 0 (e.g. 3 or 0.5), got {text!r}; "
            "unset it to use the profile's budget"
        )
    return value


def active_profile(environ=os.environ) -> Profile:
    """The profile BENCH_PROFILE names, with BENCH_BUDGET_S applied; SettingsError for a bad value."""
    name = environ.get("BENCH_PROFILE", "default")
    if name not in PROFILES:
        raise SettingsError(f"BENCH_PROFILE must be one of {', '.join(PROFILES)}, got {name!r}")
    profile = PROFILES[name]
    budget = environ.get("BENCH_BUDGET_S")
    if budget is not None:
        profile = Profile(**{**profile.__dict__, "budget_s": _budget(budget)})
    return profile


try:
    PROFILE = active_profile()
    SETTINGS_ERROR: SettingsError | None = None
except SettingsError as exc:  # reported by bench/suite/conftest.py before collection, as a usage error
    PROFILE, SETTINGS_ERROR = PROFILES["default"], exc

#: Learning rate of every benchmarked descent (the data are standardized).
LR = 0.5
#: Seed of the generated data; append new seeds, never change this one.
SEED = 20261127
DTYPES = (np.dtype(np.float64), np.dtype(np.float32))
