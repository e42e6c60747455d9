"""Fully vectorized NumPy: two matrix-vector products per epoch, no loop over data."""

from __future__ import annotations

import numpy as np

from impls._common import Problem, Rung
from impls._vector import mean_loss, sigmoid


def descend(problem: Problem, lr: float, epochs: int):
    X, y = problem.X, problem.y
    m = X.shape[0]
    w, b = problem.w0.copy(), problem.b0
    costs = np.empty(epochs, dtype=problem.dtype)
    for epoch in range(epochs):
        z = X @ w + b  # first pass over X (BLAS: a matrix times a vector)
        costs[epoch] = mean_loss(z, y)
        error = sigmoid(z) - y
        dw = (X.T @ error) / m  # second pass over X
        db = float(np.sum(error)) / m
        w -= lr * dw
        b -= lr * db
    return w, b, costs


RUNG = Rung(
    name="numpy_vectorized",
    summary="Fully vectorized: X @ w and X.T @ error in BLAS, a handful of temporaries per epoch.",
    descend=descend,
    uses_threads="blas",
    core=(descend,),
)
