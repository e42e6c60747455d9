"""Pure Python: two nested loops, one interpreted step per multiply-add.

``descend_loops`` works on anything indexable: Python lists here, NumPy arrays where Numba
compiles the same function (``numba_loops``). ``costs[epoch]`` is the cost before that epoch's
update, as in every rung.
"""

from __future__ import annotations

from impls._common import FLOAT64, Problem, Rung
from impls._scalar import logistic_terms


def descend_loops(X, y, w, b, lr, epochs, dw, costs):
    """``epochs`` steps of gradient descent in loops: fills w, dw, costs in place, returns the new b."""
    m, n = len(X), len(w)
    for epoch in range(epochs):
        for j in range(n):
            dw[j] = 0.0
        db, cost = 0.0, 0.0
        for i in range(m):
            row = X[i]
            z = b
            for j in range(n):
                z += row[j] * w[j]
            loss, error = logistic_terms(z, y[i])
            cost += loss
            for j in range(n):
                dw[j] += error * row[j]
            db += error
        costs[epoch] = cost / m
        for j in range(n):
            w[j] -= lr * (dw[j] / m)
        b -= lr * (db / m)
    return b


def prepare(problem: Problem) -> tuple[list, list, list, float]:
    """Convert to Python lists of floats (outside any timed region)."""
    return problem.X.tolist(), problem.y.tolist(), problem.w0.tolist(), problem.b0


def descend(state, lr: float, epochs: int):
    X, y, w0, b0 = state
    w = list(w0)
    costs = [0.0] * epochs
    b = descend_loops(X, y, w, b0, lr, epochs, [0.0] * len(w), costs)
    return w, b, costs


RUNG = Rung(
    name="python_loops",
    summary="Pure Python: two nested loops, one interpreted step per multiply-add.",
    descend=descend,
    prepare=prepare,
    dtypes=(FLOAT64,),
    core=(descend_loops,),  # Python floats are doubles; there is no float32 to ask for
)
