"""Small computations for the numerics section: naive against stable, float32 saturation, summation order.

Computed with NumPy alone (the stable loss by ``np.logaddexp``): they illustrate floating point,
not a rung, so they do not depend on the code a run timed.
"""

from __future__ import annotations

import math
import warnings

import numpy as np


def numerics_demo() -> dict:
    z = np.array([-1000.0, 1000.0])
    y = np.array([1.0, 0.0])  # both confidently wrong: the true loss is 1000 each
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        naive_p = 1.0 / (1.0 + np.exp(-z))
        naive_loss = -(y * np.log(naive_p) + (1 - y) * np.log(1 - naive_p))
    stable_loss = np.logaddexp(0.0, z) - y * z  # log(1 + e^z) - y z, from the logit
    # The smallest logit at which sigmoid(z) rounds to exactly 1.
    grid32 = np.arange(0, 40, 0.01, dtype=np.float32)
    p32 = (np.float32(1) / (np.float32(1) + np.exp(-grid32))).astype(np.float32)
    grid64 = np.arange(0, 60, 0.01)
    # Summation order: the same million numbers summed front to back, and pairwise.
    values = np.random.default_rng(0).standard_normal(1_000_000)
    sequential = 0.0
    for v in values.tolist():
        sequential += v
    return {
        "z": z.tolist(),
        "naive_loss": naive_loss.tolist(),
        "stable_loss": stable_loss.tolist(),
        "saturate32": float(grid32[np.argmax(p32 == np.float32(1))]),
        "saturate64": float(grid64[np.argmax(1.0 / (1.0 + np.exp(-grid64)) == 1.0)]),
        "sum_sequential": sequential,
        "sum_pairwise": float(np.sum(values)),
        "sum_exact": math.fsum(values.tolist()),
    }
