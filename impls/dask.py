"""Dask: the fused epoch on a cluster, X chunked by rows and held by the workers.

What a Dask user would write for this descent (the shape of dask-glm's gradient descent and of
Spark's ``treeAggregate``): X is a dask array chunked by rows, sent to the workers once per fit
and kept in their memory across epochs (``persist``). Each epoch, every block of rows is a task
that runs ``numba_fused``'s compiled rows kernel (the same machine code as the one-process
rung: no second copy of the maths) and returns the block's gradient sum, error sum and loss sum.
The partial sums are added as a tree, SPLIT_EVERY at a time on the workers, the client adding
the last few, and the client updates w and b.

The cluster: with a scheduler address in Dask's configuration (``DASK_SCHEDULER_ADDRESS``, or
``dask.config.set({"scheduler-address": ...})``), that cluster, reached with Dask's own security
settings (``distributed.comm.tls.*``: a ``tls://`` address); anything at the address that does not
answer as a Dask scheduler within ``CONNECT_TIMEOUT_S`` (nothing, an HTTP server, a silent or a
garbled listener, a Dask worker) is a ``ConnectionError`` naming it. Otherwise a
``distributed.LocalCluster`` started on first use and reused by every fit in this process: one
worker with a thread per core, in this process (``processes=False``), listening on loopback only.
That is Dask's advice for numeric work that releases the GIL, as this kernel does (``nogil``): no
copy of X between processes, and each message between scheduler and worker costs a function call
instead of a socket (the benchmarks also time a cluster of worker processes, and the tests run
real ones).

Blocks: in memory, one block per worker thread: each task costs the scheduler a fixed time,
so the fewest blocks that keep every thread busy cost the least per epoch (the benchmarks'
block-size axis measures the alternative). Read from a store, a block is at most
``MAX_BLOCK_BYTES``, so that a worker whose memory is smaller than X can hold the blocks it reads.

A store is checked before the first epoch (a Zarr array, every chunk file there and readable, every
value finite), and every task that reads it checks that the files it reads are still those (size
and modification time): a store damaged, deleted or rewritten under a fit is a ``ValueError`` naming
the file, never another X or a traceback from inside Zarr.

Registered only where ``distributed`` is installed (``pip install -e '.[dask]'``), and imported on
first use.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import socket
import threading
import time
import warnings
from concurrent.futures import CancelledError
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import import_module
from typing import Any

import numpy as np

from impls import numba_fused
from impls._common import FitResult, Problem, Rung, Tolerance, validate
from impls._jit import compiled, specialize

CONNECT_TIMEOUT_S = 5.0  # for anything at a configured scheduler address to answer as a scheduler
WORKERS_TIMEOUT_S = 10.0  # a cluster with no worker this long is an error (LADDER_DASK_WORKERS_TIMEOUT)
LOOPBACK = "127.0.0.1"  # where the clusters this module starts listen: this machine only
MAX_BLOCK_BYTES = 64 * 2**20  # at most this much of X per task that reads X from a store
SPLIT_EVERY = 8  # partial sums added per task of the reduction tree

TOLERANCE = Tolerance(
    float64=numba_fused.TOLERANCE.float64,
    float32=numba_fused.TOLERANCE.float32,
    why="numba_fused's kernel on each block (fastmath reassociates its dot products), and the "
    "blocks' sums added as a tree: a different order of the same float64 sums",
)


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


def rows_per_task(m: int, n: int, itemsize: int, threads: int, max_bytes: int | None = None) -> int:
    """Rows of X per block (a task each): one block per worker thread, none over ``max_bytes`` if given."""
    rows = -(-m // max(1, threads))
    if max_bytes is not None:
        rows = min(rows, max(1, max_bytes // (n * itemsize)))
    return max(1, rows)


_lock = threading.Lock()
_client: Any = None
_client_for: Any = None  # the configured address _client was opened for (None: the LocalCluster)
_PINNED = object()  # _client_for while ``using`` holds a client of the caller's


def client():
    """The client of this process's cluster: the configured scheduler's, or a LocalCluster's.

    Opened on first use and kept; opened again when the configured address changes (the client
    this module opened before is then closed), so a fit runs on the cluster the configuration
    names at that moment.
    """
    global _client, _client_for
    with _lock:
        dask = import_module("dask")
        address = dask.config.get("scheduler-address", None) or None
        if _client is not None and _client.status == "running" and _client_for in (_PINNED, address):
            return _client
        if address is not None:
            opened = _connect(address)
        else:
            distributed = import_module("distributed")
            cluster = local_cluster(
                n_workers=1,
                threads_per_worker=os.cpu_count() or 1,
                processes=False,
                silence_logs=logging.ERROR,
            )
            opened = distributed.Client(cluster, set_as_default=False)
        if _client is not None and _client_for is not _PINNED:
            _close(_client)  # the cluster the configuration named before
        _client, _client_for = opened, address
        atexit.unregister(close)  # once, however many clients this process opens and closes
        atexit.register(close)
        return _client


ADDRESS_SETTING = "DASK_SCHEDULER_ADDRESS"  # how the messages name where the address came from
WORKERS_SETTING = "LADDER_DASK_WORKERS_TIMEOUT"  # seconds a fit waits for a cluster with no worker
TLS_SETTINGS = (
    "distributed.comm.tls.ca-file",
    "distributed.comm.tls.client.cert",
    "distributed.comm.tls.client.key",
)


def _connect(address):
    """A client of the scheduler at ``address``; anything else there is a ``ConnectionError`` in time.

    ``distributed.Client`` waits for the other side's handshake without a time limit, so a program
    that accepts the connection and never answers in Dask's protocol (an HTTP server, a silent
    one) would hang it for minutes. The address is first asked, under one deadline, whether it is
    a Dask scheduler (``_not_a_scheduler``); only a scheduler gets the client's connection.
    """
    distributed = import_module("distributed")
    _check_address(address)
    security, connection_args = _security(address)
    deadline = time.monotonic() + CONNECT_TIMEOUT_S
    why = _not_a_scheduler(address, connection_args, CONNECT_TIMEOUT_S)
    if why is None:
        try:
            return distributed.Client(
                address,
                security=security,
                timeout=max(1.0, deadline - time.monotonic()),
                set_as_default=False,
            )
        except (OSError, TimeoutError) as exc:
            why = str(exc) or type(exc).__name__
    raise ConnectionError(
        f"dask: no scheduler answered at {address} ({ADDRESS_SETTING}) within {CONNECT_TIMEOUT_S:g} s: {why}"
    )


def _check_address(address) -> None:
    """A ``TypeError``/``ValueError`` naming the setting for an address Dask cannot connect to at all."""
    if not isinstance(address, str):
        raise TypeError(
            f"dask: the scheduler address in Dask's configuration ({ADDRESS_SETTING}, 'scheduler-address') "
            f"must be a string such as 'tcp://host:8786', got {address!r}"
        )
    if address.startswith("inproc://"):
        return  # a scheduler of this process (Dask's in-process transport has no port)
    try:
        import_module("distributed.comm").get_address_host_port(address)
    except ValueError as exc:
        raise ValueError(
            f"dask: the scheduler address {address!r} ({ADDRESS_SETTING}) is not one Dask connects to, "
            f"such as 'tcp://host:8786' or 'tls://host:8786': {exc}"
        ) from None


def _security(address):
    """The security the client connects with, and its connection arguments, as ``Client(address)``
    would make them: the configured security loader's, or ``distributed.Security()`` from Dask's
    configuration (``distributed.comm.tls.*``). Settings it cannot use (a file missing or not a
    certificate, a ``tls://`` address with no certificate, a plain address where encryption is
    required) are a ``ValueError`` naming them."""
    dask, distributed = import_module("dask"), import_module("distributed")
    loader = dask.config.get("distributed.client.security-loader", None)
    security = (
        import_module("distributed.utils").import_term(loader)({"address": address}) if loader else None
    )
    security = security or distributed.Security()
    settings = ", ".join(f"{key}={dask.config.get(key, None)!r}" for key in TLS_SETTINGS)
    for key in TLS_SETTINGS:
        value = dask.config.get(key, None)
        if isinstance(value, str) and "\n" not in value and not os.path.isfile(value):  # else: PEM text
            raise ValueError(f"dask: Dask's TLS setting {key} names {value!r}, which is not a file")
    try:
        connection_args = security.get_connection_args("client")
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError; neither names the file
        raise ValueError(f"dask: Dask's TLS settings cannot be used ({settings}): {exc}") from None
    if address.startswith("tls://") and connection_args.get("ssl_context") is None:
        raise ValueError(
            f"dask: the scheduler address {address} ({ADDRESS_SETTING}) asks for TLS, and Dask's "
            f"configuration gives the client no certificate: set all of {', '.join(TLS_SETTINGS)} "
            f"(now {settings})"
        )
    if connection_args.get("require_encryption") and not address.startswith(("tls://", "inproc://")):
        raise ValueError(
            f"dask: the scheduler address {address} ({ADDRESS_SETTING}) is not a tls:// one, and "
            "Dask's configuration requires encryption (distributed.comm.require-encryption)"
        )
    return security, connection_args


def _not_a_scheduler(address: str, connection_args: dict, timeout: float) -> str | None:
    """Why what answers at ``address`` is not a Dask scheduler, or None if it is one.

    One connection, in Dask's protocol and with the client's security, asks for the scheduler's
    identity, as the client would next; all of it within ``timeout``. It runs in a thread with
    an event loop of its own (a caller inside an event loop, as in Jupyter, is no matter), and
    the deadline holds even where that thread cannot be stopped at once (a name lookup).
    """
    comm = import_module("distributed.comm")
    outcome: dict = {}

    async def ask():
        # Connecting gives up a little before the deadline, with its own reason (refused, no such
        # host, a certificate refused); past the deadline, a connection was made and not answered.
        connection = await comm.connect(address, timeout=0.9 * timeout, **connection_args)
        try:
            await connection.write({"op": "identity", "reply": True, "n_workers": 0})
            return await connection.read()
        finally:
            connection.abort()

    def run():
        try:
            outcome["reply"] = asyncio.run(asyncio.wait_for(ask(), timeout))
        except BaseException as exc:  # whatever a stranger's bytes make the protocol raise
            outcome["error"] = exc

    asker = threading.Thread(target=run, name=f"dask-ask-{address}", daemon=True)
    asker.start()
    asker.join(timeout + 0.5)
    error, reply = outcome.get("error"), outcome.get("reply")
    if asker.is_alive():
        return "no answer (the connection, or a look-up of the host's name, still pending)"
    if isinstance(error, TimeoutError):
        return (
            "something accepted the connection and did not answer in Dask's protocol "
            "(another program listening there, e.g. an HTTP server?)"
        )
    if isinstance(error, import_module("distributed.comm.core").FatalCommClosedError):
        return str(error)  # Dask's own words: a TLS certificate refused, on either side
    if isinstance(error, comm.CommClosedError):
        tls = (
            " (a scheduler that speaks TLS closes plain connections so: is its address tls://?)"
            if "://" not in address or address.startswith("tcp://")
            else ""
        )
        return f"the other side closed the connection without answering as a Dask scheduler{tls} ({error})"
    if isinstance(error, OSError):  # refused, unreachable, no such host, a TLS handshake failed
        cause = f" ({error.__cause__ or type(error.__cause__).__name__})" if error.__cause__ else ""
        return f"{error or type(error).__name__}{cause}"
    if error is not None:
        return f"what answered does not speak Dask's protocol ({type(error).__name__}: {error})"
    if isinstance(reply, dict) and isinstance(reply.get("workers"), dict) and reply.get("type"):
        return None
    if isinstance(reply, dict) and reply.get("status") == "uncaught-error":
        return f"a Dask server that is not a scheduler answered (a worker?): {reply.get('exception_text')}"
    return f"what answered is not a Dask scheduler (it answered {str(reply)[:80]!r})"


def local_cluster(**kwargs):
    """A ``distributed.LocalCluster`` that listens on loopback only and leaves this process's thread
    settings as they were.

    Loopback: LocalCluster puts its scheduler and its worker processes on 127.0.0.1, but a worker
    in this process (``processes=False``) starts its HTTP server (``/health``, ``/metrics``) on
    every interface unless it is given an address; it gets 127.0.0.1 (where Bokeh is installed,
    that server also serves the worker's dashboard), and so does the scheduler's dashboard.

    Thread settings: before it starts each worker process, a Dask nanny copies
    ``distributed.nanny.pre-spawn-environ`` (``OMP_NUM_THREADS=1`` and the like) into the
    environment of the process that runs it: this one. A library that reads those variables when
    it is first imported here afterwards (PyTorch sizes its thread pool so) would run on one
    thread. Here they go to the worker processes only.
    """
    dask, distributed = import_module("dask"), import_module("distributed")
    kwargs.setdefault("dashboard_address", f"{LOOPBACK}:0")
    worker_env = {
        k: str(v) for k, v in (dask.config.get("distributed.nanny.pre-spawn-environ") or {}).items()
    }
    if kwargs.get("processes", True):  # threads of this process have no environment of their own
        kwargs.setdefault("host", LOOPBACK)
        kwargs["env"] = {**worker_env, **kwargs.get("env", {})}
    else:  # in-process transport: no host to give, only the worker's HTTP server to place
        kwargs.setdefault("worker_dashboard_address", f"{LOOPBACK}:0")
    with dask.config.set({"distributed.nanny.pre-spawn-environ": {}}):
        return distributed.LocalCluster(**kwargs)


HEARTBEAT_NOISE = "Failed to communicate with scheduler during heartbeat"


def _heartbeat_noise(record: logging.LogRecord) -> bool:
    """False (drop) for the heartbeat failure a worker logs when its cluster closes under it."""
    return not str(record.msg).startswith(HEARTBEAT_NOISE)


def _close(opened) -> None:
    """Close a client this module opened, and the LocalCluster it started (if it started one)."""
    cluster = opened.cluster
    # A worker closing while its heartbeat is in flight logs "Failed to communicate with
    # scheduler during heartbeat" (an ERROR, with a traceback) now and then: noise of the
    # shutdown we asked for, printed on the caller's stderr at exit. That message alone is
    # dropped while the cluster closes; every other record of the logger passes.
    worker_log = logging.getLogger("distributed.worker")
    worker_log.addFilter(_heartbeat_noise)
    try:
        opened.close()
        if cluster is not None:
            cluster.close()
    finally:
        worker_log.removeFilter(_heartbeat_noise)


def close() -> None:
    """Close this process's client, and the LocalCluster it started (if it started one)."""
    global _client, _client_for
    with _lock:
        if _client is None:
            return
        if _client_for is not _PINNED:
            _close(_client)
        _client, _client_for = None, None


@contextmanager
def using(active):
    """Fits inside the block run on ``active`` (a ``distributed.Client``): a cluster with other limits.

    The caller's client, whatever Dask's configuration names; left open, and ``close`` leaves it
    open. ``using(None)`` lets the block open a client as ``client`` does, closed at the end.
    """
    global _client, _client_for
    with _lock:
        before, _client, _client_for = (
            (_client, _client_for),
            active,
            (_PINNED if active is not None else None),
        )
    try:
        yield active
    finally:
        with _lock:
            opened = _client if _client is not None and _client_for is not _PINNED else None
            _client, _client_for = before
        if opened is not None:
            _close(opened)


def workers_timeout() -> float:
    """Seconds a fit waits for a worker where the cluster has none: ``LADDER_DASK_WORKERS_TIMEOUT``,
    else ``WORKERS_TIMEOUT_S``; a ``ValueError`` naming the variable for a value that is not one."""
    text = os.environ.get(WORKERS_SETTING)
    if text is None:
        return WORKERS_TIMEOUT_S
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (0 < value < float("inf")):
        raise ValueError(f"{WORKERS_SETTING} must be a number of seconds > 0 (e.g. 10), got {text!r}")
    return value


def _address(active) -> str:
    return getattr(getattr(active, "scheduler", None), "address", None) or "the cluster's scheduler"


def with_workers(active):
    """``active`` once its cluster has a worker; a ``TimeoutError`` naming the scheduler and what to
    do where none joins within ``workers_timeout()`` (a scheduler started without workers, or
    whose workers all left: the tasks would wait for ever)."""
    timeout = workers_timeout()
    try:
        active.wait_for_workers(1, timeout=timeout)
    except TimeoutError:
        address = _address(active)
        raise TimeoutError(
            f"dask: the scheduler at {address} has no workers: none joined within {timeout:g} s "
            f"({WORKERS_SETTING}). Start one (`dask worker {address}`), or unset {ADDRESS_SETTING} "
            "to fit on a cluster of this process"
        ) from None
    return active


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
    """X and y sent to the workers, in blocks of ``rows`` rows (default: ``rows_per_task``)."""
    active = with_workers(client())
    m, n = problem.X.shape
    rows = rows or rows_per_task(m, n, problem.X.itemsize, worker_threads(active))
    X_d, X_blocks, y_blocks = distribute(problem.X, problem.y, rows, active)
    return State(X_d, X_blocks, y_blocks, problem.w0, problem.b0, active)


Stamp = tuple[str, int, int]  # a file of a store: (its path inside the store, size in bytes, mtime in ns)
ABSENT = (-1, -1)  # the size and mtime of a chunk file that is not there (read as the fill value)


@dataclass(frozen=True)
class StoreBlock:
    """Rows [start, stop) of a Zarr array on disk: what a task reads when X is not in memory."""

    store: str  # the store's folder, an absolute path (worker processes have other working folders)
    start: int
    stop: int
    dtype: str  # the working dtype: the block is converted on reading
    columns: int  # X's columns, as checked before the first epoch
    files: tuple[Stamp, ...]  # the metadata file, then the chunk files the rows are in, as checked


def open_store(store) -> tuple[str, Any]:
    """The absolute path of the store and its Zarr array, or a ``ValueError`` saying what is there instead."""
    zarr = import_module("zarr")
    path = os.path.abspath(os.fspath(store))
    if not os.path.exists(path):
        raise ValueError(f"X must be a Zarr array: {path} does not exist")
    if not os.path.isdir(path):
        raise ValueError(f"X must be a Zarr array: {path} is a file, not a Zarr store (a folder)")
    if not any(os.path.isfile(os.path.join(path, name)) for name in ("zarr.json", ".zarray", ".zgroup")):
        raise ValueError(
            f"X must be a Zarr array: the folder {path} is not a Zarr store "
            "(it holds no zarr.json, nor Zarr format 2's .zarray)"
        )
    try:
        node = zarr.open(path, mode="r")
    except Exception as exc:  # its metadata: not JSON, not Zarr's, not readable
        raise ValueError(
            f"X must be a Zarr array: the metadata of the store at {path} cannot be read "
            f"({type(exc).__name__}: {exc})"
        ) from None
    if not isinstance(node, zarr.Array):
        names = sorted(node.array_keys())[:5]
        raise ValueError(
            f"X must be a Zarr array: {path} is a Zarr group, not an array"
            + (f" (its arrays: {', '.join(names)}; pass the path of one)" if names else " (with no arrays)")
        )
    return path, node


def _metadata_file(array) -> str:
    return "zarr.json" if array.metadata.zarr_format == 3 else ".zarray"


def _storage_grid(array) -> tuple[int, int]:
    """Rows and columns of X per stored object: per shard where the array is sharded, else per chunk."""
    rows, columns = getattr(array, "shards", None) or array.chunks
    return rows, columns


def _stamp(store: str, name: str) -> Stamp | None:
    try:
        st = os.stat(os.path.join(store, *name.split("/")))
    except FileNotFoundError:
        return None
    return name, st.st_size, st.st_mtime_ns


def store_files(store: str, array, fill_missing_chunks: bool = False) -> tuple[Stamp, dict[int, list[Stamp]]]:
    """The stamps of the store's metadata file and, per row of the storage grid, of its chunk files.

    A chunk file missing is a ``ValueError``: Zarr would read those rows as the array's fill value
    without a word, and a chunk file deleted by mistake would make X another array. Zarr also
    leaves out, by default, a chunk that is all fill value: with ``fill_missing_chunks``, a chunk
    file not there is read so, as Zarr reads it (and must still not be there at every epoch).
    """
    metadata = _stamp(store, _metadata_file(array))
    if metadata is None:
        raise ValueError(f"X (the Zarr array at {store}): its metadata file {_metadata_file(array)} is gone")
    (m, n), (grid_rows, grid_columns) = array.shape, _storage_grid(array)
    chunks: dict[int, list[Stamp]] = {}
    for i in range(-(-m // grid_rows)):
        for j in range(-(-n // grid_columns)):
            name = array.metadata.encode_chunk_key((i, j))
            stamp = _stamp(store, name)
            if stamp is None and fill_missing_chunks:
                stamp = (name, *ABSENT)
            elif stamp is None:
                raise ValueError(
                    f"X (the Zarr array at {store}): its chunk file {name} (rows {i * grid_rows} to "
                    f"{min(m, (i + 1) * grid_rows) - 1}) is missing; Zarr would read those rows as the "
                    f"fill value {array.fill_value}, not X. Zarr leaves out a chunk that is all fill "
                    "value unless the array is written with write_empty_chunks on (zarr.config.set("
                    "{'array.write_empty_chunks': True})); if that is why, fill_missing_chunks=True "
                    "reads such chunks as Zarr does."
                )
            chunks.setdefault(i, []).append(stamp)
    return metadata, chunks


@lru_cache(maxsize=8)
def _open_store(store: str, metadata: Stamp):
    """The Zarr array at ``store``, opened once per version of its metadata file."""
    return import_module("zarr").open_array(store, mode="r")


def _changed(block: StoreBlock) -> str | None:
    """How the files ``block`` reads differ from those checked before the first epoch, or None."""
    if not os.path.isdir(block.store):
        return (
            f"the store's folder is not there on {socket.gethostname()} (deleted, or not on a file "
            "system this worker shares)"
        )
    for name, size, mtime_ns in block.files:
        now = _stamp(block.store, name)
        if now is None and (size, mtime_ns) != ABSENT:
            return f"{name} was deleted"
        if now is not None and (size, mtime_ns) == ABSENT:
            return f"{name}, not there before (read as the fill value), was written"
        if now is not None and now[1:] != (size, mtime_ns):
            return f"{name} was rewritten ({size} bytes before, {now[1]} bytes now)"
    return None


def _check_unchanged(block: StoreBlock) -> None:
    change = _changed(block)
    if change:
        raise ValueError(
            f"X (the Zarr array at {block.store}) changed since it was checked before the first epoch: "
            f"{change}. Another process writing it? The fit stopped: its epochs would not all see one X."
        )


def read_block(block: StoreBlock) -> np.ndarray:
    """Rows [start, stop) of X as stored, if the files they come from are those checked; else a
    ``ValueError`` naming the store and the file. The files are checked before and after the
    read, so that a writer at work during it is seen too."""
    _check_unchanged(block)
    try:
        values = _open_store(block.store, block.files[0])[block.start : block.stop]
    except Exception as exc:  # a chunk that does not decode: Zarr and its codecs raise anything
        _check_unchanged(block)  # a file rewritten while it was read, rather than a damaged one
        raise ValueError(f"X (the Zarr array at {block.store}): {_unreadable(block, exc)}") from None
    _check_unchanged(block)
    expected = (block.stop - block.start, block.columns)
    if values.shape != expected:  # the kernel must not read past a block, whatever the store says
        raise ValueError(
            f"X (the Zarr array at {block.store}) changed since it was checked: rows {block.start} "
            f"to {block.stop - 1} read as shape {values.shape}, not {expected}"
        )
    return values


def _unreadable(block: StoreBlock, error: Exception) -> str:
    """Which chunk file of ``block`` does not decode, and why (or, failing that, the block's rows)."""
    try:
        array = _open_store(block.store, block.files[0])
    except Exception as exc:
        return f"its metadata cannot be read ({type(exc).__name__}: {exc})"
    (m, n), (chunk_rows, chunk_columns) = array.shape, array.chunks
    grid_rows, grid_columns = _storage_grid(array)
    for r in range(block.start - block.start % chunk_rows, block.stop, chunk_rows):
        for c in range(0, n, chunk_columns):
            try:
                array[r : r + chunk_rows, c : c + chunk_columns]
            except Exception as exc:
                name = array.metadata.encode_chunk_key((r // grid_rows, c // grid_columns))
                size = (_stamp(block.store, name) or (name, "?"))[1]
                return (
                    f"its chunk file {name} ({size} bytes; rows {r} to {min(m, r + chunk_rows) - 1}) "
                    f"does not decode as this array's: damaged (truncated or overwritten)? "
                    f"({type(exc).__name__}: {exc})"
                )
    return f"rows {block.start} to {block.stop - 1} cannot be read ({type(error).__name__}: {error})"


def store_block_terms(block: StoreBlock, y_block: np.ndarray, w: np.ndarray, b: float) -> np.ndarray:
    """One task of an out-of-core epoch: read a block of X from the store, and run the kernel on it."""
    X_block = np.ascontiguousarray(read_block(block), dtype=block.dtype)
    return _kernel()(X_block, y_block, w, b)


def store_block_check(block: StoreBlock) -> str | None:
    """Why a block of the store is not usable X in the working dtype (which file or value), or None."""
    try:
        X_block = read_block(block)
    except ValueError as exc:
        return str(exc)
    with np.errstate(over="ignore"):
        bad = ~np.isfinite(X_block.astype(block.dtype, copy=False))
    if bad.any():
        i, j = np.argwhere(bad)[0]
        return (
            f"X (the Zarr array at {block.store}) must be finite: "
            f"X[{block.start + i}, {j}] = {X_block[i, j]!r} is not finite in {block.dtype}"
        )
    return None


def prepare_store(
    store, y: np.ndarray, w0: np.ndarray, b0: float, dtype: np.dtype, array=None, fill_missing_chunks=False
) -> State:
    """A problem whose X stays in a Zarr store: y is held by the workers, X read every epoch.

    ``store``: the path of a 2-D Zarr array (``array``: that array, if the caller opened it with
    ``open_store``). Before the first epoch: every chunk file there (``store_files``), then every
    block read once by the workers, each chunk decoding and each value finite.
    """
    da = import_module("dask.array")
    path, array = open_store(store) if array is None else (os.path.abspath(os.fspath(store)), array)
    active = with_workers(client())
    metadata, chunk_files = store_files(path, array, fill_missing_chunks)
    (m, n), rows_per_chunk, grid_rows = array.shape, array.chunks[0], _storage_grid(array)[0]
    rows = rows_per_task(m, n, np.dtype(array.dtype).itemsize, worker_threads(active), MAX_BLOCK_BYTES)
    rows = max(rows_per_chunk, rows - rows % rows_per_chunk)  # whole chunks of the store per task
    X_blocks = []
    for start in range(0, m, rows):
        stop = min(m, start + rows)
        files = [
            stamp for i in range(start // grid_rows, (stop - 1) // grid_rows + 1) for stamp in chunk_files[i]
        ]
        X_blocks.append(StoreBlock(path, start, stop, str(dtype), n, (metadata, *files)))
    problems = active.gather(active.map(store_block_check, X_blocks, pure=False))
    problem = next((p for p in problems if p), None)
    if problem:
        raise ValueError(problem)
    y_blocks = active.scatter([y[block.start : block.stop] for block in X_blocks])
    return State(da.from_zarr(array), X_blocks, y_blocks, w0, b0, active)


def fit_zarr(store, y, *, lr, epochs, w0=None, b0=0.0, dtype=None, fill_missing_chunks=False) -> FitResult:
    """The descent with X in a Zarr array on disk (``store``: its path), read block by block every epoch.

    The same answer as ``RUNG.fit`` on the same X in memory. y, w0 and the scalars are checked as
    ``fit`` checks them; the store (``open_store``), X's shape and dtype before any work, and its
    chunks and values by the workers, in one read of the store, before the first epoch. A chunk
    file that is not there is an error, unless ``fill_missing_chunks`` (``store_files``).
    """
    path, X_meta = open_store(store)
    if X_meta.ndim != 2 or 0 in X_meta.shape:
        raise ValueError(f"X (the Zarr array at {path}) must be 2-D and non-empty, got shape {X_meta.shape}")
    if np.dtype(X_meta.dtype).kind not in "biuf":
        raise TypeError(f"X (the Zarr array at {path}) must hold real numbers, got dtype {X_meta.dtype}")
    # Every other argument exactly as fit() checks it, against a stand-in of X's shape (no data).
    stand_in = np.broadcast_to(np.zeros(1), X_meta.shape)
    problem = validate(stand_in, y, lr=lr, epochs=epochs, w0=w0, b0=b0, dtype=dtype, rung="dask")
    state = prepare_store(
        path,
        problem.y,
        problem.w0,
        problem.b0,
        problem.dtype,
        X_meta,
        fill_missing_chunks=fill_missing_chunks,
    )
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
        return add_parts(*_gather(active, parts)).reshape(-1)  # the root of the tree: here
    except import_module("distributed").KilledWorker as exc:
        raise RuntimeError(
            f"dask: a task kept killing the workers that ran it ({exc}); the fit stopped"
        ) from None


class ClusterLost(ConnectionError):
    """The scheduler, or every worker, went away during a fit (``descend`` names the epoch)."""


WATCH_S = 1.0  # while an epoch's tasks run, how often the fit looks whether the cluster still has workers


def _gather(active, parts: list) -> list:
    """The results of ``parts``; ``ClusterLost`` where the connection to the scheduler closes, or no
    worker is left for ``workers_timeout()``. Each result is awaited at most ``WATCH_S`` at a time
    (a gather from a worker that died retries its connection for half a minute, and tasks on a
    cluster with no worker wait for ever), and between waits the scheduler is asked for workers."""
    closed = import_module("distributed.comm.core").CommClosedError
    results, alone_since = [], None
    while len(results) < len(parts):
        try:
            results.append(parts[len(results)].result(timeout=WATCH_S))
            continue
        except (TimeoutError, closed):
            pass  # still running, or its worker went away while sending it: is anyone there?
        except (CancelledError, OSError):
            if active.status == "running":
                raise  # a task's own error: the cluster is there
            raise ClusterLost("the connection to the scheduler closed") from None
        if active.status != "running":
            raise ClusterLost("the connection to the scheduler closed")
        try:
            workers = active.nthreads()  # one call to the scheduler
        except (CancelledError, OSError):
            raise ClusterLost("the scheduler stopped answering") from None
        alone_since = None if workers else alone_since or time.monotonic()
        if alone_since is not None and time.monotonic() - alone_since >= workers_timeout():
            raise ClusterLost(f"every worker left, and none joined within {workers_timeout():g} s")
    return results


def descend(state: State, lr: float, epochs: int):
    """The epochs: the workers compute the sums, the client takes the step.

    A cluster that goes away mid-fit is one ``ConnectionError`` (``ClusterLost``) naming the
    scheduler and the epoch; the fit returns nothing. A worker lost while others remain is not:
    Dask recomputes its blocks elsewhere and the fit goes on.
    """
    m, n = state.X.shape
    w, b = state.w0.copy(), float(state.b0)
    costs = np.empty(epochs, dtype=np.float64)
    address = _address(state.client)  # now: a client that lost its scheduler forgets the address
    for k in range(epochs):
        try:
            sums = epoch_sums(state, w, b)
        except ClusterLost as lost:
            raise ClusterLost(
                f"dask: the cluster at {address} went away during epoch {k + 1} of {epochs} ({lost}); "
                f"the fit stopped and returned nothing. Start the scheduler and its workers again "
                f"(or unset {ADDRESS_SETTING}) and fit again"
            ) from None
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
