"""Numba, parallel and fused: one pass over X per epoch, chunks of examples across threads.

The straightforward parallel kernel: each row is read once, used for its logit and, while
still in L1, for its share of the gradient. ``make_descent`` and ``make_rung`` are shared
with the rungs above it, which change only what happens inside a chunk.
"""

from __future__ import annotations

import types
from collections.abc import Callable

import numpy as np
from numba import jit, njit, prange

from impls._common import Problem, Rung, Tolerance
from impls._scalar import logistic_terms

# Rows per chunk. Chunks, not threads, own the partial sums, so the answer does not
# depend on how many threads run (and is the same at 1 thread and at all of them).
CHUNK_ROWS = 4096

# reassoc lets LLVM split the dot product over SIMD lanes; contract allows FMA.
# Neither touches inf/nan handling, which the stable sigmoid relies on.
FASTMATH = {"reassoc", "contract"}

TOLERANCE = Tolerance(
    float64=1e-9,
    float32=1e-4,
    why="fastmath reassociates the dot products into SIMD partial sums and fuses "
    "multiply-adds; partial sums are kept in float64 even for float32 data",
)


def fused_chunk(X, y, w, b, start, stop, acc):
    """Forward pass and gradient for rows [start, stop) in one read of each row.

    Adds the chunk's gradient sum into ``acc`` and returns (sum of errors, sum of losses).
    """
    n = X.shape[1]
    db = 0.0
    cost = 0.0
    for i in range(start, stop):
        row = X[i]
        z = b
        for j in range(n):  # forward: z = x_i . w + b
            z += row[j] * w[j]
        loss, error = logistic_terms(z, y[i])
        cost += loss
        for j in range(n):  # backward, while x_i is still in L1
            acc[j] += error * row[j]
        db += error
    return db, cost


def make_descent(chunk: Callable) -> Callable:
    """A parallel descent whose epochs run ``chunk`` over every block of CHUNK_ROWS rows."""

    @njit(parallel=True, fastmath=FASTMATH)
    def descend_chunked(X, y, w, b, lr, epochs, costs, chunk_rows):
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
                db_parts[c], cost_parts[c] = chunk(X, y, w, b, start, min(m, start + chunk_rows), acc)
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

    return descend_chunked


def fresh_copy(chunk: Callable, helpers: tuple[str, ...]) -> tuple[Callable, tuple]:
    """``chunk`` calling new, uncompiled copies of the Numba functions it names in ``helpers``.

    A Numba dispatcher compiles once per process and signature. A chunk that calls
    module-level kernels would, after a rebuild, compile itself but reuse those kernels'
    machine code, and the benchmark would time only part of the compilation. Returns the
    rebound chunk (same code, new globals) and the new dispatchers, in ``helpers`` order.
    """
    fresh = {}
    for name in helpers:
        dispatcher = chunk.__globals__[name]
        fresh[name] = jit(**dispatcher.targetoptions)(dispatcher.py_func)
    rebound = types.FunctionType(
        chunk.__code__, {**chunk.__globals__, **fresh}, chunk.__name__, chunk.__defaults__, chunk.__closure__
    )
    return rebound, tuple(fresh.values())


def make_rung(
    name: str,
    summary: str,
    chunk: Callable,
    jit_options: dict,
    tolerance: Tolerance,
    core: tuple[Callable, ...],
    helpers: tuple[str, ...] = (),
) -> Rung:
    """A rung that compiles ``chunk`` with ``jit_options`` and runs it over all chunks in parallel.

    ``helpers`` names the module-level Numba functions ``chunk`` calls. ``rebuild`` compiles
    the chunk, those helpers and the parallel driver afresh, which is how the benchmark
    times compilation.
    """

    def build() -> Rung:
        rebound, helper_kernels = fresh_copy(chunk, helpers)
        chunk_kernel = njit(**jit_options)(rebound)
        kernel = make_descent(chunk_kernel)

        def descend(problem: Problem, lr: float, epochs: int):
            w = problem.w0.copy()
            costs = np.empty(epochs, dtype=problem.dtype)
            b = kernel(problem.X, problem.y, w, problem.b0, lr, epochs, costs, CHUNK_ROWS)
            return w, b, costs

        return Rung(
            name=name,
            summary=summary,
            descend=descend,
            tolerance=tolerance,
            uses_threads="numba",
            rebuild=build,
            kernels=(chunk_kernel, *helper_kernels),
            core=core,
        )

    return build()


RUNG = make_rung(
    "numba_fused",
    "Fused and parallel: forward pass and gradient in one read of each row, chunks of rows "
    "on all cores, SIMD dot products, one scalar exp and log1p per example.",
    fused_chunk,
    {"fastmath": FASTMATH},
    TOLERANCE,
    core=(fused_chunk, make_descent),
)
