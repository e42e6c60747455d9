"""Numba, fused and parallel: one pass over X per epoch, chunks of examples across threads.

The straightforward parallel kernel: each row is read once, used for its logit and, while
still in L1, for its share of the gradient (``fused_rows``), in chunks of rows on all threads
(``descend_fused``): code that runs as it reads, with Numba's own ``njit``. This rung leaves the
reading ahead to the hardware; ``numba_tuned`` also races the same rows with a software prefetch
(``fused_chunk``'s knob). ``descend_chunked``, ``Family`` and ``make_rung`` are the same driver
for any chunk kernel, shared with the rungs above, which change only what happens inside a chunk.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numba import prange

from impls._common import Problem, Rung, Tolerance
from impls._jit import compiled, epoch_batches, fresh, parallel_region, specialize, uncached
from impls._jit import compiled as njit  # Numba's njit, compiled once per machine (a disk cache)
from impls._prefetch import LINE_BYTES, prefetch_until
from impls._scalar import logistic_terms

# Rows per chunk. Chunks, not threads, own the partial sums, so the answer does not
# depend on how many threads run (and is the same at 1 thread and at all of them).
CHUNK_ROWS = 4096

# reassoc lets LLVM split the dot product over SIMD lanes; contract allows FMA.
# Neither touches inf/nan handling, which the stable sigmoid relies on. The sums after the
# prange loop are plain loops: in a parallel=True function an array expression (np.sum) would
# be a parallel region of its own, waking the threads again each epoch.
FASTMATH = {"reassoc", "contract"}

TOLERANCE = Tolerance(
    float64=1e-9,
    float32=1e-4,
    why="fastmath reassociates the dot products into SIMD partial sums and fuses "
    "multiply-adds; partial sums are kept in float64 even for float32 data",
)

DRIVER_OPTIONS = {"parallel": True, "fastmath": FASTMATH}

#: The knobs a chunk kernel is called with: two integers, whose meaning is the kernel's own.
NO_KNOBS = (0, 0)


@njit(inline="always")
def row_terms(row, label, w, b, acc):
    """One example: its logit, loss and error, and its share of the gradient added into ``acc``."""
    z = b
    for j in range(row.shape[0]):  # forward: z = x . w + b
        z += row[j] * w[j]
    loss, error = logistic_terms(z, label)
    for j in range(row.shape[0]):  # backward, while the row is still in L1
        acc[j] += error * row[j]
    return loss, error


@njit(fastmath={"reassoc", "contract"})
def fused_rows(X, y, w, b, start, stop, acc):
    """Rows [start, stop), each read once: their gradient into ``acc``, sums of errors and losses out."""
    db, cost = 0.0, 0.0
    for i in range(start, stop):
        row = X[i]
        z = b
        for j in range(row.shape[0]):  # forward: z = x . w + b
            z += row[j] * w[j]
        loss, error = logistic_terms(z, y[i])
        for j in range(row.shape[0]):  # backward, while the row is still in L1
            acc[j] += error * row[j]
        cost += loss
        db += error
    return db, cost


def fused_chunk(X, y, w, b, start, stop, acc, knobs):
    """The chunk kernel the shared driver calls: ``fused_rows``, or with ``knobs[0]`` > 0 the same
    rows (``row_terms``) with a software prefetch that many bytes ahead (a knob ``numba_tuned`` races)."""
    if knobs[0] <= 0:
        return fused_rows(X, y, w, b, start, stop, acc)
    n = X.shape[1]
    flat = X.reshape(-1)  # C-contiguous, so row i starts at element i*n
    ahead = knobs[0] // X.itemsize
    line = LINE_BYTES // X.itemsize
    last = stop * n
    cursor = start * n + ahead
    db = 0.0
    cost = 0.0
    for i in range(start, stop):
        cursor = prefetch_until(flat, cursor, min(last, (i + 1) * n + ahead), line)
        loss, error = row_terms(X[i], y[i], w, b, acc)
        cost += loss
        db += error
    return db, cost


@njit(parallel=True, fastmath={"reassoc", "contract"})
def descend_fused(X, y, w, b, lr, epochs, costs, chunk_rows):
    """The epochs: chunks of ``chunk_rows`` rows on the threads, each with partial sums of its own."""
    m, n = X.shape
    n_chunks = (m + chunk_rows - 1) // chunk_rows
    dw_parts = np.empty((n_chunks, n))
    db_parts, cost_parts = np.empty(n_chunks), np.empty(n_chunks)
    for epoch in range(epochs):
        for c in prange(n_chunks):  # the chunks, shared out among the threads
            for j in range(n):
                dw_parts[c, j] = 0.0
            start = c * chunk_rows
            stop = min(m, start + chunk_rows)
            db_parts[c], cost_parts[c] = fused_rows(X, y, w, b, start, stop, dw_parts[c])
        cost, db = 0.0, 0.0
        for c in range(n_chunks):  # in chunk order: the same sums on any number of threads
            cost += cost_parts[c]
            db += db_parts[c]
        costs[epoch] = cost / m
        for c in range(1, n_chunks):
            for j in range(n):
                dw_parts[0, j] += dw_parts[c, j]
        for j in range(n):
            w[j] -= lr * (dw_parts[0, j] / m)
        b -= lr * (db / m)
    return b


def descend_chunked(X, y, w, b, lr, epochs, costs, chunk_rows, knobs):
    """The epochs: ``chunk`` (a global bound by ``specialize``) over every block of ``chunk_rows`` rows."""
    m, n = X.shape
    n_chunks = (m + chunk_rows - 1) // chunk_rows
    dw_parts = np.empty((n_chunks, n), dtype=np.float64)
    db_parts = np.empty(n_chunks, dtype=np.float64)
    cost_parts = np.empty(n_chunks, dtype=np.float64)
    for epoch in range(epochs):
        for c in prange(n_chunks):  # chunks spread over the threads
            acc = dw_parts[c]
            for j in range(n):
                acc[j] = 0.0
            start = c * chunk_rows
            db_parts[c], cost_parts[c] = chunk(X, y, w, b, start, min(m, start + chunk_rows), acc, knobs)  # noqa: F821
        # Outside prange, only plain loops: under parallel=True every array expression
        # (a slice's .sum(), a whole-array assignment) becomes a parallel region of its
        # own, and waking the threads once per feature cost ~170 us per epoch.
        cost = 0.0
        db = 0.0
        for c in range(n_chunks):  # in chunk order: the same sums at any thread count
            cost += cost_parts[c]
            db += db_parts[c]
        costs[epoch] = cost / m
        for c in range(1, n_chunks):
            for j in range(n):
                dw_parts[0, j] += dw_parts[c, j]
        for j in range(n):
            w[j] -= lr * (dw_parts[0, j] / m)
        b -= lr * (db / m)
    return b


@dataclass(frozen=True)
class Family:
    """A chunk kernel and how to compile it: what a rung (or a candidate of ``numba_tuned``) runs.

    ``helpers`` maps the names of the module-level Numba functions ``chunk`` calls to those
    dispatchers. ``build()`` gives the compiled parallel descent (cached on disk);
    ``build(cold=True)`` compiles the chunk, its helpers and the driver afresh, uncached,
    which is what the compile benchmark times.
    """

    name: str
    chunk: Callable
    jit_options: dict
    helpers: dict = field(default_factory=dict)

    def build(self, cold: bool = False) -> tuple[Callable, tuple]:
        """(parallel descent, its kernels): the kernels are the chunk and its helpers."""
        jit = uncached if cold else compiled
        helpers = {name: fresh(kernel) for name, kernel in self.helpers.items()} if cold else self.helpers
        chunk = jit(specialize(self.chunk, self.chunk.__name__, **helpers), **self.jit_options)
        driver = jit(specialize(descend_chunked, f"descend_{self.name}", chunk=chunk), **DRIVER_OPTIONS)
        return driver, (chunk, *helpers.values())


def run_descent(driver: Callable, problem: Problem, lr: float, epochs: int, knobs: tuple[int, int]):
    """Call a parallel descent on a validated problem: the caller's w0 is copied, never written."""
    w = problem.w0.copy()
    costs = np.empty(epochs, dtype=problem.dtype)
    b = run_epochs(driver, problem, w, problem.b0, lr, costs, knobs)
    return w, b, costs


def run_epochs(driver: Callable, problem: Problem, w, b: float, lr: float, costs, knobs: tuple[int, int]):
    """``len(costs)`` epochs from (w, b): updates ``w`` and fills ``costs`` in place, returns the new b.
    The epochs run in batches (``epoch_batches``), so Ctrl-C stops a long descent between two."""
    X = problem.X
    with parallel_region():  # serialized under Numba's workqueue layer, which is not thread-safe
        for start, stop in epoch_batches(len(costs), X.size):
            b = driver(X, problem.y, w, b, lr, stop - start, costs[start:stop], CHUNK_ROWS, knobs)
    return b


def make_rung(
    name: str,
    summary: str,
    family: Family,
    tolerance: Tolerance,
    core: tuple[Callable, ...],
    knobs: Callable[[int, int], tuple[int, int]] = lambda n, itemsize: NO_KNOBS,
) -> Rung:
    """A rung that runs ``family``'s chunk over all chunks in parallel, with ``knobs(n, itemsize)``."""

    def build(cold: bool = False) -> Rung:
        driver, kernels = family.build(cold=cold)

        def descend(problem: Problem, lr: float, epochs: int):
            return run_descent(driver, problem, lr, epochs, knobs(problem.X.shape[1], problem.X.itemsize))

        return Rung(
            name=name,
            summary=summary,
            descend=descend,
            tolerance=tolerance,
            uses_threads="numba",
            rebuild=lambda: build(cold=True),
            kernels=kernels,
            core=core,
        )

    return build()


FAMILY = Family("fused", fused_chunk, {"fastmath": FASTMATH}, helpers={"fused_rows": fused_rows})


def _rung(cold: bool = False) -> Rung:
    """The rung: ``descend_fused`` as it is, or (``cold``) fresh, uncached copies of it and its rows."""
    rows = fresh(fused_rows) if cold else fused_rows
    driver = fresh(descend_fused, fused_rows=rows) if cold else descend_fused

    def descend(problem: Problem, lr: float, epochs: int):
        w = problem.w0.copy()  # the caller's w0 is never written
        costs = np.empty(epochs, dtype=problem.dtype)
        b, X = problem.b0, problem.X
        with parallel_region():  # serialized under Numba's workqueue layer, which is not thread-safe
            for start, stop in epoch_batches(epochs, X.size):  # Ctrl-C stops it between two
                b = driver(X, problem.y, w, b, lr, stop - start, costs[start:stop], CHUNK_ROWS)
        return w, b, costs

    return Rung(
        name="numba_fused",
        summary="Fused and parallel: forward pass and gradient in one read of each row, chunks of rows "
        "on all cores, SIMD dot products, one scalar exp and log1p per example.",
        descend=descend,
        tolerance=TOLERANCE,
        uses_threads="numba",
        rebuild=lambda: _rung(cold=True),
        kernels=(driver, rows),
        core=(descend_fused, fused_rows),
    )


RUNG = _rung()
