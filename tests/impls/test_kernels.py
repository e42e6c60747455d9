"""The numerical building blocks of the compiled rungs, element by element."""

from __future__ import annotations

import importlib
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit
from scipy.special import expit

from impls._common import validate
from impls._scalar import logistic_terms
from impls._simd import dot_rows4, grad_rows4, logistic_terms_simd
from impls.numba_fused import CHUNK_ROWS, run_descent
from impls.numba_tiled import tile_terms
from impls.planner import candidates
from tests.reference import make_problem


def _tile(z: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    loss, error = np.empty_like(z), np.empty_like(z)
    tile_terms(z, y, loss, error, np.empty(z.size, dtype=np.int64))
    return loss, error


def _simd_caller(lanes: int):
    terms = logistic_terms_simd(lanes)

    @njit
    def call(z, y, loss, error):
        terms(z, y, loss, error)

    return call


SIMD = {lanes: _simd_caller(lanes) for lanes in (4, 8, 16)}


def _simd(z: np.ndarray, y: np.ndarray, lanes: int) -> tuple[np.ndarray, np.ndarray]:
    """The SIMD terms over z, ``lanes`` at a time (z.size a multiple of lanes)."""
    loss, error = np.empty_like(z), np.empty_like(z)
    for k in range(0, z.size, lanes):
        block_loss, block_error = np.empty(lanes), np.empty(lanes)
        SIMD[lanes](z[k : k + lanes].copy(), y[k : k + lanes].copy(), block_loss, block_error)
        loss[k : k + lanes], error[k : k + lanes] = block_loss, block_error
    return loss, error


def _exact_terms(z: float, y: float) -> tuple[float, float]:
    """Loss and error from NumPy's logaddexp and SciPy's expit: independent of the rungs."""
    return float(np.logaddexp(0.0, z) - y * z), float(expit(z) - y)


LOGITS = st.one_of(
    st.floats(-800, 800, allow_nan=False),
    st.floats(-1e-3, 1e-3, allow_nan=False),
    st.sampled_from([0.0, -0.0, 5e-324, -708.0, 708.0, -745.2, 36.0, -36.0]),
)


@settings(max_examples=300, deadline=None)
@given(z=LOGITS, y=st.sampled_from([0.0, 1.0]))
def test_scalar_and_tiled_terms_match_an_independent_formula(z, y):
    exact_loss, exact_error = _exact_terms(z, y)
    scale = max(1.0, abs(z))  # the loss is a difference of terms of size |z|
    loss, error = logistic_terms(z, y)
    assert loss == pytest.approx(exact_loss, rel=1e-15, abs=1e-15 * scale)
    assert error == pytest.approx(exact_error, rel=1e-15, abs=1e-300)
    tiled_loss, tiled_error = _tile(np.array([z]), np.array([y]))
    assert tiled_loss[0] == pytest.approx(exact_loss, rel=4e-15, abs=4e-15 * scale)
    # Below exp(-708) ~ 3.3e-308 the tile clamps e: an absolute error under 4e-308, nothing more.
    assert tiled_error[0] == pytest.approx(exact_error, rel=4e-15, abs=4e-308)


def test_tile_exp_and_log1p_over_the_whole_range():
    z = np.linspace(-707.0, 707.0, 100_001)
    loss, error = _tile(z, np.zeros_like(z))  # y = 0: loss = softplus(z), error = sigmoid(z)
    sigmoid = expit(z)
    assert np.max(np.abs(error - sigmoid) / sigmoid) < 1e-15
    softplus_negative = np.array([math.log1p(math.exp(v)) for v in z[z < 0]])
    assert np.max(np.abs(loss[z < 0] - softplus_negative) / softplus_negative) < 1e-15


@settings(max_examples=200, deadline=None)
@given(
    z=st.lists(LOGITS, min_size=16, max_size=16),
    y=st.lists(st.sampled_from([0.0, 1.0]), min_size=16, max_size=16),
    lanes=st.sampled_from([4, 8, 16]),
)
def test_simd_terms_match_an_independent_formula_in_every_lane(z, y, lanes):
    """Each lane of the vector code is computed on its own: a neighbour's value changes nothing."""
    loss, error = _simd(np.array(z), np.array(y), lanes)
    for k in range(16):
        exact_loss, exact_error = _exact_terms(z[k], y[k])
        scale = max(1.0, abs(z[k]))
        assert loss[k] == pytest.approx(exact_loss, rel=4e-15, abs=4e-15 * scale)
        assert error[k] == pytest.approx(exact_error, rel=4e-15, abs=4e-308)


def test_simd_terms_over_the_whole_range_agree_with_the_tile_loops():
    z = np.linspace(-707.0, 707.0, 16 * 6_000)
    y = (np.arange(z.size) % 3 == 0).astype(np.float64)
    tile_loss, tile_error = _tile(z, y)
    for lanes in (4, 8, 16):
        loss, error = _simd(z, y, lanes)
        # Estrin's and Horner's schemes round differently: a few units in the last place of
        # the terms before `- y z` and `- y`, which cancel where y = 1 (so an absolute allowance).
        np.testing.assert_allclose(loss, tile_loss, rtol=4e-15, atol=4e-16)
        np.testing.assert_allclose(error, tile_error, rtol=4e-15, atol=4e-16)


def test_simd_terms_leave_their_inputs_alone():
    z, y = np.linspace(-3.0, 3.0, 8), np.ones(8)
    z_before, y_before = z.copy(), y.copy()
    SIMD[8](z, y, np.empty(8), np.empty(8))
    np.testing.assert_array_equal(z, z_before)
    np.testing.assert_array_equal(y, y_before)


@njit
def _dot_rows4(flat, start, n, w, b, z, k):
    dot_rows4(flat, start, n, w, b, z, k)


@njit
def _grad_rows4(flat, start, n, error, k, grad):
    grad_rows4(flat, start, n, error, k, grad)


def _four_rows(seed: int, n: int, dtype: str):
    """Six rows of n random values: the kernels read rows 1..4, so rows 0 and 5 must not count."""
    rng = np.random.default_rng(seed)
    scale = 10.0 ** rng.integers(-3, 4)
    return (rng.standard_normal((6, n)) * scale).astype(dtype), rng


def _allowance(terms: np.ndarray, dtype: str, n: int) -> np.ndarray:
    """Rounding bound of a reordered sum of n terms (plus one): (n + 1) eps sum|terms| per row."""
    return (n + 1) * np.finfo(dtype).eps * np.abs(terms).sum(axis=-1) + np.finfo(dtype).tiny


ROW_LENGTHS = st.sampled_from([1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 17, 24, 25, 31, 32, 33, 100])


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=ROW_LENGTHS, dtype=st.sampled_from(["float64", "float32"]))
def test_dot_rows4_gives_four_logits(seed, n, dtype):
    """Every row length: whole vectors, the scalar remainder, or only the remainder (n < lanes)."""
    X, rng = _four_rows(seed, n, dtype)
    w = rng.standard_normal(n).astype(dtype)
    b = float(rng.standard_normal())
    X_before, w_before = X.copy(), w.copy()
    z = np.full(7, np.nan)
    _dot_rows4(X.reshape(-1), n, n, w, b, z, 2)  # rows 1..4 into z[2:6]
    products = X[1:5].astype(np.float64) * w.astype(np.float64)
    exact = np.array([math.fsum(row) for row in products]) + b
    assert np.all(np.abs(z[2:6] - exact) <= _allowance(products, dtype, n) + 4 * np.finfo(dtype).eps * abs(b))
    assert np.isnan(z[[0, 1, 6]]).all()  # nothing written outside z[k:k+4]
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(w, w_before)


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=ROW_LENGTHS, dtype=st.sampled_from(["float64", "float32"]))
def test_grad_rows4_adds_four_rows_into_the_gradient(seed, n, dtype):
    X, rng = _four_rows(seed, n, dtype)
    error = rng.standard_normal(7)
    grad = rng.standard_normal(n + 1).astype(dtype)
    grad[n] = np.nan  # one past the end: must stay untouched
    X_before, error_before, grad_before = X.copy(), error.copy(), grad.copy()
    _grad_rows4(X.reshape(-1), n, n, error, 3, grad)  # rows 1..4 weighted by error[3:7]
    e = error[3:7].astype(dtype).astype(np.float64)  # the kernel rounds the errors to the data's dtype
    terms = np.vstack([grad_before[:n].astype(np.float64), e[:, None] * X[1:5].astype(np.float64)]).T
    exact = np.array([math.fsum(column) for column in terms])
    assert np.all(np.abs(grad[:n] - exact) <= _allowance(terms, dtype, 5))
    assert np.isnan(grad[n])
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(error, error_before)


def test_row_kernels_refuse_mixed_dtypes():
    """The sums run in the data's dtype, so w and the gradient must share it: a typing error, not a cast."""
    X = np.ones((4, 8))
    with pytest.raises(Exception, match="dot_rows4"):
        _dot_rows4(X.reshape(-1), 0, 8, np.ones(8, dtype=np.float32), 0.0, np.zeros(4), 0)
    with pytest.raises(Exception, match="grad_rows4"):
        _grad_rows4(X.reshape(-1), 0, 8, np.zeros(4), 0, np.zeros(8, dtype=np.float32))


@pytest.mark.parametrize(
    ("module_name", "helpers"),
    [
        ("numba_fused", ("fused_rows",)),
        ("numba_tiled", ("tile_terms",)),
        ("numba_blocked", ("_PASS_4", "_PASS_8", "_PASS_16")),
    ],
)
def test_rebuild_compiles_the_chunks_helpers_afresh(module_name, helpers):
    """The compile benchmark times rung.rebuild(): every kernel the chunk calls must be new and uncompiled."""
    module = importlib.import_module(f"impls.{module_name}")
    fresh = module.RUNG.rebuild()
    chunk, *helper_kernels = fresh.kernels
    assert len(helper_kernels) == len(helpers)
    for name, kernel in zip(helpers, helper_kernels, strict=True):
        original = getattr(module, name)
        assert kernel is not original
        assert kernel.py_func.__code__ is getattr(original, "py_func", original).__code__
        assert not kernel.signatures, f"{name} arrived already compiled"
        assert chunk.py_func.__globals__[name] is kernel, f"the rebuilt chunk would still call the old {name}"
    assert not chunk.signatures


def test_rebuilt_kernels_bypass_the_disk_cache():
    """A cold compile must compile: no kernel of a rebuilt rung may load machine code from the disk cache."""
    from numba.core.caching import NullCache

    for name in ("numba_loops", "numba_fused", "numba_tiled", "numba_blocked", "numba_tuned"):
        rebuilt = importlib.import_module(f"impls.{name}").RUNG.rebuild()
        assert rebuilt.kernels
        for kernel in rebuilt.kernels:
            assert isinstance(kernel._cache, NullCache), (name, kernel)
    for family in candidates.FAMILIES.values():
        driver, _ = family.build(cold=True)
        assert isinstance(driver._cache, NullCache) and not driver.signatures
        warm_driver, _ = family.build()
        assert not isinstance(warm_driver._cache, NullCache)


@pytest.mark.parametrize(
    ("family", "knobs"),
    [
        ("fused", [(0, 0), (64, 0), (1024, 0), (16384, 0)]),
        ("blocked", [(4, -1), (4, 64), (4, 1024), (4, 16384)]),
        ("blocked", [(16, -1), (16, 16384)]),
        ("skewed", [(4, -1), (4, 1024), (4, 4096)]),
        ("skewed", [(8, -1), (8, 2048)]),
    ],
)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_prefetching_changes_no_bit_of_the_answer(family, knobs, dtype):
    """A prefetch is a hint: at any distance, or none, every weight and cost is the same to the bit.

    Two chunks of rows (the second one short), so the cursor also meets a chunk's end.
    """
    X, y = make_problem(CHUNK_ROWS + 1003, 37, seed=4)
    problem = validate(X.astype(dtype), y.astype(dtype), lr=0.3, epochs=3, dtype=dtype)
    driver = candidates.drivers()[family]
    first, *others = (run_descent(driver, problem, 0.3, 3, k) for k in knobs)
    for w, b, costs in others:
        np.testing.assert_array_equal(w, first[0])
        assert b == first[1]
        np.testing.assert_array_equal(costs, first[2])
