"""Numba at the memory limit: ``numba_tiled`` plus prefetch, blocks of four rows, native float32.

The rungs below it leave the memory system idle part of the time. One core can only have
a limited number of cache misses in flight, and its out-of-order window reaches only a
row or two ahead once every row also carries gradient work; while a tile's loss, error
and gradient are being computed, no new data is on its way. Three changes:

1. **Software prefetch.** A cursor runs a tile plus AHEAD_BYTES ahead of the rows being
   read and asks for one cache line at a time (``impls/_prefetch.py``). It moves half a
   row for every row either pass visits, so requests are spread over all the tile's
   work, not bunched into the first pass.
2. **Four rows at a time.** The logits of four rows share each load of ``w`` and run four
   independent sums; the gradient adds four rows per load and store of the accumulator.
   With short rows, per-row overheads (the horizontal sum, the loop) otherwise dominate.
3. **Arithmetic in the data's precision.** For float32 data the dot products and the
   tile's gradient run in float32 SIMD (twice the lanes of float64); each tile's gradient
   is then added into the chunk's float64 accumulator, so rounding stays per tile.

Tiles hold TILE_BYTES of rows, small enough to be re-read from L1 by the gradient pass.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numba.extending import register_jitable

from impls._common import Tolerance
from impls._prefetch import prefetch
from impls.numba_fused import FASTMATH, make_rung
from impls.numba_tiled import TILE_MATH, tile_terms

TILE_BYTES = 16 * 1024  # half of a 32 KiB L1 data cache
MAX_TILE = 256  # rows per tile at most (short rows)
AHEAD_BYTES = 4096  # how far ahead of the tile the prefetch cursor runs, at least
LINE_BYTES = 64

TOLERANCE = Tolerance(
    float64=1e-9,
    float32=1e-4,
    why="as numba_tiled (fastmath dot products, polynomial exp and log1p); float32 data are "
    "summed in float32 within a row and a tile of rows, in float64 across tiles",
)


@register_jitable
def tile_rows(n: int, itemsize: int) -> int:
    """Rows per tile: TILE_BYTES of rows, a multiple of 4, between 4 and MAX_TILE."""
    rows = TILE_BYTES // (n * itemsize)
    return max(4, min(MAX_TILE, rows - rows % 4))


@njit(inline="always")
def prefetch_until(flat, cursor, target, line):
    """Prefetch the lines from element ``cursor`` up to ``target``; return the new cursor."""
    while cursor < target:
        prefetch(flat, cursor)
        cursor += line
    return cursor


def streamed_chunk(X, y, w, b, start, stop, acc):
    """Rows [start, stop) tile by tile, as in numba_tiled, with the next rows prefetched."""
    n = X.shape[1]
    flat = X.reshape(-1)  # C-contiguous, so row i starts at element i*n
    zero = X.dtype.type(0)
    z = np.empty(MAX_TILE)
    loss = np.empty(MAX_TILE)
    error = np.empty(MAX_TILE)
    scale_bits = np.empty(MAX_TILE, dtype=np.int64)
    tile_grad = np.zeros(n, dtype=X.dtype)
    tile = tile_rows(n, X.itemsize)
    line = LINE_BYTES // X.itemsize
    ahead = max(AHEAD_BYTES // X.itemsize, tile * n)
    last = stop * n
    cursor = start * n
    db = 0.0
    cost = 0.0
    for t0 in range(start, stop, tile):
        size = min(stop - t0, tile)
        lead = t0 * n + ahead  # where the cursor should be when this tile starts
        # (1) logits, four rows at a time: the only read of these rows from memory
        i = 0
        while i < size:
            cursor = prefetch_until(flat, cursor, min(last, lead + (i + 4) * n // 2), line)
            if i + 4 <= size:
                r0, r1, r2, r3 = X[t0 + i], X[t0 + i + 1], X[t0 + i + 2], X[t0 + i + 3]
                s0, s1, s2, s3 = zero, zero, zero, zero
                for j in range(n):
                    wj = w[j]
                    s0 += r0[j] * wj
                    s1 += r1[j] * wj
                    s2 += r2[j] * wj
                    s3 += r3[j] * wj
                z[i], z[i + 1], z[i + 2], z[i + 3] = s0 + b, s1 + b, s2 + b, s3 + b
                i += 4
            else:  # the last rows of the chunk
                row = X[t0 + i]
                s = zero
                for j in range(n):
                    s += row[j] * w[j]
                z[i] = s + b
                i += 1
        # (2) loss and error of the whole tile in SIMD
        tile_terms(z[:size], y[t0 : t0 + size], loss[:size], error[:size], scale_bits[:size])
        # (3) gradient, re-reading the rows from L1
        lead += size * n // 2
        i = 0
        while i < size:
            cursor = prefetch_until(flat, cursor, min(last, lead + (i + 4) * n // 2), line)
            if i + 4 <= size:
                r0, r1, r2, r3 = X[t0 + i], X[t0 + i + 1], X[t0 + i + 2], X[t0 + i + 3]
                e0 = X.dtype.type(error[i])
                e1 = X.dtype.type(error[i + 1])
                e2 = X.dtype.type(error[i + 2])
                e3 = X.dtype.type(error[i + 3])
                for j in range(n):
                    tile_grad[j] += e0 * r0[j] + e1 * r1[j] + e2 * r2[j] + e3 * r3[j]
                i += 4
            else:
                row = X[t0 + i]
                e = X.dtype.type(error[i])
                for j in range(n):
                    tile_grad[j] += e * row[j]
                i += 1
        for j in range(n):
            acc[j] += tile_grad[j]
            tile_grad[j] = zero
        for i in range(size):
            db += error[i]
            cost += loss[i]
    return db, cost


RUNG = make_rung(
    "numba_parallel",
    "numba_tiled plus software prefetch, four rows per inner loop and float32 arithmetic "
    "for float32 data: the memory system never waits for the core.",
    streamed_chunk,
    {"fastmath": FASTMATH, "error_model": TILE_MATH["error_model"]},
    TOLERANCE,
    core=(streamed_chunk, prefetch_until),
    extra_kernels=(tile_terms,),
)
