"""Numba, the loops compiled: the pure-Python function of ``python_loops``, unchanged, as machine code."""

from __future__ import annotations

import numpy as np

from impls import python_loops
from impls._common import Problem, Rung
from impls._jit import compiled, epoch_batches, uncached


def build(cold: bool = False) -> Rung:
    # The very function the python_loops rung interprets, compiled: the diff is the decorator.
    kernel = (uncached if cold else compiled)(python_loops.descend_loops)

    def descend(problem: Problem, lr: float, epochs: int):
        w = problem.w0.copy()
        costs = np.empty(epochs, dtype=problem.dtype)
        dw = np.empty(w.shape, dtype=np.float64)  # accumulate in double even for float32 data
        b, X = problem.b0, problem.X
        for start, stop in epoch_batches(epochs, X.size):  # Ctrl-C stops it between two batches
            b = kernel(X, problem.y, w, b, lr, stop - start, dw, costs[start:stop])
        return w, b, costs

    return Rung(
        name="numba_loops",
        summary="The same two loops compiled by Numba: no interpreter, but serial and no SIMD "
        "in the dot product (strict IEEE order forbids reordering the sum).",
        descend=descend,
        rebuild=lambda: build(cold=True),
        kernels=(kernel,),
        core=(python_loops.descend_loops,),  # the code that runs: the same function as python_loops
    )


RUNG = build()
