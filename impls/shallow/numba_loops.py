"""Numba, the loops compiled: ``python_loops.descend_loops``, unchanged, as machine code."""

from __future__ import annotations

import numpy as np

from impls._common import REORDERED_SUMS
from impls._jit import compiled, epoch_batches
from impls.shallow import python_loops
from impls.shallow._contract import Net, ShallowRung

kernel = compiled(python_loops.descend_loops)


def descend(net: Net):
    W1, b1, W2, b2, costs = net.own()
    h, n = W1.shape
    dW1, db1, dW2, a1 = np.empty((h, n)), np.empty(h), np.empty(h), np.empty(h)  # float64 sums
    X = net.X
    for start, stop in epoch_batches(net.epochs, X.size * h):  # Ctrl-C stops it between two
        b2 = kernel(X, net.y, W1, b1, W2, b2, net.lr, stop - start, costs[start:stop], dW1, db1, dW2, a1)
    return {"W1": W1, "b1": b1, "W2": W2, "b2": b2}, costs


RUNG = ShallowRung(
    name="numba_loops",
    summary="The same loops compiled by Numba: serial, one example at a time.",
    descend=descend,
    tolerance=REORDERED_SUMS,
)
