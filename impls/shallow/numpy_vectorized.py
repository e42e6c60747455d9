"""NumPy: each epoch as whole-array operations, the two products with X in BLAS."""

from __future__ import annotations

import numpy as np

from impls._common import REORDERED_SUMS
from impls.shallow._contract import Net, ShallowRung


def descend_numpy(X, y, W1, b1, W2, b2, lr, epochs, costs):
    """The epochs: X W1ᵀ and dZ1ᵀ X are matrix products (BLAS, blocked for the caches); the rest
    are element-wise passes over m × h arrays."""
    m = X.shape[0]
    for epoch in range(epochs):
        A1 = np.tanh(X @ W1.T + b1)  # (m, h)
        z2 = A1 @ W2 + b2  # (m,)
        costs[epoch] = np.mean(np.logaddexp(0.0, z2) - y * z2)  # cross-entropy from the logit
        dz2 = 0.5 * (1.0 + np.tanh(0.5 * z2)) - y  # sigmoid(z2) - y, without overflow
        dZ1 = np.outer(dz2, W2) * (1.0 - A1 * A1)  # (m, h)
        W1 -= lr * ((dZ1.T @ X) / m)
        b1 -= lr * dZ1.mean(axis=0)
        W2 -= lr * ((A1.T @ dz2) / m)
        b2 -= lr * float(dz2.mean())
    return b2


def descend(net: Net):
    W1, b1, W2, b2, costs = net.own()
    lr = net.dtype.type(net.lr)
    b2 = descend_numpy(net.X, net.y, W1, b1, W2, b2, lr, net.epochs, costs)
    return {"W1": W1, "b1": b1, "W2": W2, "b2": b2}, costs


RUNG = ShallowRung(
    name="numpy_vectorized",
    summary="Whole arrays: the products with X in BLAS, the rest element-wise.",
    descend=descend,
    tolerance=REORDERED_SUMS,
)
