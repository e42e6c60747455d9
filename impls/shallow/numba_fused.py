"""Numba, fused and parallel: one pass over X per epoch, chunks of examples across threads.

Each row is read once: its hidden layer, its output and its share of all four gradients are
computed while the row is in L1, into partial sums of its chunk (``chunk_rows``), so the answer
does not depend on the number of threads. Every number of X feeds 2h multiply-adds per epoch
from registers and L1, but W1 (h × n) is read again for every row: past the caches' size it is
what BLAS's blocked products (``numpy_vectorized``) keep close and this loop does not.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from impls._common import Tolerance
from impls._jit import compiled, epoch_batches, parallel_region
from impls._scalar import logistic_terms
from impls.shallow._contract import Net, ShallowRung

CHUNK_ROWS = 1024
TOLERANCE = Tolerance(
    float64=1e-9,
    float32=1e-4,
    why="fastmath reassociates the dot products into SIMD partial sums; chunks' sums in float64",
)


@compiled(parallel=True, fastmath={"reassoc", "contract"})
def descend_fused(X, y, W1, b1, W2, b2, lr, epochs, costs, chunk_rows):
    """The epochs: chunks of rows on the threads, each with partial sums of its own."""
    m, n = X.shape
    h = W1.shape[0]
    n_chunks = (m + chunk_rows - 1) // chunk_rows
    dW1 = np.empty((n_chunks, h, n))
    db1 = np.empty((n_chunks, h))
    dW2 = np.empty((n_chunks, h))
    db2 = np.empty(n_chunks)
    cost = np.empty(n_chunks)
    for epoch in range(epochs):
        for c in prange(n_chunks):
            a1 = np.empty(h)
            for k in range(h):
                db1[c, k] = 0.0
                dW2[c, k] = 0.0
                for j in range(n):
                    dW1[c, k, j] = 0.0
            db2[c] = 0.0
            cost[c] = 0.0
            for i in range(c * chunk_rows, min(m, (c + 1) * chunk_rows)):
                row = X[i]
                z2 = b2
                for k in range(h):
                    z = b1[k]
                    for j in range(n):
                        z += W1[k, j] * row[j]
                    a1[k] = math.tanh(z)
                    z2 += W2[k] * a1[k]
                loss, error = logistic_terms(z2, y[i])
                cost[c] += loss
                db2[c] += error
                for k in range(h):
                    dW2[c, k] += error * a1[k]
                    dz = error * W2[k] * (1.0 - a1[k] * a1[k])
                    db1[c, k] += dz
                    for j in range(n):
                        dW1[c, k, j] += dz * row[j]
        total, step_b2 = 0.0, 0.0
        for c in range(n_chunks):  # in chunk order: the same sums on any number of threads
            total += cost[c]
            step_b2 += db2[c]
            if c > 0:
                for k in range(h):
                    db1[0, k] += db1[c, k]
                    dW2[0, k] += dW2[c, k]
                    for j in range(n):
                        dW1[0, k, j] += dW1[c, k, j]
        costs[epoch] = total / m
        for k in range(h):
            for j in range(n):
                W1[k, j] -= lr * (dW1[0, k, j] / m)
            b1[k] -= lr * (db1[0, k] / m)
            W2[k] -= lr * (dW2[0, k] / m)
        b2 -= lr * (step_b2 / m)
    return b2


def descend(net: Net):
    W1, b1, W2, b2, costs = net.own()
    X = net.X
    with parallel_region():
        for start, stop in epoch_batches(net.epochs, X.size * W1.shape[0]):  # Ctrl-C between two
            b2 = descend_fused(X, net.y, W1, b1, W2, b2, net.lr, stop - start, costs[start:stop], CHUNK_ROWS)
    return {"W1": W1, "b1": b1, "W2": W2, "b2": b2}, costs


RUNG = ShallowRung(
    name="numba_fused",
    summary="Fused and parallel: one read of each row per epoch, chunks of rows on all cores.",
    descend=descend,
    tolerance=TOLERANCE,
)
