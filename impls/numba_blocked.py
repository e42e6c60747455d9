"""Numba in blocks of rows kept in L1: each row read once, used at once, the next rows prefetched.

``numba_tiled`` reads a tile of rows for the logits, computes the tile's loss and error,
then reads the tile again for the gradient. Its polynomial ``exp`` needs the tile (the
loop vectorizer wants hundreds of iterations), and while the tile's loss and gradient are
computed no new data is on its way from memory. This rung keeps the memory system busy:

1. **Blocks of a few rows, used while they are in L1.** Logits of a block, then the block's
   loss and error as one SIMD vector, then the block's gradient. All three are SIMD code
   written as LLVM vector IR (``impls/_simd.py``), because LLVM's own vectorizers do badly
   on loops this short: the loss and error stay scalar, and a dot product over a short row
   spends most of its time in remainder loops and horizontal sums. The logits and the
   gradient take four rows at a time, so each load of ``w`` and each load and store of the
   gradient serves four rows. Short rows get more rows per block, so the vector of losses
   stays wide.
2. **Software prefetch.** A cursor runs a prefetch distance (AHEAD_BYTES here) ahead of the
   rows being read and asks for one cache line at a time (``impls/_prefetch.py``). Before each
   group of four rows in the logits pass it moves up to two rows past that group's first row
   (plus the distance), and before each group in the gradient pass up to four rows past it. With
   blocks of 4 rows the requests split evenly between the passes; with blocks of 8 or 16
   most fall in the logits pass.
3. **Arithmetic in the data's precision.** For float32 data the dot products and the
   gradient run in float32 SIMD (twice the lanes of float64); every FLUSH_ROWS rows the
   float32 gradient is added into the chunk's float64 accumulator, so rounding stays local.

The rows per block and the prefetch distance are knobs, ``(rows, ahead_bytes)``, with
``ahead_bytes < 0`` for no prefetch at all. This rung picks them by a rule of thumb
(``block_rows``, AHEAD_BYTES) that was measured on one CPU; ``numba_tuned`` measures them
on the machine it runs on.
"""

from __future__ import annotations

import numpy as np

from impls._common import Tolerance
from impls._jit import compiled, specialize
from impls._prefetch import LINE_BYTES, prefetch_until
from impls._simd import dot_rows4, grad_rows4, logistic_terms_simd
from impls.numba_fused import FASTMATH, Family, make_rung
from impls.numba_tiled import TILE_MATH

# How far ahead of the rows being read the prefetch cursor runs: the rule of thumb, tuned on an
# Intel Xeon (Cascade Lake). numba_tuned measures other distances, and none.
AHEAD_BYTES = 4096
NO_PREFETCH = -1
BLOCK_SIZES = (4, 8, 16)
FLUSH_ROWS = 64  # rows between additions of the block gradient into the float64 accumulator

TOLERANCE = Tolerance(
    float64=1e-9,
    float32=1e-4,
    why="as numba_tiled (fastmath dot products, polynomial exp and log1p); float32 data are "
    "summed in float32 within a row and over FLUSH_ROWS rows, in float64 beyond",
)


def block_rows(n: int, itemsize: int) -> int:
    """Rows per block: 4 for rows of 256 bytes or more, 8 down to 64 bytes, 16 below.

    Long rows fill L1 quickly, so their blocks stay small; for short rows a block of 8 or 16
    keeps the loss and error vector wide. (In interleaved runs, 400-byte rows ran clearly
    faster in blocks of 4 than of 8; at n = 25 the three sizes were within the noise.)
    """
    row_bytes = n * itemsize
    return 4 if row_bytes >= 256 else 8 if row_bytes >= 64 else 16


def block_pass(X, y, w, b, start, stop, acc, ahead_bytes):
    """Rows [start, stop) of a chunk in blocks of ROWS rows (a multiple of 4; a global bound per copy).

    ``terms`` (also bound per copy) is the SIMD loss and error of ROWS lanes. The prefetch
    cursor runs ``ahead_bytes`` ahead of the rows being read; below 0, nothing is prefetched.
    With SKEW (bound per copy) each block's gradient is taken one block late: after the next
    block's logits, whose rows are then still arriving from memory while the core works on
    rows already in L1 (``numba_tuned`` races both orders).
    """
    n = X.shape[1]
    rows = ROWS  # noqa: F821
    flat = X.reshape(-1)  # C-contiguous, so row i starts at element i*n
    zero = X.dtype.type(0)
    z = np.zeros(rows)
    yb = np.zeros(rows)
    loss = np.empty(rows)
    error = np.empty(rows)
    late = np.zeros(rows)  # with SKEW: the errors of the block whose gradient is still to come
    grad = np.zeros(n, dtype=X.dtype)
    line = LINE_BYTES // X.itemsize
    ahead = max(ahead_bytes, 0) // X.itemsize
    prefetching = ahead_bytes >= 0
    last = stop * n
    cursor = start * n
    db = 0.0
    cost = 0.0
    since_flush = 0
    previous = -1  # with SKEW: the first row of that block
    i = start
    while i + rows <= stop:
        # (1) logits: the only read of these rows from memory (four in lockstep; with SKEW one
        # row after another, as the hardware's prefetcher reads ahead best)
        for g in range(0, rows, 4):
            if prefetching:
                cursor = prefetch_until(flat, cursor, min(last, (i + g + 2) * n + ahead), line)
            if SKEW:  # noqa: F821
                for k in range(g, g + 4):
                    row = X[i + k]
                    s = zero
                    for j in range(n):
                        s += row[j] * w[j]
                    z[k] = s + b
            else:
                dot_rows4(flat, (i + g) * n, n, w, b, z, g)
        if SKEW and previous >= 0:  # noqa: F821  (3, one block late) the last block's gradient
            for g in range(0, rows, 4):
                if prefetching:
                    cursor = prefetch_until(flat, cursor, min(last, (i + g + 4) * n + ahead), line)
                grad_rows4(flat, (previous + g) * n, n, late, g, grad)
        for k in range(rows):
            yb[k] = y[i + k]
        # (2) loss and error of the whole block: one SIMD vector of `rows` lanes
        terms(z, yb, loss, error)  # noqa: F821
        if not SKEW:  # noqa: F821  (3) gradient, four rows at a time, re-read from L1
            for g in range(0, rows, 4):
                if prefetching:
                    cursor = prefetch_until(flat, cursor, min(last, (i + g + 4) * n + ahead), line)
                grad_rows4(flat, (i + g) * n, n, error, g, grad)
        for k in range(rows):
            db += error[k]
            cost += loss[k]
            if SKEW:  # noqa: F821
                late[k] = error[k]
        previous = i
        i += rows
        since_flush += rows
        if since_flush >= FLUSH_ROWS:  # with SKEW the last block's rows wait for the next flush
            for j in range(n):
                acc[j] += grad[j]
                grad[j] = zero
            since_flush = 0
    if SKEW and previous >= 0:  # noqa: F821  the last whole block's gradient
        for g in range(0, rows, 4):
            grad_rows4(flat, (previous + g) * n, n, late, g, grad)
    # The chunk's last rows (fewer than a block): the same steps, one row at a time.
    size = stop - i
    for k in range(size):
        row = X[i + k]
        s = zero
        for j in range(n):
            s += row[j] * w[j]
        z[k] = s + b
        yb[k] = y[i + k]
    terms(z, yb, loss, error)  # noqa: F821  (lanes from `size` on hold stale values, unused)
    for k in range(size):
        row = X[i + k]
        e = X.dtype.type(error[k])
        for j in range(n):
            grad[j] += e * row[j]
        db += error[k]
        cost += loss[k]
    for j in range(n):
        acc[j] += grad[j]
    return db, cost


BLOCK_OPTIONS = {"fastmath": FASTMATH, "error_model": TILE_MATH["error_model"]}
_PASS_4, _PASS_8, _PASS_16 = (
    compiled(
        specialize(block_pass, f"block_pass_{rows}", ROWS=rows, SKEW=False, terms=logistic_terms_simd(rows)),
        **BLOCK_OPTIONS,
    )
    for rows in BLOCK_SIZES
)
SKEWED_SIZES = (4, 8)
_SKEWED_4, _SKEWED_8 = (
    compiled(
        specialize(block_pass, f"skewed_pass_{rows}", ROWS=rows, SKEW=True, terms=logistic_terms_simd(rows)),
        **BLOCK_OPTIONS,
    )
    for rows in SKEWED_SIZES
)


def blocked_chunk(X, y, w, b, start, stop, acc, knobs):
    """Rows [start, stop): logits, loss and gradient block by block, the next rows prefetched.

    ``knobs`` is (rows per block: 4, 8 or 16; prefetch distance in bytes, < 0 for none).
    """
    rows, ahead_bytes = knobs
    if rows == 4:
        return _PASS_4(X, y, w, b, start, stop, acc, ahead_bytes)
    if rows == 8:
        return _PASS_8(X, y, w, b, start, stop, acc, ahead_bytes)
    return _PASS_16(X, y, w, b, start, stop, acc, ahead_bytes)


def skewed_chunk(X, y, w, b, start, stop, acc, knobs):
    """``blocked_chunk`` with each block's gradient one block late (``block_pass``'s SKEW):
    ``knobs`` is (rows per block: 4 or 8; prefetch distance in bytes, < 0 for none)."""
    rows, ahead_bytes = knobs
    if rows == 4:
        return _SKEWED_4(X, y, w, b, start, stop, acc, ahead_bytes)
    return _SKEWED_8(X, y, w, b, start, stop, acc, ahead_bytes)


def rule_of_thumb(n: int, itemsize: int) -> tuple[int, int]:
    """The knobs this rung uses: ``block_rows`` and AHEAD_BYTES."""
    return block_rows(n, itemsize), AHEAD_BYTES


FAMILY = Family(
    "blocked",
    blocked_chunk,
    BLOCK_OPTIONS,
    helpers={"_PASS_4": _PASS_4, "_PASS_8": _PASS_8, "_PASS_16": _PASS_16},
)

#: The skewed order, for ``numba_tuned`` only: no rung ships it.
SKEWED = Family(
    "skewed", skewed_chunk, BLOCK_OPTIONS, helpers={"_SKEWED_4": _SKEWED_4, "_SKEWED_8": _SKEWED_8}
)

RUNG = make_rung(
    "numba_blocked",
    "Blocks of a few rows used while in L1 (logits, SIMD loss and error, gradient), the next "
    "rows prefetched, float32 arithmetic for float32 data; block size and prefetch distance by a rule of "
    "thumb tuned on one CPU.",
    FAMILY,
    TOLERANCE,
    core=(blocked_chunk, block_pass),
    knobs=rule_of_thumb,
)
