"""The numerical building blocks of the compiled rungs, element by element."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit
from scipy.special import expit

from impls._scalar import logistic_terms
from impls._simd import logistic_terms_simd
from impls.numba_tiled import tile_terms


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
