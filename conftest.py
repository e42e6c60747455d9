"""Root conftest: `pytest --benchmark-only` from the root collects the benchmarks alone."""


def pytest_ignore_collect(collection_path, config):
    # Under --benchmark-only every correctness test would only be skipped: don't even import them.
    if config.getoption("benchmark_only", default=False):
        if collection_path.is_relative_to(config.rootpath / "tests"):
            return True
    return None
