"""Dask: the fused epoch on a cluster, X chunked by rows and held by the workers.

What a Dask user would write for this descent (the shape of dask-glm's gradient descent and of
Spark's ``treeAggregate``): X is a dask array chunked by rows, sent to the workers once per fit
and kept in their memory across epochs (``persist``). Each epoch, every block of rows is a task
that runs ``numba_fused``'s compiled chunk kernel (the same machine code as the one-process
rung: no second copy of the maths) and returns the block's gradient sum, error sum and loss sum.
The partial sums are added as a tree, SPLIT_EVERY at a time on the workers, the client adding
the last few, and the client updates w and b.

The cluster: with a scheduler address in Dask's configuration (``DASK_SCHEDULER_ADDRESS``, or
``dask.config.set({"scheduler-address": ...})``), that cluster; an address that does not answer
within ``CONNECT_TIMEOUT_S`` is a ``ConnectionError``. Otherwise a ``distributed.LocalCluster``
started on first use and reused by every fit in this process: one worker with a thread per core,
in this process (``processes=False``). That is Dask's advice for numeric work that releases the
GIL, as this kernel does (``nogil``): no copy of X between processes, and each message between
scheduler and worker costs a function call instead of a socket (the benchmarks also time a
cluster of worker processes, and the tests run real ones).

Blocks: in memory, one block per worker thread: each task costs the scheduler a fixed time,
so the fewest blocks that keep every thread busy cost the least per epoch (the benchmarks'
block-size axis measures the alternative). Read from a store, a block is at most
``MAX_BLOCK_BYTES``, so that a worker whose memory is smaller than X can hold the blocks it reads.

Registered only where ``distributed`` is installed (``pip install -e '.[dask]'``), and imported on
first use.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from importlib import import_module
from typing import Any

import numpy as np

from impls import numba_fused
from impls._common import FitResult, Problem, Rung, Tolerance, validate
from impls._jit import compiled, specialize

CONNECT_TIMEOUT_S = 5.0
MAX_BLOCK_BYTES = 64 * 2**20  # at most this much of X per task that reads X from a store
SPLIT_EVERY = 8  # partial sums added per task of the reduction tree

TOLERANCE = Tolerance(
    float64=numba_fused.TOLERANCE.float64,
    float32=numba_fused.TOLERANCE.float32,
    why="numba_fused's kernel on each block (fastmath reassociates its dot products), and the "
    "blocks' sums added as a tree: a different order of the same float64 sums",
)


def block_sums(X, y, w, b):
    """The fused chunk kernel over a whole block: [gradient sum (n), error sum, loss sum], float64."""
    n = X.shape[1]
    out = np.zeros(n + 2)
    db, cost = chunk(X, y, w, b, 0, X.shape[0], out[:n], NO_KNOBS)  # noqa: F821 (bound below)
    out[n] = db
    out[n + 1] = cost
    return out


@cache
def _kernel():
    """``block_sums`` with ``numba_fused``'s compiled chunk kernel (from Numba's disk cache)."""
    chunk = numba_fused.RUNG.kernels[0]
    bound = specialize(block_sums, "dask_block_sums", chunk=chunk, NO_KNOBS=numba_fused.NO_KNOBS)
    return compiled(bound, nogil=True)  # a worker's threads run blocks at once


def block_terms(X_block: np.ndarray, y_block: np.ndarray, w: np.ndarray, b: float) -> np.ndarray:
    """One task: a block of rows in, its [gradient sum, error sum, loss sum] out."""
    return _kernel()(X_block, y_block, w, b)


def block_rows(m: int, n: int, itemsize: int, threads: int, max_bytes: int | None = None) -> int:
    """Rows per block: one block per worker thread, and no block over ``max_bytes`` if given."""
    rows = -(-m // max(1, threads))
    if max_bytes is not None:
        rows = min(rows, max(1, max_bytes // (n * itemsize)))
    return max(1, rows)


_lock = threading.Lock()
_client: Any = None


def client():
    """The client of this process's cluster: the configured scheduler's, or a LocalCluster's."""
    global _client
    with _lock:
        if _client is not None and _client.status == "running":
            return _client
        dask = import_module("dask")
        distributed = import_module("distributed")
        address = dask.config.get("scheduler-address", None)
        if address:
            try:
                _client = distributed.Client(address, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
            except (OSError, TimeoutError) as exc:
                raise ConnectionError(
                    f"dask: no scheduler answered at {address} (DASK_SCHEDULER_ADDRESS) "
                    f"within {CONNECT_TIMEOUT_S:g} s: {exc}"
                ) from None
        else:
            cluster = local_cluster(
                n_workers=1,
                threads_per_worker=os.cpu_count() or 1,
                processes=False,
                dashboard_address="127.0.0.1:0",
                silence_logs=logging.ERROR,
            )
            _client = distributed.Client(cluster, set_as_default=False)
        atexit.unregister(close)  # once, however many clients this process opens and closes
        atexit.register(close)
        return _client


def local_cluster(**kwargs):
    """A ``distributed.LocalCluster`` that leaves this process's thread settings as they were.

    Before it starts each worker process, a Dask nanny copies ``distributed.nanny.pre-spawn-environ``
    (``OMP_NUM_THREADS=1`` and the like) into the environment of the process that runs it: this
    one. A library that reads those variables when it is first imported here afterwards (PyTorch
    sizes its thread pool so) would run on one thread. Here they go to the worker processes only.
    """
    dask, distributed = import_module("dask"), import_module("distributed")
    worker_env = {
        k: str(v) for k, v in (dask.config.get("distributed.nanny.pre-spawn-environ") or {}).items()
    }
    if kwargs.get("processes", True):  # threads of this process have no environment of their own
        kwargs["env"] = {**worker_env, **kwargs.get("env", {})}
    with dask.config.set({"distributed.nanny.pre-spawn-environ": {}}):
        return distributed.LocalCluster(**kwargs)


HEARTBEAT_NOISE = "Failed to communicate with scheduler during heartbeat"


def _heartbeat_noise(record: logging.LogRecord) -> bool:
    """False (drop) for the heartbeat failure a worker logs when its cluster closes under it."""
    return not str(record.msg).startswith(HEARTBEAT_NOISE)


def close() -> None:
    """Close this process's client, and the LocalCluster it started (if it started one)."""
    global _client
    with _lock:
        if _client is None:
            return
        cluster = _client.cluster
        # A worker closing while its heartbeat is in flight logs "Failed to communicate with
        # scheduler during heartbeat" (an ERROR, with a traceback) now and then: noise of the
        # shutdown we asked for, printed on the caller's stderr at exit. That message alone is
        # dropped while the cluster closes; every other record of the logger passes.
        worker_log = logging.getLogger("distributed.worker")
        worker_log.addFilter(_heartbeat_noise)
        try:
            _client.close()
            if cluster is not None:
                cluster.close()
        finally:
            worker_log.removeFilter(_heartbeat_noise)
        _client = None


@contextmanager
def using(active):
    """Fits inside the block run on ``active`` (a ``distributed.Client``): a cluster with other limits."""
    global _client
    with _lock:
        before, _client = _client, active
    try:
        yield active
    finally:
        with _lock:
            _client = before


def worker_threads(active=None) -> int:
    """Worker threads of the cluster: the number of blocks it can work on at once."""
    info = (active or client()).scheduler_info(n_workers=-1)["workers"]
    return max(1, sum(worker.get("nthreads", 1) for worker in info.values()))


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
    """X and y sent to the workers, in blocks of ``rows`` rows (default: ``block_rows``)."""
    active = client()
    m, n = problem.X.shape
    rows = rows or block_rows(m, n, problem.X.itemsize, worker_threads(active))
    X_d, X_blocks, y_blocks = distribute(problem.X, problem.y, rows, active)
    return State(X_d, X_blocks, y_blocks, problem.w0, problem.b0, active)


@dataclass(frozen=True)
class StoreBlock:
    """Rows [start, stop) of a Zarr array on disk: what a task reads when X is not in memory."""

    store: str
    start: int
    stop: int
    dtype: str  # the working dtype: the block is converted on reading


@cache
def _open_store(store: str):
    return import_module("zarr").open_array(store, mode="r")


def store_block_terms(block: StoreBlock, y_block: np.ndarray, w: np.ndarray, b: float) -> np.ndarray:
    """One task of an out-of-core epoch: read a block of X from the store, and run the kernel on it."""
    X_block = np.ascontiguousarray(_open_store(block.store)[block.start : block.stop], dtype=block.dtype)
    return _kernel()(X_block, y_block, w, b)


def store_block_check(block: StoreBlock) -> str | None:
    """Why a block of the store is not usable X in the working dtype (a bad value, and where), or None."""
    X_block = _open_store(block.store)[block.start : block.stop]
    with np.errstate(over="ignore"):
        bad = ~np.isfinite(X_block.astype(block.dtype, copy=False))
    if bad.any():
        i, j = np.argwhere(bad)[0]
        return f"X[{block.start + i}, {j}] = {X_block[i, j]!r} is not finite in {block.dtype}"
    return None


def prepare_store(store: str, y: np.ndarray, w0: np.ndarray, b0: float, dtype: np.dtype) -> State:
    """A problem whose X stays in a Zarr store: y is held by the workers, X read every epoch."""
    da = import_module("dask.array")
    active = client()
    X_d = da.from_zarr(store)
    (m, n), rows_per_chunk = X_d.shape, X_d.chunks[0][0]
    rows = block_rows(m, n, X_d.dtype.itemsize, worker_threads(active), MAX_BLOCK_BYTES)
    rows = max(rows_per_chunk, rows - rows % rows_per_chunk)  # whole chunks of the store per task
    X_blocks = [StoreBlock(store, i, min(m, i + rows), str(dtype)) for i in range(0, m, rows)]
    problems = active.gather(active.map(store_block_check, X_blocks, pure=False))
    problem = next((p for p in problems if p), None)
    if problem:
        raise ValueError(f"X (the Zarr array at {store}) must be finite: {problem}")
    y_blocks = active.scatter([y[block.start : block.stop] for block in X_blocks])
    return State(X_d, X_blocks, y_blocks, w0, b0, active)


def fit_zarr(store, y, *, lr, epochs, w0=None, b0=0.0, dtype=None) -> FitResult:
    """The descent with X in a Zarr array on disk (``store``: its path), read block by block every epoch.

    The same answer as ``RUNG.fit`` on the same X in memory. y, w0 and the scalars are checked as
    ``fit`` checks them; X's shape and dtype before any work, and its values by the workers, in
    one read of the store, before the first epoch.
    """
    store = str(store)
    try:
        X_meta = import_module("zarr").open_array(store, mode="r")
    except Exception as exc:  # a missing path, or not a Zarr array
        raise ValueError(f"X must be a Zarr array: nothing readable as one at {store!r} ({exc})") from None
    if X_meta.ndim != 2 or 0 in X_meta.shape:
        raise ValueError(f"X (the Zarr array at {store}) must be 2-D and non-empty, got shape {X_meta.shape}")
    if np.dtype(X_meta.dtype).kind not in "biuf":
        raise TypeError(f"X (the Zarr array at {store}) must hold real numbers, got dtype {X_meta.dtype}")
    # Every other argument exactly as fit() checks it, against a stand-in of X's shape (no data).
    stand_in = np.broadcast_to(np.zeros(1), X_meta.shape)
    problem = validate(stand_in, y, lr=lr, epochs=epochs, w0=w0, b0=b0, dtype=dtype, rung="dask")
    state = prepare_store(store, problem.y, problem.w0, problem.b0, problem.dtype)
    return RUNG.run(state, problem)


def no_work(X_block: np.ndarray, y_block: np.ndarray, w: np.ndarray, b: float) -> np.ndarray:
    """A task that reads nothing: an epoch of these costs only the scheduling (the overhead)."""
    return np.zeros(len(w) + 2)


def reduction_levels(blocks: int) -> list[int]:
    """Tasks at each level of the reduction tree on the workers (its depth: the length).

    The tree's root is the client, which adds the last SPLIT_EVERY or fewer partial sums as
    they arrive: a level of tasks fewer, and one round trip fewer, per epoch.
    """
    levels = []
    while blocks > SPLIT_EVERY:
        blocks = -(-blocks // SPLIT_EVERY)
        levels.append(blocks)
    return levels


def tasks_per_epoch(blocks: int) -> int:
    """Tasks one epoch runs: one per block, then the reduction tree's."""
    return blocks + sum(reduction_levels(blocks))


def add_parts(*parts: np.ndarray) -> np.ndarray:
    """One task of the reduction tree: the sum of a few blocks' partial sums."""
    total = parts[0].copy()
    for part in parts[1:]:
        total += part
    return total


def epoch_sums(state: State, w: np.ndarray, b: float, terms=None) -> np.ndarray:
    """One epoch's [gradient sum, error sum, loss sum]: a task per block, then a tree of sums.

    Each block's task runs where its block is; the partial sums are added SPLIT_EVERY at a
    time, on the workers, until SPLIT_EVERY or fewer are left, which the client adds.
    """
    active = state.client
    terms = terms or (store_block_terms if isinstance(state.X_blocks[0], StoreBlock) else block_terms)
    parts = active.map(terms, state.X_blocks, state.y_blocks, w=w, b=b, pure=False)
    while len(parts) > SPLIT_EVERY:
        parts = [
            active.submit(add_parts, *parts[i : i + SPLIT_EVERY], pure=False)
            for i in range(0, len(parts), SPLIT_EVERY)
        ]
    try:
        return add_parts(*active.gather(parts)).reshape(-1)  # the root of the tree: here
    except import_module("distributed").KilledWorker as exc:
        raise RuntimeError(
            f"dask: a task kept killing the workers that ran it ({exc}); the fit stopped"
        ) from None


def descend(state: State, lr: float, epochs: int):
    """The epochs: the workers compute the sums, the client takes the step."""
    m, n = state.X.shape
    w, b = state.w0.copy(), float(state.b0)
    costs = np.empty(epochs, dtype=np.float64)
    for k in range(epochs):
        sums = epoch_sums(state, w, b)
        costs[k] = sums[n + 1] / m
        w -= lr * (sums[:n] / m)  # in float64, stored in w's dtype, as numba_fused does
        b -= lr * (sums[n] / m)
    return w, b, costs


RUNG = Rung(
    name="dask",
    summary="Dask: X in row blocks held by the workers, numba_fused's kernel per block, "
    "the blocks' sums added as a tree, the step taken on the client.",
    descend=descend,
    prepare=prepare,
    tolerance=TOLERANCE,
    uses_threads="dask",
    core=(epoch_sums, descend),
)
