"""Pure Python: the network's epoch as loops over examples, hidden units and features."""

from __future__ import annotations

import math

from impls._common import REORDERED_SUMS
from impls._scalar import logistic_terms
from impls.shallow._contract import Net, ShallowRung


def descend_loops(X, y, W1, b1, W2, b2, lr, epochs, costs, dW1, db1, dW2, a1):
    """``epochs`` steps of gradient descent for the one-hidden-layer network, in loops: updates
    W1, b1, W2 in place (dW1, db1, dW2, a1 are scratch), fills costs, returns the new b2."""
    m, h, n = len(X), len(b1), len(X[0])
    for epoch in range(epochs):
        for k in range(h):
            db1[k] = 0.0
            dW2[k] = 0.0
            for j in range(n):
                dW1[k][j] = 0.0
        db2, cost = 0.0, 0.0
        for i in range(m):
            row = X[i]
            z2 = b2
            for k in range(h):  # forward: the hidden layer, then the output's logit
                z = b1[k]
                for j in range(n):
                    z += W1[k][j] * row[j]
                a1[k] = math.tanh(z)
                z2 += W2[k] * a1[k]
            loss, error = logistic_terms(z2, y[i])
            cost += loss
            db2 += error
            for k in range(h):  # backward: through W2, then tanh (1 - a²), then W1
                dW2[k] += error * a1[k]
                dz = error * W2[k] * (1.0 - a1[k] * a1[k])
                db1[k] += dz
                for j in range(n):
                    dW1[k][j] += dz * row[j]
        costs[epoch] = cost / m
        for k in range(h):
            for j in range(n):
                W1[k][j] -= lr * (dW1[k][j] / m)
            b1[k] -= lr * (db1[k] / m)
            W2[k] -= lr * (dW2[k] / m)
        b2 -= lr * (db2 / m)
    return b2


def descend(net: Net):
    h, n = net.params["W1"].shape
    W1 = net.params["W1"].tolist()
    b1, W2 = net.params["b1"].tolist(), net.params["W2"].tolist()
    costs = [0.0] * net.epochs
    dW1 = [[0.0] * n for _ in range(h)]
    b2 = descend_loops(
        net.X.tolist(), net.y.tolist(), W1, b1, W2, net.params["b2"], net.lr, net.epochs,
        costs, dW1, [0.0] * h, [0.0] * h, [0.0] * h,
    )  # fmt: skip
    return {"W1": W1, "b1": b1, "W2": W2, "b2": b2}, costs


RUNG = ShallowRung(
    name="python_loops",
    summary="Loops over examples, hidden units and features, in the interpreter.",
    descend=descend,
    tolerance=REORDERED_SUMS,
)
