"""Past one process: what Dask's scheduling costs an epoch, how the block size trades it, X on disk.

The dask rung's epochs over the m sweep, the n sweep and the axis sizes are timed with every
other rung (bench_descent.py). Here, on the same cluster:

* ``overhead``: an epoch of tasks that do no work (``impls.dask.no_work``) on the blocks the
  rung uses, at every m of the m sweep: the scheduler's cost per epoch, apart from the work;
* the block-size axis, at the first axis size: the real epoch (``epoch``) and the empty one
  (``overhead``) with 1 to many blocks per worker thread, from which the lesson fits
  epoch ≈ bytes ÷ bandwidth + tasks × cost per task;
* ``processes``: the epoch and the empty epoch at the first axis size on a cluster of worker
  processes (one single-threaded worker per core, as ``dask worker`` processes would be), against
  the rung's default of worker threads in this process;
* ``store``: the epoch with X in a Zarr store on disk, read block by block every epoch, at the
  first axis size, against the in-memory epoch. The store is written untimed to a temporary
  folder; on a machine whose memory holds it, the operating system's page cache serves the reads.
"""

from __future__ import annotations

import math

import pytest

from bench.results.schema import record
from bench.suite.config import PROFILE
from bench.suite.data import get_data, timed_problem
from bench.suite.harness import Point, answer_error, assert_answer, size_info, skip_if_over_budget
from impls import IMPLEMENTATIONS, MISSING

INSTALLED = "dask" in IMPLEMENTATIONS
AXIS = PROFILE.axis_sizes[0]
OVERHEAD_POINTS = [(m, PROFILE.n_fixed, None) for m in PROFILE.m_sweep] if INSTALLED else []
BLOCK_POINTS = [(*AXIS, per_thread) for per_thread in PROFILE.dask_blocks_per_thread] if INSTALLED else []
# One block per thread is the rung's own choice: its empty epoch at the axis size is in the sweep already.
EMPTY_BLOCK_POINTS = [p for p in BLOCK_POINTS if p[2] != 1 or (p[0], p[1], None) not in OVERHEAD_POINTS]


if not INSTALLED:

    def test_dask_not_installed(benchmark):
        """Where distributed is missing, every run lists the dask benchmarks as skipped, with the reason."""
        pytest.skip(MISSING["dask"])


def _dask():
    from impls import dask  # registered only where distributed is installed

    return dask


def _problem(m: int, n: int, epochs: int):
    return timed_problem(IMPLEMENTATIONS["dask"], m, n, "float64", epochs)


def _rows(m: int, per_thread: int | None) -> int | None:
    return None if per_thread is None else math.ceil(m / (per_thread * _dask().worker_threads()))


def _record(benchmark, point: Point, epochs: int, way: str, state, **extra) -> None:
    dask = _dask()
    blocks = len(state.X_blocks)
    benchmark.extra_info.update(
        record(
            "distributed",
            **size_info(point, epochs, dask.worker_threads(state.client)),
            way=way,
            blocks=blocks,
            rows_per_task=math.ceil(point.m / blocks),
            tasks=dask.tasks_per_epoch(blocks),
            tree_depth=len(dask.reduction_levels(blocks)),
            **extra,
        )
    )


@pytest.mark.parametrize(
    ("m", "n", "per_thread"),
    OVERHEAD_POINTS + EMPTY_BLOCK_POINTS,
    ids=[f"overhead-m{m}-n{n}-{p or 'default'}blocks" for m, n, p in OVERHEAD_POINTS + EMPTY_BLOCK_POINTS],
)
def test_dask_overhead(benchmark, m, n, per_thread):
    """An epoch of empty tasks on the rung's blocks: scheduling, dependencies, the reduction tree."""
    dask = _dask()
    problem = _problem(m, n, 1)
    state = dask.prepare(problem, rows=_rows(m, per_thread))
    w = problem.w0.copy()
    dask.epoch_sums(state, w, 0.0, terms=dask.no_work)  # first use: the workers import the task code
    benchmark.group = f"dask overhead m={m} n={n}"
    sums = benchmark(dask.epoch_sums, state, w, 0.0, terms=dask.no_work)
    assert not sums.any()
    point = Point(m, n, "float64", "dask", "all")
    _record(benchmark, point, 1, "overhead", state, default_blocks=per_thread is None)


@pytest.mark.parametrize(
    ("m", "n", "per_thread"),
    BLOCK_POINTS,
    ids=[f"blocks-m{m}-n{n}-{p}per-thread" for m, n, p in BLOCK_POINTS],
)
def test_dask_block_size(benchmark, m, n, per_thread):
    """The real epoch with 1 to many blocks per worker thread: work per task against tasks per epoch."""
    dask, rung = _dask(), IMPLEMENTATIONS["dask"]
    point = Point(m, n, "float64", "dask", "all")
    skip_if_over_budget(rung, point, PROFILE)
    problem = _problem(m, n, PROFILE.epochs)
    state = dask.prepare(problem, rows=_rows(m, per_thread))
    rung.run(state, problem)  # warm-up
    benchmark.group = f"dask blocks m={m} n={n}"
    result = benchmark(rung.run, state, problem)
    error = answer_error(result, point, PROFILE.epochs)
    _record(
        benchmark,
        point,
        PROFILE.epochs,
        "epoch",
        state,
        default_blocks=False,
        max_rel_error=error,
        tolerance=rung.tolerance("float64"),
    )
    assert_answer(rung, error, point)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """X of the first axis size in a Zarr store, in chunks of the rung's default block rows."""
    import zarr

    m, n = AXIS
    X, _ = get_data(m, n)
    rows = _dask().rows_per_task(m, n, X.itemsize, _dask().worker_threads(), _dask().MAX_BLOCK_BYTES)
    path = tmp_path_factory.mktemp("dask-store") / "X.zarr"
    array = zarr.create_array(str(path), shape=X.shape, chunks=(rows, n), dtype=X.dtype)
    array[:] = X
    return str(path)


@pytest.mark.skipif(not INSTALLED, reason=MISSING.get("dask", ""))
def test_dask_out_of_core(benchmark, store):
    """The epoch with X read from the store every epoch, against the same epoch in memory."""
    dask, rung = _dask(), IMPLEMENTATIONS["dask"]
    m, n = AXIS
    point = Point(m, n, "float64", "dask", "all")
    problem = _problem(m, n, PROFILE.epochs)
    state = dask.prepare_store(store, problem.y, problem.w0, problem.b0, problem.dtype)
    rung.run(state, problem)  # warm-up: each worker opens the store
    benchmark.group = f"dask blocks m={m} n={n}"
    result = benchmark(rung.run, state, problem)
    error = answer_error(result, point, PROFILE.epochs)
    codecs = ", ".join(type(c).__name__ for c in __import__("zarr").open_array(store).compressors) or "none"
    _record(
        benchmark,
        point,
        PROFILE.epochs,
        "store",
        state,
        default_blocks=True,
        max_rel_error=error,
        tolerance=rung.tolerance("float64"),
        store_codecs=codecs,
    )
    assert_answer(rung, error, point)


PROCESS_POINTS = [(*AXIS, way) for way in ("epoch", "overhead")] if INSTALLED else []


@pytest.fixture(scope="module")
def process_cluster():
    """One single-threaded worker process per core: what `dask worker` processes would be."""
    import os

    import distributed

    with (
        _dask().local_cluster(  # the workers get OMP_NUM_THREADS=1, this process does not
            n_workers=os.cpu_count() or 1,
            threads_per_worker=1,
            processes=True,
            dashboard_address="127.0.0.1:0",
        ) as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        yield client


@pytest.mark.parametrize(
    ("m", "n", "way"), PROCESS_POINTS, ids=[f"processes-{w}-m{m}-n{n}" for m, n, w in PROCESS_POINTS]
)
def test_dask_worker_processes(benchmark, process_cluster, m, n, way):
    """The epoch (or the empty one) with the workers in processes of their own."""
    dask, rung = _dask(), IMPLEMENTATIONS["dask"]
    point = Point(m, n, "float64", "dask", "all")
    epochs = PROFILE.epochs if way == "epoch" else 1
    problem = _problem(m, n, epochs)
    benchmark.group = f"dask blocks m={m} n={n}"
    with dask.using(process_cluster):
        state = dask.prepare(problem)
        if way == "epoch":
            rung.run(state, problem)  # warm-up: each worker process loads the kernel
            result = benchmark(rung.run, state, problem)
            error = answer_error(result, point, epochs)
            checked = {"max_rel_error": error, "tolerance": rung.tolerance("float64")}
        else:
            w = problem.w0.copy()
            dask.epoch_sums(state, w, 0.0, terms=dask.no_work)
            benchmark(dask.epoch_sums, state, w, 0.0, terms=dask.no_work)
            checked = {}
        _record(benchmark, point, epochs, way, state, default_blocks=True, processes=True, **checked)
    if checked:
        assert_answer(rung, checked["max_rel_error"], point)
