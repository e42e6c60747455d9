"""The numerical building blocks of the compiled rungs, element by element."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit

from impls._scalar import logistic_terms
from impls.numba_tiled import tile_terms


def _tile(z: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    loss, error = np.empty_like(z), np.empty_like(z)
    tile_terms(z, y, loss, error, np.empty(z.size, dtype=np.int64))
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
