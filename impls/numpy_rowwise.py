"""NumPy, one loop left: a Python loop over examples, each step vectorized over features."""

from __future__ import annotations

import numpy as np

from impls._common import Problem, Rung
from impls._scalar import logistic_terms


def descend(problem: Problem, lr: float, epochs: int):
    X, y = problem.X, problem.y
    m = X.shape[0]
    w = problem.w0.copy()
    b = problem.b0
    costs = np.empty(epochs, dtype=problem.dtype)
    dw = np.empty(w.shape, dtype=np.float64)  # accumulate in double even for float32 data
    for epoch in range(epochs):
        dw[:] = 0.0
        db = 0.0
        cost = 0.0
        for i in range(m):
            x = X[i]
            z = float(x @ w) + b
            loss, error = logistic_terms(z, float(y[i]))
            cost += loss
            dw += error * x
            db += error
        costs[epoch] = cost / m
        w -= lr * (dw / m)
        b -= lr * (db / m)
    return w, b, costs


RUNG = Rung(
    name="numpy_rowwise",
    summary="One loop left: NumPy over the features of each example, Python over the examples.",
    descend=descend,
    core=(descend,),
)
