"""Validation at memory speed: one parallel pass over a large X for values that are not finite, or
beyond the range of a narrower working dtype.

NumPy's check (``np.isfinite`` a block at a time) runs on one core and writes a mask: on 800 MB of X
it took longer than an epoch of the planned rung. This kernel reads X once on every thread and
writes nothing. ``impls._common`` calls it through ``install`` (importing it there would close a
circle: the kernel cache keys on ``_common.source_digest``), for arrays of ``_common.PARALLEL_FROM``
numbers or more; smaller ones keep NumPy's check, which needs no compiling.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from impls import _common
from impls._jit import compiled, parallel_region


@compiled(parallel=True)
def _count(rows, top, narrowing):
    nonfinite = 0
    beyond = 0
    for i in prange(rows.shape[0]):
        for j in range(rows.shape[1]):
            v = rows[i, j]
            if not np.isfinite(v):
                nonfinite += 1
            elif narrowing and abs(v) > top:
                beyond += 1
    return nonfinite, beyond


def count(rows: np.ndarray, top: float, narrowing: bool) -> tuple[int, int]:
    """(values not finite, finite values beyond ``top`` where ``narrowing``) in a 2-D float array."""
    with parallel_region():  # serialized under Numba's workqueue layer, which is not thread-safe
        nonfinite, beyond = _count(rows, top, narrowing)
    return int(nonfinite), int(beyond)


_common.install_scan(count)
