"""Numba, serial: the pure-Python loops compiled to machine code, unchanged."""

from __future__ import annotations

import numpy as np
from numba import njit

from impls import python_loops
from impls._common import Problem, Rung


def build() -> Rung:
    # The very function the python_loops rung interprets, compiled: the diff is the decorator.
    kernel = njit(python_loops.descend_loops)

    def descend(problem: Problem, lr: float, epochs: int):
        w = problem.w0.copy()
        costs = np.empty(epochs, dtype=problem.dtype)
        dw = np.empty(w.shape, dtype=np.float64)  # accumulate in double even for float32 data
        b = kernel(problem.X, problem.y, w, problem.b0, lr, epochs, dw, costs)
        return w, b, costs

    return Rung(
        name="numba",
        summary="The same two loops compiled by Numba: no interpreter, but serial and no SIMD "
        "in the dot product (strict IEEE order forbids reordering the sum).",
        descend=descend,
        rebuild=build,
        kernels=(kernel,),
        core=(build,),
    )


RUNG = build()
