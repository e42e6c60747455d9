"""Exercise (b), solved: one compiled pass over the rows of X per epoch (python -m bench.yours THIS_FILE)."""

import math

import numba
import numpy as np


@numba.njit
def epoch_pass(X, y, w, b):
    m, n = X.shape
    cost, dw, db = 0.0, np.zeros(n), 0.0
    for i in range(m):  # each row read once: its logit, then its share of dw while it is in the cache
        z = b
        for j in range(n):
            z += X[i, j] * w[j]
        a = 1 / (1 + math.exp(-z))
        cost -= y[i] * math.log(a) + (1 - y[i]) * math.log(1 - a)
        error = a - y[i]
        for j in range(n):
            dw[j] += X[i, j] * error
        db += error
    return cost / m, dw / m, db / m


def fit(X, y, lr, epochs):
    w, b, costs = np.zeros(X.shape[1]), 0.0, []
    for _ in range(epochs):
        cost, dw, db = epoch_pass(X, y, w, b)
        costs.append(cost)
        w = w - lr * dw
        b = b - lr * db
    return w, b, np.array(costs)
