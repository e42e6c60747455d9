"""Machine metadata for the results file, and the order the benchmarks run in."""

from __future__ import annotations

import dataclasses
import os
import platform
from importlib import metadata

import numba
from threadpoolctl import threadpool_info

from bench.config import LR, PROFILE, SEED
from impls._common import source_digest

THREAD_ENV = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMBA_NUM_THREADS",
    "NUMBA_THREADING_LAYER",
    "OPENBLAS_CORETYPE",
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
)


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def pytest_benchmark_update_machine_info(config, machine_info):
    """CPU, cores, BLAS and Numba threading, thread variables and versions, in every results file."""
    machine_info["cpu_count"] = os.cpu_count()
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
    machine_info["packages"] = {name: _version(name) for name in PACKAGES}
    machine_info["bench_profile"] = {**dataclasses.asdict(PROFILE), "lr": LR, "seed": SEED}
    machine_info["impls_source_digest"] = source_digest()
