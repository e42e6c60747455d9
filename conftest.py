"""Root conftest: `pytest --benchmark-only` from the root collects the benchmarks alone.

It is imported before anything loads numpy: ``import bench`` sets OpenBLAS's thread timeout there
(``bench/__init__.py``), so every benchmark and test process runs with the same BLAS pool.
"""

import bench  # noqa: F401 (sets OPENBLAS_THREAD_TIMEOUT before numpy loads)


def pytest_ignore_collect(collection_path, config):
    # Under --benchmark-only every correctness test would only be skipped: don't even import them.
    if config.getoption("benchmark_only", default=False):
        if collection_path.is_relative_to(config.rootpath / "tests"):
            return True
    return None
