"""The dask rung's blocks: what one task computes, and X and y cut into row blocks held by the workers.

A task runs ``numba_fused``'s compiled rows kernel on its block of rows (the same machine code
as the one-process rung: no second copy of the maths) and returns the block's gradient sum,
error sum and loss sum. In memory, there is one block per worker thread: each task costs the
scheduler a fixed time, so the fewest blocks that keep every thread busy cost the least per
epoch (the benchmarks' block-size axis measures the alternative). The blocks are sent to the
workers once per fit and kept in their memory across epochs (``persist``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import cache
from importlib import import_module
from typing import Any

import numpy as np

from impls import numba_fused
from impls._common import Problem
from impls._jit import compiled, specialize
from impls.dask.cluster import client, with_workers, worker_threads


def block_sums(X, y, w, b):
    """``numba_fused``'s rows over a whole block: [gradient sum (n), error sum, loss sum], float64."""
    n = X.shape[1]
    out = np.zeros(n + 2)
    db, cost = fused_rows(X, y, w, b, 0, X.shape[0], out[:n])  # noqa: F821 (bound below)
    out[n] = db
    out[n + 1] = cost
    return out


@cache
def _kernel():
    """``block_sums`` with ``numba_fused``'s compiled rows kernel (from Numba's disk cache)."""
    rows = numba_fused.FAMILY.helpers["fused_rows"]
    bound = specialize(block_sums, "dask_block_sums", fused_rows=rows)
    return compiled(bound, nogil=True)  # a worker's threads run blocks at once


def block_terms(X_block: np.ndarray, y_block: np.ndarray, w: np.ndarray, b: float) -> np.ndarray:
    """One task: a block of rows in, its [gradient sum, error sum, loss sum] out."""
    return _kernel()(X_block, y_block, w, b)


def no_work(X_block: np.ndarray, y_block: np.ndarray, w: np.ndarray, b: float) -> np.ndarray:
    """A task that reads nothing: an epoch of these costs only the scheduling (the overhead)."""
    return np.zeros(len(w) + 2)


def rows_per_task(m: int, n: int, itemsize: int, threads: int, max_bytes: int | None = None) -> int:
    """Rows of X per block (a task each): one block per worker thread, none over ``max_bytes`` if given."""
    rows = -(-m // max(1, threads))
    if max_bytes is not None:
        rows = min(rows, max(1, max_bytes // (n * itemsize)))
    return max(1, rows)


@dataclass
class State:
    """A problem on the cluster: X's and y's blocks, where the workers hold or read them."""

    X: Any  # X as a dask array of row blocks (persisted in the workers' memory, or read from a store)
    X_blocks: list  # per block: the future of the persisted block, or a StoreBlock to read
    y_blocks: list  # per block: the future of y's persisted block
    w0: np.ndarray
    b0: float
    client: Any


def _in_row_order(collection) -> list:
    """The futures of a persisted dask array's blocks, in the order of its rows."""
    futures = {future.key: future for future in import_module("distributed").futures_of(collection)}
    return [futures[key] for key in import_module("dask.core").flatten(collection.__dask_keys__())]


def distribute(X, y, rows: int, active) -> tuple[Any, list, list]:
    """X and y as dask arrays of ``rows``-row blocks, persisted in the workers' memory.

    Each block's task holds its own slice of the caller's array, so the scheduler can recompute
    a block lost with its worker; nothing else of X travels with it.
    """
    da = import_module("dask.array")
    delayed = import_module("dask").delayed
    m, n = X.shape
    starts = range(0, m, rows)
    X_blocks = [
        da.from_delayed(delayed(np.array)(X[i : i + rows]), (min(rows, m - i), n), X.dtype) for i in starts
    ]
    y_blocks = [
        da.from_delayed(delayed(np.array)(y[i : i + rows]), (min(rows, m - i),), y.dtype) for i in starts
    ]
    with warnings.catch_warnings():  # the blocks travel in the graph on purpose: it is their lineage
        warnings.filterwarnings("ignore", message="Sending large graph", category=UserWarning)
        X_d, y_d = active.persist([da.concatenate(X_blocks), da.concatenate(y_blocks)])
    with active.as_current():  # wait() asks for the current client; this process sets no default
        import_module("distributed").wait([X_d, y_d])
    return X_d, _in_row_order(X_d), _in_row_order(y_d)


def prepare(problem: Problem, rows: int | None = None) -> State:
    """X and y sent to the workers, in blocks of ``rows`` rows (default: ``rows_per_task``)."""
    active = with_workers(client())
    m, n = problem.X.shape
    rows = rows or rows_per_task(m, n, problem.X.itemsize, worker_threads(active))
    X_d, X_blocks, y_blocks = distribute(problem.X, problem.y, rows, active)
    return State(X_d, X_blocks, y_blocks, problem.w0, problem.b0, active)
