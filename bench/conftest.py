"""What a results file records besides the timings: the machine, the code timed, the plans made."""

from __future__ import annotations

import dataclasses
import os
import platform
import sys
import tempfile
from importlib import metadata
from pathlib import Path

import numba
import pytest
from threadpoolctl import threadpool_info

from bench import ALLOCATOR, BLAS_SETTING_IN_TIME
from bench.results.schema import RESULTS_VERSION
from bench.suite import runs
from bench.suite.config import LR, PROFILE, SEED, SETTINGS_ERROR
from bench.suite.describe import ladder
from impls._common import source_digest
from impls.planner import MODES, store
from impls.planner.key import last_level_cache_bytes, machine_key

THREAD_ENV = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMBA_NUM_THREADS",
    "NUMBA_THREADING_LAYER",
    "OPENBLAS_CORETYPE",
    "OPENBLAS_THREAD_TIMEOUT",
    "OPENBLAS_L2_SIZE",
)
PACKAGES = (
    "numpy",
    "numba",
    "llvmlite",
    "scipy",
    "pytest-benchmark",
    "threadpoolctl",
    "pandas",
    "matplotlib",
    "platformdirs",
)


def pytest_configure(config):
    """numba_tuned plans afresh in every benchmark run, as on a machine it has never seen.

    The run's plans (and every candidate's time behind them) then come from this run and go into
    its results file. ``LADDER_WISDOM`` set by the user keeps theirs instead. A bad BENCH_*
    or LADDER_PLANNING value stops the run here, before collection, with one line naming it.
    """
    if SETTINGS_ERROR is not None:
        raise pytest.UsageError(str(SETTINGS_ERROR))
    if os.environ.get("LADDER_PLANNING", "measure") not in MODES:
        modes = ", ".join(MODES)
        raise pytest.UsageError(
            f"LADDER_PLANNING must be one of {modes}, got {os.environ['LADDER_PLANNING']!r}"
        )
    if "LADDER_WISDOM" not in os.environ:
        folder = Path(tempfile.mkdtemp(prefix="ladder-bench-wisdom-"))
        os.environ["LADDER_WISDOM"] = str(folder / "wisdom.json")
    os.environ.setdefault("LADDER_PLANNING", "measure")


@pytest.fixture(autouse=True)
def _no_idle_cluster():
    """Close the dask rung's LocalCluster after each benchmark that started one.

    Left running, its idle worker threads and event loop slowed every rung timed after it by up
    to about 15% (``bench/FINDINGS.md``, "An idle Dask cluster in the process slows the other
    rungs"). Closing happens after the benchmark, outside every timed region.
    """
    yield
    dask = sys.modules.get("impls.dask")  # imported only where distributed is installed
    if dask is not None:
        dask.close()


_RUN: dict = {}  # this session's RunRecord and the session itself, once started


def pytest_sessionstart(session):
    _RUN["session"] = session
    _RUN["record"] = runs.start(session.config)


def pytest_collection_modifyitems(session, config, items):
    """Spread the side-by-side passes over the run: pass k of every point at the k-th of its parts.

    A point's processes run back to back share one minute of the machine (its memory bandwidth
    moves by tens of percent over minutes), so their interval cannot cover a run made minutes later;
    passes spread over the run meet that drift, and their interval does (``bench_side_by_side.py``).
    Each pass goes between two files' benchmarks, never inside one file's.
    """
    items[:] = spread_passes(items)


def spread_passes(items: list) -> list:
    """``items`` with the side-by-side passes (pass-major) placed evenly over the others, at the
    file boundaries nearest to the even places; the first pass first, the last at the end."""
    passes: dict[int, list] = {}
    others = []
    for item in items:
        side_pass = getattr(item, "callspec", None) and item.callspec.params.get("side_pass")
        if isinstance(side_pass, int):
            passes.setdefault(side_pass, []).append(item)
        else:
            others.append(item)
    if len(passes) < 2 or not others:
        return items
    bounds = [0, *(k for k in range(1, len(others)) if others[k].path != others[k - 1].path), len(others)]
    count = len(passes)
    places = {}
    for rank, side_pass in enumerate(sorted(passes)):
        aim = rank * len(others) / (count - 1)
        places.setdefault(min(bounds, key=lambda b: abs(b - aim)), []).extend(passes[side_pass])
    out = []
    for k, item in enumerate(others):
        out.extend(places.pop(k, []))
        out.append(item)
    out.extend(places.pop(len(others), []))
    return out


def pytest_collection_finish(session):
    if _RUN.get("record") is not None:
        _RUN["record"].collected = [item.nodeid for item in session.items]


def pytest_runtest_logreport(report):
    if _RUN.get("record") is not None:
        _RUN["record"].report(report)


@pytest.hookimpl(wrapper=True)
def pytest_sessionfinish(session, exitstatus):
    """After pytest-benchmark has written this run's file: move it into place only if the run completed."""
    try:
        return (yield)
    finally:
        if _RUN.get("record") is not None:
            runs.finish(_RUN["record"], session)


def pytest_benchmark_update_json(config, benchmarks, output_json):
    """Keep the statistics and a sample of the rounds; params as plain values; add the code this
    run timed (``bench.suite.describe``) and the plans it made.

    Every raw round (``stats.data``) made a default run's file 14 MB. pytest-benchmark computed its
    statistics from every round before this hook runs; ``stats.data`` keeps at most
    ``runs.KEPT_ROUNDS`` of them, evenly spaced in time order, to 4 significant digits: what an
    interval needs (``ladderstats``, ``python -m bench.compare``). The per-round times of the
    side-by-side benchmarks are rounded the same way.
    """
    for bench in output_json["benchmarks"]:
        bench["stats"]["data"] = runs.sample_rounds(bench["stats"].get("data") or [])
        runs.round_times(bench.get("extra_info") or {})
        point = (bench.get("params") or {}).get("point")
        if dataclasses.is_dataclass(point):
            bench["params"] = {"point": dataclasses.asdict(point)}
    output_json["results_version"] = RESULTS_VERSION
    output_json["ladder"] = ladder()
    output_json["wisdom_machine"], output_json["wisdom"] = _wisdom(store.entries())
    if "session" in _RUN:
        runs.stamp(_RUN.get("record"), _RUN["session"], output_json)


def _wisdom(entries: list[dict]) -> tuple[dict, list[dict]]:
    """The plans the run made, the machine part of their keys (this CPU's feature list, the
    versions: 2 KB an entry) said once, and left in the keys of entries from another machine."""
    machine = machine_key()
    compact = []
    for entry in entries:
        key = entry.get("key")
        if isinstance(key, dict) and all(key.get(name) == value for name, value in machine.items()):
            entry = {**entry, "key": {name: v for name, v in key.items() if name not in machine}}
        compact.append(entry)
    return machine, compact


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def pytest_benchmark_update_machine_info(config, machine_info):
    """CPU, cores, BLAS and Numba threading, thread variables and versions, in every results file."""
    machine_info["cpu_count"] = os.cpu_count()
    # py-cpuinfo's cache sizes can be wrong in a virtual machine; Linux's own report is kept too.
    machine_info["last_level_cache_bytes"] = last_level_cache_bytes()
    machine_info["platform_detail"] = platform.platform()
    machine_info["threadpoolctl"] = threadpool_info()
    try:
        layer = numba.threading_layer()  # known once a parallel kernel has run
    except ValueError:
        layer = None
    machine_info["numba"] = {
        "version": numba.__version__,
        "threading_layer": layer,
        "threading_layer_config": numba.config.THREADING_LAYER,
        "num_threads": numba.config.NUMBA_NUM_THREADS,
    }
    machine_info["thread_env"] = {name: os.environ.get(name) for name in THREAD_ENV}
    machine_info["openblas_timeout_in_time"] = BLAS_SETTING_IN_TIME  # set before OpenBLAS loaded
    machine_info["allocator"] = ALLOCATOR  # freed memory kept: bench/__init__.py
    machine_info["packages"] = {name: _version(name) for name in PACKAGES}
    # Timed descents start from bench.suite.data.start_weights; results files without "start_w" do not say.
    profile = {**dataclasses.asdict(PROFILE), "lr": LR, "seed": SEED, "start_w": "random"}
    # pytest-benchmark's own round settings: the quick profile shortens them (tox -e report-quick).
    profile["benchmark_max_time_s"] = float(config.getoption("benchmark_max_time"))
    profile["benchmark_min_rounds"] = int(config.getoption("benchmark_min_rounds"))
    machine_info["bench_profile"] = profile
    machine_info["impls_source_digest"] = source_digest()
