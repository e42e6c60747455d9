"""Numba, parallel and fused: one pass over X per epoch, examples split across threads."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

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


def descend_fused(X, y, w, b, lr, epochs, costs, chunk_rows):
    m, n = X.shape
    n_chunks = (m + chunk_rows - 1) // chunk_rows
    dw_parts = np.empty((n_chunks, n), dtype=np.float64)
    db_parts = np.empty(n_chunks, dtype=np.float64)
    cost_parts = np.empty(n_chunks, dtype=np.float64)
    for epoch in range(epochs):
        for c in prange(n_chunks):
            acc = dw_parts[c]
            acc[:] = 0.0
            db = 0.0
            cost = 0.0
            for i in range(c * chunk_rows, min(m, (c + 1) * chunk_rows)):
                row = X[i]
                z = b
                for j in range(n):  # forward: z = x_i . w + b
                    z += row[j] * w[j]
                loss, error = logistic_terms(z, y[i])
                cost += loss
                for j in range(n):  # backward, while x_i is still in L1
                    acc[j] += error * row[j]
                db += error
            db_parts[c] = db
            cost_parts[c] = cost
        costs[epoch] = cost_parts.sum() / m
        for j in range(n):
            w[j] -= lr * (dw_parts[:, j].sum() / m)
        b -= lr * (db_parts.sum() / m)
    return b


def build() -> Rung:
    kernel = njit(parallel=True, fastmath=FASTMATH)(descend_fused)

    def descend(problem: Problem, lr: float, epochs: int):
        w = problem.w0.copy()
        costs = np.empty(epochs, dtype=problem.dtype)
        b = kernel(problem.X, problem.y, w, problem.b0, lr, epochs, costs, CHUNK_ROWS)
        return w, b, costs

    return Rung(
        name="numba_parallel",
        summary="Fused and parallel: forward pass and gradient in one read of each row, "
        "chunks of rows on all cores, SIMD dot products.",
        descend=descend,
        tolerance=TOLERANCE,
        uses_threads="numba",
        rebuild=build,
        module=__name__,
    )


RUNG = build()
