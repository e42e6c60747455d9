"""The roofline probe: how fast this machine can read X, using every core.

One epoch of the descent must read all of X at least once, so ``bytes of X / probe
time`` is the fastest an epoch can go once X no longer fits in cache.
"""

from __future__ import annotations

import math
import time

import numpy as np
from numba import prange

from impls._jit import compiled

BLOCK = 1 << 14  # elements per parallel task: 128 KiB of float64


# Cached on disk like the ladder's kernels: every side-by-side process reads X with it, and
# compiling it took 1.8 s of each process's start.
@compiled(parallel=True, fastmath=True)
def _sum_blocks(flat):
    n_blocks = (flat.size + BLOCK - 1) // BLOCK
    partials = np.zeros(n_blocks)
    for k in prange(n_blocks):
        # A slice per block gives LLVM a simple counted loop it vectorizes (fastmath lets it
        # split the sum over SIMD lanes); indexing the flat array between computed bounds
        # instead compiled to a partly scalar loop here that read at a quarter of the speed.
        block = flat[k * BLOCK : (k + 1) * BLOCK]
        partial = flat.dtype.type(0)  # sum in the data's own precision, like the SIMD loads
        for i in range(block.size):
            partial += block[i]
        partials[k] = partial
    return partials.sum()


def read_all(X: np.ndarray) -> float:
    """Sum every element of a C-contiguous array: a pure streaming read, SIMD and all threads."""
    return _sum_blocks(X.reshape(-1))


def reads_lasting(X: np.ndarray, seconds: float) -> int:
    """How many whole reads of X together last at least ``seconds`` (one at least).

    Where X sits in the cache one read lasts tens of microseconds, and entering the threads'
    parallel region (microseconds, more when they were asleep) is a quarter of it; the probe
    times that many reads back to back and gives their mean, as the planner's turns do.
    """
    wake(X)
    start = time.perf_counter()
    _sum_blocks(X.reshape(-1))
    once = time.perf_counter() - start
    return max(1, math.ceil(seconds / max(once, 1e-9)))


#: How long the probe's threads read X, untimed, before a timed read: after a serial epoch of 12 ms
#: one read of an X of 80 MB (2 ms) still left the next read 7-9% slow, 20 ms of reads none
#: (bench/FINDINGS.md).
WAKE_S = 0.02


def wake(X: np.ndarray, seconds: float = WAKE_S) -> None:
    """Read all of X with every thread, untimed, for ``seconds`` (at least once): the probe's threads
    (and, in a virtual machine, the CPUs they run on) are awake, and X is where a read leaves it,
    when a timed read follows something that left them idle, such as a serial epoch."""
    end = time.perf_counter() + seconds
    _sum_blocks(X.reshape(-1))
    while time.perf_counter() < end:
        _sum_blocks(X.reshape(-1))
