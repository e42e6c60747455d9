"""BLAS for the two products with X, one compiled pass for everything between them.

An epoch is X W1ᵀ + b1 (BLAS) and its tanh in place (NumPy's, in SIMD: Numba's is one value at a
time, and at h = 256 it cost more than the product), then one parallel pass over the m × h result
that forms the output, the cost and the output's gradients and turns each row into its dZ1 in
place, then dZ1ᵀ X (BLAS). The products are where the arithmetic is when h is large, and BLAS
blocks them for the caches; the element-wise steps that ``numpy_vectorized`` runs as separate
passes over m × h temporaries are here one pass over one buffer, allocated once per fit.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from impls._jit import compiled, parallel_region
from impls._scalar import logistic_terms
from impls.shallow._contract import Net, ShallowRung
from impls.shallow.numba_fused import CHUNK_ROWS, TOLERANCE


@compiled(parallel=True, fastmath={"reassoc", "contract"})
def between_products(Z, y, W2, b2, chunk_rows, db1, dW2, sums):
    """Z holds A1 = tanh(X W1ᵀ + b1) on entry and dZ1 on return; each chunk of rows adds into its own row of
    ``db1`` and ``dW2`` and its (cost, db2) into ``sums``, so the answer does not depend on the
    number of threads."""
    m, h = Z.shape
    n_chunks = (m + chunk_rows - 1) // chunk_rows
    for c in prange(n_chunks):
        for k in range(h):
            db1[c, k] = 0.0
            dW2[c, k] = 0.0
        cost, db2 = 0.0, 0.0
        for i in range(c * chunk_rows, min(m, (c + 1) * chunk_rows)):
            z2 = b2
            for k in range(h):
                z2 += W2[k] * Z[i, k]
            loss, error = logistic_terms(z2, y[i])
            cost += loss
            db2 += error
            for k in range(h):
                a = Z[i, k]
                dW2[c, k] += error * a
                dz = error * W2[k] * (1.0 - a * a)
                db1[c, k] += dz
                Z[i, k] = dz
        sums[c, 0] = cost
        sums[c, 1] = db2


def descend(net: Net):
    W1, b1, W2, b2, costs = net.own()
    X, y, dtype = net.X, net.y, net.dtype
    m, h = X.shape[0], W1.shape[0]
    chunks = (m + CHUNK_ROWS - 1) // CHUNK_ROWS
    Z = np.empty((m, h), dtype=dtype)
    dW1 = np.empty_like(W1)
    db1, dW2 = np.empty((chunks, h), dtype=dtype), np.empty((chunks, h), dtype=dtype)
    sums = np.empty((chunks, 2), dtype=dtype)
    step = dtype.type(net.lr / m)
    with parallel_region():
        for epoch in range(net.epochs):  # one Python step an epoch: Ctrl-C is seen between two
            np.matmul(X, W1.T, out=Z)
            np.add(Z, b1, out=Z)
            np.tanh(Z, out=Z)
            between_products(Z, y, W2, dtype.type(b2), CHUNK_ROWS, db1, dW2, sums)
            np.matmul(Z.T, X, out=dW1)
            costs[epoch] = sums[:, 0].sum() / m
            W1 -= step * dW1
            b1 -= step * db1.sum(axis=0)
            W2 -= step * dW2.sum(axis=0)
            b2 -= float(step * sums[:, 1].sum())
    return {"W1": W1, "b1": b1, "W2": W2, "b2": b2}, costs


RUNG = ShallowRung(
    name="numba_blas",
    summary="BLAS for the products with X, one compiled parallel pass over the hidden layer between them.",
    descend=descend,
    tolerance=TOLERANCE,
)
