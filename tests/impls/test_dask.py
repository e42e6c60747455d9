"""The dask rung past one process: a cluster of separate processes, X larger than the workers' memory,
a worker lost mid-fit, a scheduler that does not answer. (The shared correctness suite runs it too;
tests/impls/test_dask_surroundings.py gives it wrong listeners, TLS and damaged stores.)"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from impls import IMPLEMENTATIONS, MISSING, relative_error

if "dask" not in IMPLEMENTATIONS:
    pytest.skip(MISSING["dask"], allow_module_level=True)

import dask
import distributed
import zarr

from impls import dask as dask_rung
from tests.impls.dask_cluster import ROOT, agrees, cluster_of_processes, fit_in_a_new_python, problem


def test_a_local_cluster_of_processes_leaves_this_process_thread_settings_alone():
    threads = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
    before = {name: os.environ.get(name) for name in threads}
    with (
        dask_rung.local_cluster(
            n_workers=1, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        worker_env = client.run(lambda: os.environ.get("OMP_NUM_THREADS"))
    assert {name: os.environ.get(name) for name in threads} == before  # none here for PyTorch to find
    assert set(worker_env.values()) == {"1"}  # the worker processes still get it


def test_blocks_cover_x_and_a_tree_sums_them():
    assert dask_rung.rows_per_task(10, 3, 8, threads=2) == 5  # one block per thread
    assert dask_rung.rows_per_task(1, 3, 8, threads=2) == 1
    assert dask_rung.rows_per_task(1_000_000, 100, 8, threads=2) == 500_000
    capped = dask_rung.rows_per_task(1_000_000, 100, 8, threads=2, max_bytes=dask_rung.MAX_BLOCK_BYTES)
    assert capped * 100 * 8 <= dask_rung.MAX_BLOCK_BYTES < (capped + 1) * 100 * 8
    # The client adds up to SPLIT_EVERY partial sums; more go through levels of tasks first.
    assert dask_rung.tasks_per_epoch(1) == 1
    assert dask_rung.tasks_per_epoch(8) == 8
    assert dask_rung.tasks_per_epoch(9) == 9 + 2
    assert dask_rung.reduction_levels(65) == [9, 2]


def test_every_block_size_gives_the_same_answer():
    X, y = problem(5000, 7)
    rung = IMPLEMENTATIONS["dask"]
    for rows in (5000, 1000, 333, 17):
        p = rung.validate(X, y, lr=0.5, epochs=4)
        state = dask_rung.prepare(p, rows=rows)
        assert len(state.X_blocks) == -(-5000 // rows)
        assert agrees(rung.run(state, p), X, y, 0.5, 4) <= rung.tolerance("float64")


@pytest.fixture(scope="module")
def separate_cluster(tmp_path_factory):
    """`dask scheduler` and two `dask worker` processes on 127.0.0.1, as a real cluster is started."""
    with cluster_of_processes(tmp_path_factory.mktemp("separate-cluster")) as (address, watcher):
        yield address, watcher


def test_a_cluster_of_separate_processes_named_by_dask_scheduler_address(separate_cluster, tmp_path):
    """A new Python with DASK_SCHEDULER_ADDRESS set fits on that cluster, and gets the same answer."""
    address, watcher = separate_cluster
    X, y = problem(20_000, 9)
    result, used = fit_in_a_new_python(tmp_path, {"DASK_SCHEDULER_ADDRESS": address}, X, y, lr=0.5, epochs=5)
    assert used == address  # the cluster it was given, no LocalCluster
    assert agrees(result, X, y, 0.5, 5) <= IMPLEMENTATIONS["dask"].tolerance("float64")
    assert len(watcher.scheduler_info()["workers"]) == 2


def test_a_dask_worker_at_the_scheduler_address_is_a_connection_error(separate_cluster):
    """A worker speaks Dask's protocol but is no scheduler: a ConnectionError in time, not its reply."""
    _, watcher = separate_cluster
    worker = next(iter(watcher.scheduler_info()["workers"]))  # tcp://127.0.0.1:PORT of a worker process
    start = time.monotonic()
    with dask.config.set({"scheduler-address": worker}):
        with pytest.raises(ConnectionError, match=rf"no scheduler answered at {worker} .*not a scheduler"):
            IMPLEMENTATIONS["dask"].fit(*problem(100, 3), lr=0.1, epochs=1)
    assert time.monotonic() - start < dask_rung.CONNECT_TIMEOUT_S + 3


def test_a_relative_store_path_reaches_worker_processes_with_another_working_folder(
    separate_cluster, tmp_path, monkeypatch
):
    """The workers were started in another folder: the path they are sent is the store's absolute path."""
    _, watcher = separate_cluster
    X, y = problem(2_000, 4)
    zarr.create_array(str(tmp_path / "X.zarr"), shape=X.shape, chunks=(500, 4), dtype="float64")[:] = X
    monkeypatch.chdir(tmp_path)
    folders = set(watcher.run(os.getcwd).values())  # the worker processes' working folders
    assert folders and str(tmp_path) not in folders
    with dask_rung.using(watcher):
        result = dask_rung.fit_zarr("X.zarr", y, lr=0.5, epochs=3)
    assert agrees(result, X, y, 0.5, 3) <= IMPLEMENTATIONS["dask"].tolerance("float64")


@pytest.mark.slow
def test_an_address_with_no_scheduler_is_a_clear_error_within_seconds():
    with socket_nobody_listens_on() as address:
        start = time.monotonic()
        with dask.config.set({"scheduler-address": address}):
            with pytest.raises(ConnectionError, match=rf"no scheduler answered at {address} .*Timed out"):
                IMPLEMENTATIONS["dask"].fit(*problem(100, 3), lr=0.1, epochs=1)
        assert time.monotonic() - start < dask_rung.CONNECT_TIMEOUT_S + 3


class socket_nobody_listens_on:
    """A 127.0.0.1 port bound but never listened on: connections to it are refused."""

    def __enter__(self) -> str:
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{self.sock.getsockname()[1]}"

    def __exit__(self, *exc):
        self.sock.close()


@pytest.mark.slow
def test_x_larger_than_the_workers_memory_read_from_zarr(tmp_path):
    """Workers at 512 MB, X of 1.5 GB on disk: read block by block each epoch, the in-memory answer."""
    m, n, epochs = 1_875_000, 100, 2  # 1.5 GB of float64
    rng = np.random.default_rng(7)
    store = zarr.create_array(str(tmp_path / "X.zarr"), shape=(m, n), chunks=(62_500, n), dtype="float64")
    X = np.empty((m, n))
    for i in range(0, m, 250_000):  # written in slices, as data too large to hold would be
        X[i : i + 250_000] = rng.standard_normal((min(250_000, m - i), n))
        store[i : i + 250_000] = X[i : i + 250_000]
    y = (rng.random(m) < 1 / (1 + np.exp(-X[:, 0]))).astype(float)
    limit = 512 * 2**20
    with (
        dask_rung.local_cluster(
            n_workers=2, threads_per_worker=1, memory_limit=limit, dashboard_address="127.0.0.1:0"
        ) as cluster,
        distributed.Client(cluster) as small,
        dask_rung.using(small),
    ):
        assert X.nbytes > 2 * limit  # more than all the workers' memory together
        result = dask_rung.fit_zarr(tmp_path / "X.zarr", y, lr=0.5, epochs=epochs)
    expected = IMPLEMENTATIONS["numba_fused"].fit(X, y, lr=0.5, epochs=epochs)
    assert relative_error(result, expected.w, expected.b, expected.costs) <= 1e-9


def test_a_store_that_is_not_x_is_refused_before_any_work(tmp_path):
    y = np.zeros(10)
    with pytest.raises(ValueError, match="X must be a Zarr array"):
        dask_rung.fit_zarr(tmp_path / "missing.zarr", y, lr=0.1, epochs=1)
    flat = zarr.create_array(str(tmp_path / "flat.zarr"), shape=(10,), chunks=(5,), dtype="float64")
    with pytest.raises(ValueError, match="must be 2-D"):
        dask_rung.fit_zarr(tmp_path / "flat.zarr", y, lr=0.1, epochs=1)
    bad = zarr.create_array(str(tmp_path / "bad.zarr"), shape=(10, 2), chunks=(5, 2), dtype="float64")
    values = np.ones((10, 2))  # no chunk all fill value (0): Zarr would leave it out
    values[7, 1] = np.nan
    bad[:] = values
    with pytest.raises(ValueError, match=r"X\[7, 1\] = .*nan.* is not finite"):
        dask_rung.fit_zarr(tmp_path / "bad.zarr", y, lr=0.1, epochs=1)
    del flat
    with pytest.raises(ValueError, match="lr must be > 0"):
        dask_rung.fit_zarr(tmp_path / "bad.zarr", y, lr=-1.0, epochs=1)


def test_a_worker_lost_mid_fit_is_recomputed_and_the_answer_stands():
    X, y = problem(200_000, 20)
    epochs = 60
    with (
        dask_rung.local_cluster(
            n_workers=2, threads_per_worker=1, dashboard_address="127.0.0.1:0"
        ) as cluster,
        distributed.Client(cluster) as own,
        dask_rung.using(own),
    ):
        rung = IMPLEMENTATIONS["dask"]
        p = rung.validate(X, y, lr=0.5, epochs=epochs)
        state = dask_rung.prepare(p)
        holders = own.who_has(state.X_blocks)
        victim = next(iter(next(iter(holders.values()))))  # a worker that holds a block of X
        pid = own.run(os.getpid, workers=[victim])[victim]
        outcome = {}

        def fit():
            try:
                outcome["result"] = rung.run(state, p)
            except BaseException as exc:
                outcome["error"] = exc

        thread = threading.Thread(target=fit, daemon=True)
        thread.start()
        time.sleep(0.5)  # some epochs in
        assert thread.is_alive(), "the fit ended before a worker could be lost: give it more epochs"
        os.kill(pid, signal.SIGKILL)  # the worker process dies; its nanny starts a new one
        thread.join(timeout=300)
        assert not thread.is_alive(), "the fit hung after losing a worker"
        assert victim not in own.scheduler_info()["workers"]  # the worker was really lost
    assert "error" not in outcome, outcome.get("error")
    assert agrees(outcome["result"], X, y, 0.5, epochs) <= rung.tolerance("float64")


def fit_in_a_thread(rung, X, y, epochs: int) -> tuple[threading.Thread, dict]:
    """The rung's fit on the configured cluster, in a thread; its result or error lands in the dict."""
    outcome: dict = {}

    def fit():
        try:
            outcome["result"] = rung.fit(X, y, lr=0.5, epochs=epochs)
        except BaseException as exc:
            outcome["error"] = exc
        outcome["ended"] = time.monotonic()

    thread = threading.Thread(target=fit, daemon=True)
    thread.start()
    return thread, outcome


def test_a_scheduler_with_no_workers_is_a_clear_error_in_the_stated_time(tmp_path, monkeypatch):
    """A scheduler started, its workers not (yet): the fit waits LADDER_DASK_WORKERS_TIMEOUT, then
    says which scheduler has none and what to do, instead of waiting for ever."""
    monkeypatch.setenv(dask_rung.WORKERS_SETTING, "2")
    with cluster_of_processes(tmp_path, workers=0) as (address, _):
        start = time.monotonic()
        with dask.config.set({"scheduler-address": address}):
            with pytest.raises(
                TimeoutError, match=rf"scheduler at {address} has no workers.*dask worker {address}"
            ):
                IMPLEMENTATIONS["dask"].fit(*problem(1_000, 3), lr=0.1, epochs=1)
        assert 2 <= time.monotonic() - start < 2 + 5


def test_a_workers_timeout_that_is_not_a_number_of_seconds_is_refused_naming_it(monkeypatch):
    monkeypatch.setenv(dask_rung.WORKERS_SETTING, "soon")
    with pytest.raises(ValueError, match="LADDER_DASK_WORKERS_TIMEOUT must be a number of seconds > 0"):
        dask_rung.workers_timeout()


@pytest.mark.parametrize("lost", ["scheduler", "every worker"])
def test_a_cluster_lost_mid_fit_is_one_clear_error_naming_it_and_the_epoch(lost, tmp_path, monkeypatch):
    """The scheduler killed, or every worker stopped, while the fit runs: within seconds, one
    ConnectionError that names the scheduler and the epoch reached, and no result."""
    monkeypatch.setenv(dask_rung.WORKERS_SETTING, "2")
    X, y = problem(20_000, 8)
    with cluster_of_processes(tmp_path) as (address, watcher):
        victim = (
            watcher.run_on_scheduler(os.getpid)
            if lost == "scheduler"
            else next(iter(set(watcher.run(os.getppid).values())))  # `dask worker`: the workers' nannies
        )
        with dask.config.set({"scheduler-address": address}):
            try:
                thread, outcome = fit_in_a_thread(IMPLEMENTATIONS["dask"], X, y, epochs=10**6)
                time.sleep(3)  # connected, X sent, epochs running
                assert thread.is_alive(), outcome.get("error")
                killed = time.monotonic()
                os.kill(victim, signal.SIGKILL if lost == "scheduler" else signal.SIGTERM)
                thread.join(timeout=60)
            finally:
                dask_rung.close()
        assert not thread.is_alive(), f"the fit went on after losing {lost}"
    error = outcome.get("error")
    assert isinstance(error, ConnectionError), error
    assert "result" not in outcome
    assert re.search(rf"cluster at {address} went away during epoch \d+ of 1000000", str(error)), error
    assert error.__cause__ is None and error.__suppress_context__  # one message, not distributed's traceback
    assert outcome["ended"] - killed < (3 if lost == "scheduler" else 2 + 3)


LOST_SCRIPT = """
import os, signal, sys, threading, time
import dask
from impls import IMPLEMENTATIONS
from tests.impls.dask_cluster import problem
X, y = problem(20_000, 8)
victim, address = int(sys.argv[1]), sys.argv[2]
def kill():
    time.sleep(4)  # connected, X sent, epochs running
    os.kill(victim, signal.SIGKILL)
threading.Thread(target=kill, daemon=True).start()
with dask.config.set({"scheduler-address": address}):
    try:
        IMPLEMENTATIONS["dask"].fit(X, y, lr=0.5, epochs=10**6)
    except ConnectionError as exc:
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
"""


@pytest.mark.slow
def test_a_lost_scheduler_is_the_last_thing_a_program_prints(tmp_path):
    """A program that catches the fit's ClusterLost and ends: its clear message is the last thing on
    its stderr, not the traceback of the client's cancelled reconnection printed at exit."""
    with cluster_of_processes(tmp_path) as (address, watcher):
        victim = watcher.run_on_scheduler(os.getpid)
        watcher.close()
        done = subprocess.run(
            [sys.executable, "-c", LOST_SCRIPT, str(victim), address],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stderr.strip().splitlines()
    assert lines[-1].startswith(f"ClusterLost: dask: the cluster at {address} went away during epoch")
    assert "Traceback" not in done.stderr, done.stderr[-3000:]


@pytest.mark.slow
def test_closing_drops_only_the_shutdown_heartbeat_noise_and_leaves_the_logger_as_it_was():
    import logging

    worker_log = logging.getLogger("distributed.worker")
    level, filters = worker_log.level, list(worker_log.filters)

    def record(message: str) -> logging.LogRecord:
        return worker_log.makeRecord("distributed.worker", logging.ERROR, __file__, 1, message, (), None)

    assert not dask_rung.cluster._heartbeat_noise(
        record("Failed to communicate with scheduler during heartbeat.")
    )
    assert dask_rung.cluster._heartbeat_noise(record("Compute Failed"))
    dask_rung.client()  # this process's cluster (in-process workers), open while the filter is set
    dask_rung.close()
    assert dask_rung.cluster._client is None  # this process's client is the cluster module's state
    assert worker_log.level == level and worker_log.filters == filters
