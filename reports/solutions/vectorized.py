"""Exercise (a), solved: the descent in whole-array NumPy (check it: python -m bench.yours THIS_FILE)."""

import numpy as np


def fit(X, y, lr, epochs):
    m, n = X.shape
    w, b, costs = np.zeros(n), 0.0, []
    for _ in range(epochs):
        a = 1 / (1 + np.exp(-(X @ w + b)))  # all m predictions at once
        costs.append(-np.mean(y * np.log(a) + (1 - y) * np.log(1 - a)))
        dw = X.T @ (a - y) / m  # one matrix-vector product: every feature's gradient
        db = np.mean(a - y)
        w = w - lr * dw
        b = b - lr * db
    return w, b, np.array(costs)
