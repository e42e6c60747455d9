"""Every rung against an independent float64 reference, finite differences and an optimiser."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.optimize import minimize

from impls import IMPLEMENTATIONS, relative_error
from tests.reference import make_problem, reference_cost, reference_fit, reference_gradient

SHAPES = {
    "one-example": (1, 1),
    "one-example-wide": (1, 4),
    "one-feature": (50, 1),
    "wide-n-gt-m": (3, 7),
    "square-ish": (64, 16),
    "tall": (600, 3),
}


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
def test_agrees_with_reference(rung, shape):
    m, n = shape
    X, y = make_problem(m, n, seed=m * 100 + n)
    rng = np.random.default_rng(7)
    w0, b0 = rng.standard_normal(n) * 0.1, 0.25
    result = rung.fit(X, y, lr=0.5, epochs=20, w0=w0, b0=b0)
    expected = reference_fit(X, y, lr=0.5, epochs=20, w0=w0, b0=b0)
    assert result.w.shape == (n,) and result.costs.shape == (20,)
    assert isinstance(result.b, float)
    assert relative_error(result, *expected) <= rung.tolerance("float64"), rung.tolerance.why


# Rows of 13, 37 and 70 elements, in float64 and float32, give numba_blocked each of its block
# sizes (4, 8 and 16 rows: see numba_blocked.block_rows); numba_tuned's candidates pin each size.
@pytest.mark.parametrize(
    "shape",
    [(2 * 4096 + 7, 13), (4096 + 3, 37), (4096 + 5, 70)],
    ids=["3-chunks", "2-chunks-odd", "long-rows"],
)
def test_several_chunks_and_ragged_tiles(rung_and_dtype, shape):
    """More rows than one parallel chunk (4096), and row counts that leave partial tiles and blocks."""
    rung, dtype = rung_and_dtype
    m, n = shape
    X, y = make_problem(m, n, seed=m + n)
    w0 = np.random.default_rng(3).standard_normal(n) * 0.1
    result = rung.fit(X, y, lr=0.5, epochs=3, w0=w0, b0=-0.1, dtype=dtype)
    expected = reference_fit(X, y, lr=0.5, epochs=3, w0=w0, b0=-0.1)
    assert relative_error(result, *expected) <= rung.tolerance(dtype), rung.tolerance.why


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_agrees_with_reference_on_random_problems(rung, data):
    m = data.draw(st.integers(1, 12), label="m")
    n = data.draw(st.integers(1, 5), label="n")
    finite = st.floats(-4, 4, allow_nan=False, allow_infinity=False)
    X = data.draw(arrays(np.float64, (m, n), elements=finite), label="X")
    y = data.draw(arrays(np.bool_, m), label="y")
    w0 = data.draw(arrays(np.float64, n, elements=finite), label="w0")
    b0 = data.draw(finite, label="b0")
    lr = data.draw(st.floats(1e-3, 2.0), label="lr")
    epochs = data.draw(st.integers(0, 6), label="epochs")
    result = rung.fit(X, y, lr=lr, epochs=epochs, w0=w0, b0=b0)
    expected = reference_fit(X, y, lr=lr, epochs=epochs, w0=w0, b0=b0)
    assert relative_error(result, *expected) <= rung.tolerance("float64")


def test_zero_epochs_returns_the_start(rung):
    X, y = make_problem(5, 2, seed=1)
    result = rung.fit(X, y, lr=0.1, epochs=0, w0=[0.5, -0.5], b0=2.0)
    np.testing.assert_array_equal(result.w, [0.5, -0.5])
    assert result.b == 2.0 and result.costs.shape == (0,)


def test_gradient_matches_central_differences(rung):
    """One epoch at lr=1 moves (w, b) by exactly minus the gradient; compare to finite differences."""
    X, y = make_problem(40, 4, seed=3)
    rng = np.random.default_rng(4)
    w0, b0 = rng.standard_normal(4) * 0.5, -0.3
    result = rung.fit(X, y, lr=1.0, epochs=1, w0=w0, b0=b0)
    grad = np.append(w0 - result.w, b0 - result.b)

    theta0 = np.append(w0, b0)
    h = 1e-6
    numeric = np.empty_like(theta0)
    for k in range(theta0.size):
        step = np.zeros_like(theta0)
        step[k] = h
        plus, minus = theta0 + step, theta0 - step
        numeric[k] = (
            reference_cost(X, y, plus[:-1], plus[-1]) - reference_cost(X, y, minus[:-1], minus[-1])
        ) / (2 * h)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)
    assert result.costs[0] == pytest.approx(reference_cost(X, y, w0, b0), rel=1e-12)


def _lbfgs_minimiser(X, y):
    """The unregularized logistic-regression minimiser, found by SciPy's L-BFGS."""

    def cost_and_grad(theta):
        w, b = theta[:-1], theta[-1]
        dw, db = reference_gradient(X, y, w, b)
        return reference_cost(X, y, w, b), np.append(dw, db)

    found = minimize(
        cost_and_grad, np.zeros(X.shape[1] + 1), jac=True, method="L-BFGS-B", options={"gtol": 1e-12}
    )
    assert found.success, found.message
    return found.x


def test_long_run_converges_to_the_lbfgs_minimiser(rung):
    X, y = make_problem(150, 2, seed=11)  # labels are noisy: not separable, so a minimiser exists
    theta_star = _lbfgs_minimiser(X, y)
    result = rung.fit(X, y, lr=2.0, epochs=1500)
    np.testing.assert_allclose(np.append(result.w, result.b), theta_star, atol=1e-6)
    assert np.all(np.diff(result.costs) <= 1e-15), "cost must not increase on this well-conditioned problem"


def test_float32_close_to_float64(rung_and_dtype):
    rung, dtype = rung_and_dtype
    X, y = make_problem(400, 8, seed=5)
    result = rung.fit(X, y, lr=0.5, epochs=30, dtype=dtype)
    assert result.w.dtype == dtype and result.costs.dtype == dtype
    expected = reference_fit(X, y, lr=0.5, epochs=30)
    assert relative_error(result, *expected) <= rung.tolerance(dtype), rung.tolerance.why


def test_unsupported_dtype_is_refused_by_name():
    rung = IMPLEMENTATIONS["python_loops"]
    assert not rung.supports(np.float32) and rung.supports(None)
    with pytest.raises(ValueError, match=r"dtype float32 is not supported by python_loops"):
        rung.fit([[1.0]], [1], lr=0.1, epochs=1, dtype=np.float32)


def test_every_array_rung_runs_float32():
    for name, rung in IMPLEMENTATIONS.items():
        if name != "python_loops":
            assert rung.supports("float32"), name


def test_extreme_logits_stay_finite_without_warnings(rung_and_dtype):
    rung, dtype = rung_and_dtype
    # With w0 = 1 the logits are the X values: two confidently wrong, two confidently right.
    X = np.array([[1000.0], [-1000.0], [500.0], [-800.0]])
    y = np.array([0, 1, 1, 0])
    # Underflow of exp(-|z|) to 0 is the intended, harmless outcome; anything else raises.
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        result = rung.fit(X, y, lr=1e-3, epochs=3, w0=[1.0], dtype=dtype)
    assert np.all(np.isfinite(result.costs)) and np.all(np.isfinite(result.w))
    # Cost of the start: losses 1000, 1000, ~0, ~0 (log1p(exp(-500)) underflows to 0 harmlessly).
    assert result.costs[0] == pytest.approx(500.0, rel=1e-6)
    expected = reference_fit(X, y, lr=1e-3, epochs=3, w0=[1.0])
    assert relative_error(result, *expected) <= rung.tolerance(dtype)


def test_first_cost_from_zero_is_log_two(rung):
    X, y = make_problem(30, 3, seed=2)
    assert rung.fit(X, y, lr=0.1, epochs=1).costs[0] == pytest.approx(math.log(2), rel=1e-12)
