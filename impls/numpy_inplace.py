"""Vectorized NumPy with no temporaries: every buffer allocated once, every ufunc writes ``out=``."""

from __future__ import annotations

import numpy as np

from impls._common import Problem, Rung


def descend(problem: Problem, lr: float, epochs: int):
    X, y = problem.X, problem.y
    m, n = X.shape
    dtype = problem.dtype
    w = problem.w0.copy()
    b = problem.b0
    costs = np.empty(epochs, dtype=dtype)
    z = np.empty(m, dtype=dtype)  # logits
    e = np.empty(m, dtype=dtype)  # exp(-|z|), then the per-example loss
    p = np.empty(m, dtype=dtype)  # sigmoid(z), then the error sigmoid(z) - y
    t = np.empty(m, dtype=dtype)  # scratch
    nonneg = np.empty(m, dtype=bool)
    dw = np.empty(n, dtype=dtype)
    for epoch in range(epochs):
        np.matmul(X, w, out=z)
        z += b
        # Stable sigmoid: (1 if z >= 0 else e) / (1 + e) with e = exp(-|z|).
        np.abs(z, out=e)
        np.negative(e, out=e)
        np.exp(e, out=e)
        np.greater_equal(z, 0, out=nonneg)
        np.add(e, 1, out=t)
        np.copyto(p, e)
        np.copyto(p, 1, where=nonneg)
        p /= t
        # Loss from the logit: max(z, 0) + log1p(e) - y*z, written over e.
        np.log1p(e, out=e)
        np.maximum(z, 0, out=t)
        e += t
        np.multiply(y, z, out=t)
        e -= t
        costs[epoch] = e.mean()
        p -= y
        np.matmul(p, X, out=dw)  # error @ X == X.T @ error, without a transposed copy
        dw /= m
        db = float(p.sum()) / m
        dw *= lr
        w -= dw
        b -= lr * db
    return w, b, costs


RUNG = Rung(
    name="numpy_inplace",
    summary="Vectorized with every buffer preallocated: no temporaries, still two passes over X.",
    descend=descend,
    uses_threads="blas",
    core=(descend,),
)
