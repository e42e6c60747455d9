"""What the benchmarks share: the points to time, thread control, the budget and the answer check."""

from __future__ import annotations

import itertools
import os
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass

import numba
import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from bench.results.schema import ROOFLINE
from bench.suite.config import LR, Profile
from bench.suite.data import get_data, reference_answer, start_weights
from impls import IMPLEMENTATIONS, Rung, relative_error


@dataclass(frozen=True, order=True)
class Point:
    """One timed configuration: a rung (or the probe), a size, a dtype and a thread setting."""

    m: int
    n: int
    dtype: str
    rung: str
    threads: str  # "all" or "one"

    @property
    def id(self) -> str:
        return f"{self.rung}-m{self.m}-n{self.n}-{self.dtype}-{self.threads}threads"


def uses_threads(name: str) -> str | None:
    return "numba" if name == ROOFLINE else IMPLEMENTATIONS[name].uses_threads


def supports(name: str, dtype: np.dtype) -> bool:
    return name == ROOFLINE or IMPLEMENTATIONS[name].supports(dtype)


def points(profile: Profile, names: list[str]) -> list[Point]:
    """Every point of the m sweep, the n sweep and the dtype and thread axes, each once, by size."""
    found: set[Point] = set()
    for name in names:
        for m in profile.m_sweep:
            found.add(Point(m, profile.n_fixed, "float64", name, "all"))
        for n in profile.n_sweep:
            found.add(Point(profile.m_fixed, n, "float64", name, "all"))
        for (m, n), (dtype, threads) in itertools.product(profile.axis_sizes, profile.axis_settings):
            if not supports(name, np.dtype(dtype)):
                continue
            if threads == "one" and uses_threads(name) in (None, "dask"):  # a cluster's workers: its own
                continue
            found.add(Point(m, n, dtype, name, threads))
    # Largest data first, grouped by size, so each data set is generated once.
    return sorted(found, key=lambda p: (-p.m * p.n, p.m, p.dtype, list(names).index(p.rung), p.threads))


def threads_of(name: str, threads: str) -> int:
    """How many threads the rung (or the probe) runs on at the setting ``threads`` ("all" or "one")."""
    kind = uses_threads(name)
    if kind is None or threads == "one":
        return 1
    if kind == "numba":
        return numba.config.NUMBA_NUM_THREADS
    if kind == "torch":
        return _torch().get_num_threads()
    if kind == "dask":
        from impls import dask  # registered only where distributed is installed

        return dask.worker_threads()
    return os.cpu_count() or 1


def _torch():
    import torch  # only for the torch rung, which is registered only where torch imports

    return torch


def needs_own_process(name: str, threads: str) -> bool:
    """Whether this thread setting of the rung needs a process pinned to one CPU (bench.suite.pinned)."""
    return threads == "one" and uses_threads(name) == "xla"


def own_process_or_skip(name: str, threads: str) -> bool:
    """:func:`needs_own_process`, skipping the point where this system cannot pin a process."""
    if not needs_own_process(name, threads):
        return False
    from bench.suite.pinned import available

    reason = available()
    if reason:
        pytest.skip(f"{name} on one thread: {reason}")
    return True


@contextmanager
def limited_threads(name: str, threads: str):
    """Run with one thread or all, for BLAS (threadpoolctl), Numba or PyTorch, as the rung uses them.

    XLA sizes its CPU thread pool when JAX starts: its one-thread points run in a process of
    their own (:func:`needs_own_process`, :mod:`bench.suite.pinned`), never here.
    """
    kind = uses_threads(name)
    if needs_own_process(name, threads):
        raise RuntimeError(f"{name} cannot change its threads in this process: use bench.suite.pinned")
    count = threads_of(name, threads)
    if kind == "blas":
        with threadpool_limits(limits=count, user_api="blas"):
            yield count
    elif kind == "torch":
        before = _torch().get_num_threads()
        _torch().set_num_threads(count)
        try:
            yield count
        finally:
            _torch().set_num_threads(before)
    elif kind == "numba":
        before = numba.get_num_threads()
        numba.set_num_threads(count)
        try:
            yield count
        finally:
            numba.set_num_threads(before)
    else:
        yield count


SLOPE_SAMPLE_S = 0.02  # the budget predictor's larger sample runs at least this long, if m allows


def _epoch_seconds(rung: Rung, X: np.ndarray, y: np.ndarray, dtype: np.dtype) -> float:
    # From the same w as the timed rounds: from w = 0 an epoch of the exp-bound rungs is cheaper.
    problem = rung.validate(X, y, lr=LR, epochs=1, w0=start_weights(X.shape[1]), dtype=dtype)
    state = rung.prepare(problem)
    rung.run(state, problem)  # compile first, if the rung is JIT-compiled
    best = float("inf")
    for calls in range(1, 6):
        # Best of a few calls: a call on 1000 rows can take microseconds, and one hiccup then
        # predicts seconds (a large-profile run once skipped a 0.5 s point as "4.7 s"); of two
        # at least, however long (one 60% slow call once dropped a point at the budget's edge).
        start = time.perf_counter()
        rung.run(state, problem)
        elapsed = time.perf_counter() - start
        best = min(best, elapsed)
        if calls >= 2 and best > 0.05:  # slow enough that two calls are a fair sample
            break
    return best


def predicted_round_s(rung: Rung, m: int, n: int, dtype: np.dtype, epochs: int) -> float:
    """Seconds one timed round should take: a line through one epoch on a few and on more rows.

    The intercept is the per-call cost (thread start-up, Python overhead), the slope the
    cost per example; only the slope is multiplied by m. The larger sample grows tenfold
    (from 1000 rows, at most m) until one epoch on it takes SLOPE_SAMPLE_S: a slope taken
    over microseconds is at the mercy of one hiccup, which once predicted 11 s for a round
    of about 1.5 s.
    """
    X, y = get_data(m, n, dtype)
    small, large = min(m, 100), min(m, 1000)
    t_small = _epoch_seconds(rung, X[:small], y[:small], dtype)
    if large == small:
        return t_small * epochs
    t_large = _epoch_seconds(rung, X[:large], y[:large], dtype)
    while t_large < SLOPE_SAMPLE_S and large < m:
        large = min(m, 10 * large)
        t_large = _epoch_seconds(rung, X[:large], y[:large], dtype)
    per_row = max(t_large - t_small, 0.0) / (large - small)
    return (t_small + per_row * (m - small)) * epochs


def skip_if_over_budget(rung: Rung, point: Point, profile: Profile) -> None:
    predicted = predicted_round_s(rung, point.m, point.n, np.dtype(point.dtype), profile.epochs)
    if predicted > profile.budget_s:
        pytest.skip(
            f"{rung.name} at m={point.m}, n={point.n}: one round of {profile.epochs} epochs would take "
            f"~{predicted:.3g} s, over the budget of {profile.budget_s:g} s (BENCH_BUDGET_S)"
        )


def answer_error(result, point: Point, epochs: int) -> float:
    """The timed call's normwise distance from the float64 reference rung's answer."""
    expected = reference_answer(point.m, point.n, epochs)
    return relative_error(result, expected.w, expected.b, expected.costs)


def assert_answer(rung: Rung, error: float, point: Point) -> None:
    """A fast wrong rung fails here, after its record (error and tolerance) is written."""
    tolerance = rung.tolerance(point.dtype)
    assert error <= tolerance, (
        f"{rung.name} is off by {error:.3g} (> {tolerance:g}) from the float64 reference rung at "
        f"m={point.m}, n={point.n}, {point.dtype}: {rung.tolerance.why}"
    )


def size_info(point: Point, epochs: int, threads: int) -> dict:
    """What the report needs to turn a time into time per epoch and bytes per second."""
    itemsize = np.dtype(point.dtype).itemsize
    return {
        "rung": point.rung,
        "m": point.m,
        "n": point.n,
        "dtype": point.dtype,
        "epochs": epochs,
        "threads": threads,
        "threads_setting": point.threads,
        "bytes_x": point.m * point.n * itemsize,
    }


_PACKED = re.compile(r"\bv(?:fn?m(?:add|sub)\d+|add|sub|mul|div|max|min)p[sd]\b")
_SCALAR = re.compile(r"\bv(?:fn?m(?:add|sub)\d+|add|sub|mul|div|max|min)s[sd]\b")
_WIDE = re.compile(r"%zmm")


def simd_counts(rung, dtype: str) -> dict:
    """Count packed (SIMD) and scalar floating-point arithmetic in a rung's compiled kernels.

    Counts instructions in the machine code, not executions: it shows whether LLVM
    vectorized a loop at all, which is what decides whether a kernel can keep up with memory.
    Numba keeps no assembly for code loaded from its disk cache, so ``rung`` must be a fresh,
    uncached copy (``Rung.rebuild()``) that has run in ``dtype``: what the compile benchmark
    times, so it counts there.
    """
    packed = scalar = wide = 0
    for kernel in rung.kernels:
        for signature in kernel.signatures:
            if any(str(getattr(arg, "dtype", "")) == dtype for arg in signature):
                asm = kernel.inspect_asm(signature)
                packed += len(_PACKED.findall(asm))
                scalar += len(_SCALAR.findall(asm))
                wide += len(_WIDE.findall(asm))
    return {"simd_packed_ops": packed, "simd_scalar_ops": scalar, "simd_zmm_refs": wide}
