"""This process's cluster: the client every fit runs on, opened on first use and kept.

Where Dask's configuration names a scheduler, its cluster (``impls.dask.connect``). Otherwise a
``distributed.LocalCluster`` started on first use and reused by every fit in this process: one
worker with a thread per core, in this process (``processes=False``), listening on loopback only.
That is Dask's advice for numeric work that releases the GIL, as the blocks' kernel does (``nogil``): no
copy of X between processes, and each message between scheduler and worker costs a function call
instead of a socket (the benchmarks also time a cluster of worker processes, and the tests run
real ones). ``using`` lends the fits a client of the caller's instead. A cluster with no worker
for ``workers_timeout()`` is an error naming the scheduler.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from contextlib import contextmanager
from importlib import import_module
from typing import Any

from impls.dask.connect import ADDRESS_SETTING, _connect

WORKERS_TIMEOUT_S = 10.0  # a cluster with no worker this long is an error (LADDER_DASK_WORKERS_TIMEOUT)
WORKERS_SETTING = "LADDER_DASK_WORKERS_TIMEOUT"  # seconds a fit waits for a cluster with no worker
LOOPBACK = "127.0.0.1"  # where the clusters this module starts listen: this machine only

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


def _reconnect_noise(record: logging.LogRecord) -> bool:
    """False (drop) for the cancelled reconnection a client logs when it closes after losing its
    scheduler: a traceback ending in ``CancelledError``, after the fit's own clear error."""
    error = record.exc_info[1] if record.exc_info else None
    return not (error is not None and type(error).__name__ == "CancelledError")


def _close(opened) -> None:
    """Close a client this module opened, and the LocalCluster it started (if it started one)."""
    cluster = opened.cluster
    # A worker closing while its heartbeat is in flight logs "Failed to communicate with
    # scheduler during heartbeat" (an ERROR, with a traceback) now and then: noise of the
    # shutdown we asked for, printed on the caller's stderr at exit. That message alone is
    # dropped while the cluster closes, and so is a client's cancelled reconnection to a
    # scheduler that went away; every other record of the loggers passes.
    worker_log, client_log = logging.getLogger("distributed.worker"), logging.getLogger("distributed.client")
    worker_log.addFilter(_heartbeat_noise)
    client_log.addFilter(_reconnect_noise)
    try:
        opened.close()
        if cluster is not None:
            cluster.close()
    finally:
        worker_log.removeFilter(_heartbeat_noise)
        client_log.removeFilter(_reconnect_noise)


def lost(opened) -> None:
    """The cluster of ``opened`` went away: close it now if this module opened it (the caller's own
    client, given to ``using``, is the caller's to close), before its reconnection attempts print."""
    global _client, _client_for
    with _lock:
        if opened is _client and _client_for is not _PINNED:
            _close(_client)
            _client, _client_for = None, None


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
