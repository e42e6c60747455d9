"""Numba, parallel, fused and tiled: exp and log1p computed in SIMD over tiles of rows.

In ``numba_fused`` each example makes two scalar calls into the C library, ``exp``
and ``log1p``: for short rows those calls, not memory, set the pace. Here each chunk is
cut into tiles of up to TILE rows (fewer for long rows, so a tile stays in cache). For
a tile: (1) the logits of its rows, read from memory; (2) loss and error of the whole
tile, with exp and log1p written as plain polynomial arithmetic that LLVM vectorizes;
(3) the gradient, re-reading the tile's rows from cache. X still comes from memory once
per epoch.

The tile's size in bytes is a knob (``knobs[0]``): ``numba_tiled`` uses TILE_BYTES,
``numba_tuned`` measures others.

Two details make (2) vectorize. ``error_model="numpy"``: by default Numba checks every
float division for zero (to raise ZeroDivisionError), and that branch stops LLVM from
vectorizing the loop. And no ``reassoc`` in the tile math, which relies on the exact
order of its operations (the two-part ln 2 reduction).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from impls._common import Tolerance
from impls._jit import compiled
from impls.numba_fused import FASTMATH, Family, make_rung

TILE = 256  # rows per tile at most: 256 rows of 100 doubles (200 KiB)
# A tile must still be in cache when step (3) re-reads it: long rows get fewer rows per tile.
# The heuristic size, half of a common 512 KiB L2; numba_tuned measures others.
TILE_BYTES = 256 * 1024

# exp(x) = 2**k * exp(r), x = k*ln2 + r, |r| <= ln2/2, with ln2 split in two parts so
# that k*LN2_HI is exact (Cody & Waite).
LN2_HI = 6.93147180369123816490e-01
LN2_LO = 1.90821492927058770002e-10
INV_LN2 = 1.44269504088896338700e00
# exp(-708) ~ 3e-308 is the smallest normal result: below it e only changes a loss by
# less than 1e-307, and sigmoid(z) is then e/(1+e) rounded to 0 or 1 anyway.
EXP_FLOOR = -708.0

TOLERANCE = Tolerance(
    float64=1e-9,
    float32=1e-4,
    why="fastmath dot products as in numba_fused, plus polynomial exp and log1p "
    "accurate to a few units in the last place",
)

TILE_MATH = {"fastmath": {"contract"}, "error_model": "numpy"}


# The polynomials are written out term by term: LLVM vectorizes straight-line arithmetic,
# where a loop over a tuple of coefficients compiled here to scalar code 6x slower.
@njit(inline="always", **TILE_MATH)
def exp_taylor(r):
    """exp(r) for |r| <= ln2/2 by Taylor series to r**13: the tail is below 2e-18."""
    p = 1.0 / 6227020800.0  # 1/13!
    p = p * r + 2.08767569878681e-09  # 1/12!
    p = p * r + 2.505210838544172e-08  # 1/11!
    p = p * r + 2.755731922398589e-07  # 1/10!
    p = p * r + 2.7557319223985893e-06  # 1/9!
    p = p * r + 2.48015873015873e-05  # 1/8!
    p = p * r + 0.0001984126984126984  # 1/7!
    p = p * r + 0.001388888888888889  # 1/6!
    p = p * r + 0.008333333333333333  # 1/5!
    p = p * r + 0.041666666666666664  # 1/4!
    p = p * r + 0.16666666666666666  # 1/3!
    p = p * r + 0.5  # 1/2!
    p = p * r + 1.0  # 1/1!
    p = p * r + 1.0  # 1/0!
    return p


@njit(inline="always", **TILE_MATH)
def atanh_series(s2):
    """(atanh(s) / s) from s**2, for s <= 1/3: 1 + s^2/3 + s^4/5 + ... to s^36/37 (tail < 1e-20)."""
    q = 1.0 / 37.0
    q = q * s2 + 0.02857142857142857  # 1/35
    q = q * s2 + 0.030303030303030304  # 1/33
    q = q * s2 + 0.03225806451612903  # 1/31
    q = q * s2 + 0.034482758620689655  # 1/29
    q = q * s2 + 0.037037037037037035  # 1/27
    q = q * s2 + 0.04  # 1/25
    q = q * s2 + 0.043478260869565216  # 1/23
    q = q * s2 + 0.047619047619047616  # 1/21
    q = q * s2 + 0.05263157894736842  # 1/19
    q = q * s2 + 0.058823529411764705  # 1/17
    q = q * s2 + 0.06666666666666667  # 1/15
    q = q * s2 + 0.07692307692307693  # 1/13
    q = q * s2 + 0.09090909090909091  # 1/11
    q = q * s2 + 0.1111111111111111  # 1/9
    q = q * s2 + 0.14285714285714285  # 1/7
    q = q * s2 + 0.2  # 1/5
    q = q * s2 + 0.3333333333333333  # 1/3
    q = q * s2 + 1.0  # 1/1
    return q


@compiled(**TILE_MATH)
def tile_terms(z, y, loss, error, scale_bits):
    """Loss and error (sigmoid(z) - y) for a tile of logits, in loops LLVM vectorizes."""
    size = z.shape[0]
    for i in range(size):  # e = exp(-|z|): polynomial part, and 2**k as raw float bits
        x = max(-abs(z[i]), EXP_FLOOR)
        k = np.int64(x * INV_LN2 - 0.5)  # rounds to nearest for x <= 0
        r = (x - k * LN2_HI) - k * LN2_LO
        error[i] = exp_taylor(r)
        scale_bits[i] = (k + 1023) << 52
    scale = scale_bits.view(np.float64)
    for i in range(size):
        error[i] *= scale[i]  # error holds e = exp(-|z|) for now
    for i in range(size):
        e = error[i]
        s = e / (2.0 + e)  # log1p(e) = 2 atanh(s), s <= 1/3
        log1p_e = 2.0 * s * atanh_series(s * s)
        zi = z[i]
        loss[i] = 0.5 * (zi + abs(zi)) + log1p_e - y[i] * zi  # max(z, 0) + log1p(e) - y z
    for i in range(size):
        e = error[i]
        numerator = e + (1.0 - e) * (z[i] >= 0.0)  # 1 if z >= 0 else e
        error[i] = numerator / (1.0 + e) - y[i]


def tiled_chunk(X, y, w, b, start, stop, acc, knobs):
    """Rows [start, stop) tile by tile: logits, then tile_terms, then the gradient.

    ``knobs[0]`` is the tile's size in bytes (at most TILE rows, at least 8).
    """
    n = X.shape[1]
    z = np.empty(TILE)
    loss = np.empty(TILE)
    error = np.empty(TILE)
    scale_bits = np.empty(TILE, dtype=np.int64)
    db = 0.0
    cost = 0.0
    tile = min(TILE, max(8, knobs[0] // (n * X.itemsize)))
    for t0 in range(start, stop, tile):
        size = min(stop - t0, tile)
        for i in range(size):  # (1) forward: the only read of these rows from memory
            row = X[t0 + i]
            s = b
            for j in range(n):
                s += row[j] * w[j]
            z[i] = s
        tile_terms(z[:size], y[t0 : t0 + size], loss[:size], error[:size], scale_bits[:size])  # (2)
        for i in range(size):  # (3) backward: the same rows, now from L2
            row = X[t0 + i]
            err = error[i]
            for j in range(n):
                acc[j] += err * row[j]
            db += err
            cost += loss[i]
    return db, cost


FAMILY = Family(
    "tiled", tiled_chunk, {"fastmath": FASTMATH, "error_model": "numpy"}, helpers={"tile_terms": tile_terms}
)

RUNG = make_rung(
    "numba_tiled",
    "numba_fused with tiles of rows: exp and log1p in SIMD over each tile instead of one "
    "scalar library call per example.",
    FAMILY,
    TOLERANCE,
    core=(tiled_chunk, tile_terms),
    knobs=lambda n, itemsize: (TILE_BYTES, 0),
)
