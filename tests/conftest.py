import pytest

from impls import IMPLEMENTATIONS


@pytest.fixture(params=list(IMPLEMENTATIONS), ids=list(IMPLEMENTATIONS))
def rung(request):
    """Every rung of the ladder; a rung added to the registry is tested with no other change."""
    return IMPLEMENTATIONS[request.param]


@pytest.fixture(
    params=[(name, dtype) for name, r in IMPLEMENTATIONS.items() for dtype in r.dtypes],
    ids=[f"{name}-{dtype}" for name, r in IMPLEMENTATIONS.items() for dtype in r.dtypes],
)
def rung_and_dtype(request):
    """Every (rung, dtype) pair the registry says it supports."""
    name, dtype = request.param
    return IMPLEMENTATIONS[name], dtype
