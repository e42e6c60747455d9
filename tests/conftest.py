import os
import tempfile

import pytest

from impls import IMPLEMENTATIONS, MISSING
from impls.numba_tuned import candidate_rung
from impls.planner import CANDIDATES


def pytest_configure(config):
    """numba_tuned plans by its rule of thumb in the tests (FFTW_ESTIMATE), with wisdom of their own.

    Each of its candidates is tested on its own below, and tests/impls/test_planner.py exercises
    measuring with its own wisdom files: nothing the tests do touches the user's wisdom. (This
    conftest is also loaded under --benchmark-only, where it must leave the planning alone.)
    """
    if not config.getoption("benchmark_only", default=False):
        os.environ["LADDER_PLANNING"] = "estimate"
        os.environ["LADDER_WISDOM"] = os.path.join(tempfile.mkdtemp(prefix="ladder-tests-"), "wisdom.json")


#: Every rung, then every candidate kernel of numba_tuned pinned as a rung of its own: any of them
#: may be the one a machine's plan picks, so each must pass the whole correctness suite.
TESTED = {**IMPLEMENTATIONS, **{rung.name: rung for rung in map(candidate_rung, CANDIDATES)}}


#: Peers whose package this Python lacks: every test of theirs is listed, and skipped with the reason.
ABSENT = [pytest.param(name, marks=pytest.mark.skip(reason=why), id=name) for name, why in MISSING.items()]


@pytest.fixture(params=[*TESTED, *ABSENT], ids=[*TESTED, *(p.id for p in ABSENT)])
def rung(request):
    """Every rung of the ladder; a rung added to the registry is tested with no other change."""
    return TESTED[request.param]


@pytest.fixture(
    params=[(name, dtype) for name, r in TESTED.items() for dtype in r.dtypes]
    + [pytest.param((p.id, None), marks=p.marks, id=p.id) for p in ABSENT],
    ids=[f"{name}-{dtype}" for name, r in TESTED.items() for dtype in r.dtypes] + [p.id for p in ABSENT],
)
def rung_and_dtype(request):
    """Every (rung, dtype) pair the registry says it supports."""
    name, dtype = request.param
    return TESTED[name], dtype


@pytest.fixture(scope="session", autouse=True)
def _one_dask_cluster_per_session():
    """The dask rung starts its LocalCluster on first use; it is closed once, when the session ends."""
    yield
    if "dask" in IMPLEMENTATIONS:
        from impls import dask

        dask.close()


#: Test cases slow enough to leave out of a quick local pass (-m "not slow"); tox -e tests runs them.
SLOW_CASES = {"test_long_run_converges_to_the_lbfgs_minimiser": {"dask"}}  # a cluster, 2,000 epochs


def pytest_collection_modifyitems(items):
    for item in items:
        slow_ids = SLOW_CASES.get(getattr(item, "originalname", ""), set())
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.id in slow_ids:
            item.add_marker(pytest.mark.slow)
