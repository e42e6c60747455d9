"""An independent float64 reference, written plainly and separately from the rungs.

It uses SciPy's ``expit`` and NumPy's ``logaddexp`` rather than the project's own
sigmoid and loss, so a mistake shared by every rung does not hide here too.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit


def reference_cost(X, y, w, b) -> float:
    z = X @ w + b
    return float(np.mean(np.logaddexp(0.0, z) - y * z))


def reference_gradient(X, y, w, b) -> tuple[np.ndarray, float]:
    error = expit(X @ w + b) - y
    return X.T @ error / len(y), float(np.mean(error))


def reference_fit(X, y, *, lr, epochs, w0=None, b0=0.0):
    """Return (w, b, costs) after ``epochs`` steps of batch gradient descent, all float64."""
    X = np.array(X, dtype=np.float64)
    y = np.array(y, dtype=np.float64)
    w = np.zeros(X.shape[1]) if w0 is None else np.array(w0, dtype=np.float64)
    b = float(b0)
    costs = []
    for _ in range(epochs):
        costs.append(reference_cost(X, y, w, b))
        dw, db = reference_gradient(X, y, w, b)
        w = w - lr * dw
        b = b - lr * db
    return w, b, np.array(costs)


def make_problem(m: int, n: int, seed: int, scale: float = 1.0):
    """Random standardized features and noisy labels drawn from a logistic model."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, n)) * scale
    true_w = rng.standard_normal(n)
    y = (rng.random(m) < expit(X @ true_w / np.sqrt(n) + 0.3)).astype(np.float64)
    return X, y
