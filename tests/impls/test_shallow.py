"""The second workload's rungs (``impls.shallow``): one correctness suite, as for the ladder.

Every rung against an independent float64 reference written here from the formulas, the
gradients against finite differences of the cost, a petals-shaped toy the network separates and
logistic regression cannot, and bad input named before any work.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from scipy.special import expit, log_expit

from impls import IMPLEMENTATIONS as LADDER
from impls.shallow import IMPLEMENTATIONS, NAMES, start

RUNGS = list(IMPLEMENTATIONS)
#: (m, n, hidden): from one example, one feature and one unit to 2,048 x 5 with 256 units.
SHAPES = [(1, 1, 1), (3, 2, 1), (7, 3, 2), (50, 5, 16), (129, 4, 3), (2_048, 5, 256)]


def reference(X, y, params, lr, epochs):
    """The descent in float64 from the formulas: scipy's expit and log_expit for the sigmoid and its log."""
    W1, b1, W2, b2 = (np.array(params[k], dtype=np.float64) for k in NAMES)
    b2 = float(b2)
    m = X.shape[0]
    costs = []
    for _ in range(epochs):
        A1 = np.tanh(X @ W1.T + b1)
        z2 = A1 @ W2 + b2
        costs.append(float(-np.mean(y * log_expit(z2) + (1 - y) * log_expit(-z2))))
        dz2 = expit(z2) - y
        dZ1 = dz2[:, None] * W2[None, :] * (1 - A1**2)
        W1, b1 = W1 - lr * dZ1.T @ X / m, b1 - lr * dZ1.sum(axis=0) / m
        W2, b2 = W2 - lr * A1.T @ dz2 / m, b2 - lr * dz2.sum() / m
    return {"W1": W1, "b1": b1, "W2": W2, "b2": b2}, np.array(costs)


def cost(X, y, params) -> float:
    return reference(X, y, params, 0.0, 1)[1][0]


def data(m: int, n: int, seed: int = 0):
    rng = np.random.default_rng([seed, m, n])
    X = rng.standard_normal((m, n))
    y = (rng.random(m) < 0.5).astype(np.float64)
    return X, y


def distance(result, params, costs) -> float:
    """The largest relative difference over every parameter and cost."""
    pairs = [(np.asarray(result.params[k], dtype=np.float64), np.asarray(params[k])) for k in NAMES]
    pairs.append((np.asarray(result.costs, dtype=np.float64), costs))
    return max(float(np.max(np.abs(a - b) / np.maximum(1.0, np.abs(b)))) for a, b in pairs)


@pytest.mark.parametrize("shape", SHAPES, ids=[f"{m}x{n}-h{h}" for m, n, h in SHAPES])
@pytest.mark.parametrize("name", RUNGS)
def test_every_rung_agrees_with_the_float64_reference(name, shape):
    m, n, h = shape
    X, y = data(m, n)
    epochs = 2 if m * n * h > 100_000 else 5
    want = reference(X, y, start(n, h), 0.5, epochs)
    got = IMPLEMENTATIONS[name].fit(X, y, hidden=h, lr=0.5, epochs=epochs)
    assert got.costs.shape == (epochs,) and got.params["W1"].shape == (h, n)
    assert isinstance(got.params["b2"], float)
    assert distance(got, *want) <= IMPLEMENTATIONS[name].tolerance("float64")


@pytest.mark.parametrize("name", RUNGS)
def test_float32_stays_near_the_reference(name):
    X, y = data(300, 6)
    want = reference(X.astype(np.float32).astype(np.float64), y, start(6, 8), 0.5, 5)
    got = IMPLEMENTATIONS[name].fit(X, y, hidden=8, lr=0.5, epochs=5, dtype="float32")
    assert got.params["W1"].dtype == np.float32 and got.costs.dtype == np.float32
    assert distance(got, *want) <= IMPLEMENTATIONS[name].tolerance("float32")


@pytest.mark.parametrize("name", RUNGS)
def test_one_step_is_the_gradient_of_the_cost_by_finite_differences(name):
    X, y = data(12, 3, seed=5)
    rng = np.random.default_rng(11)
    params = {
        "W1": rng.standard_normal((4, 3)),
        "b1": rng.standard_normal(4),
        "W2": rng.standard_normal(4),
        "b2": 0.3,
    }
    lr = 1e-3
    step = IMPLEMENTATIONS[name].fit(X, y, hidden=4, lr=lr, epochs=1, params0=params).params
    for key in NAMES:
        value = np.atleast_1d(np.asarray(params[key], dtype=np.float64))
        numeric = np.zeros(value.shape)
        for index in np.ndindex(value.shape):
            for sign in (1, -1):
                moved = copy.deepcopy(params)
                shifted = value.copy()
                shifted[index] += sign * 1e-6
                moved[key] = (
                    shifted.reshape(np.shape(params[key])) if np.ndim(params[key]) else float(shifted[0])
                )
                numeric[index] += sign * cost(X, y, moved) / 2e-6
        taken = (value - np.atleast_1d(np.asarray(step[key], dtype=np.float64))) / lr
        np.testing.assert_allclose(taken, numeric, rtol=1e-5, atol=1e-7, err_msg=f"{name}: gradient of {key}")


def petals(m: int = 400, seed: int = 1):
    """Two classes in the plane, four petals of a rose: the petals in opposite quadrants share a class
    (an XOR of the quadrants), which no straight line separates."""
    rng = np.random.default_rng(seed)
    t = rng.uniform(0, 2 * np.pi, m)
    r = 4 * np.abs(np.sin(2 * t)) + rng.normal(0, 0.2, m)
    X = np.column_stack([r * np.cos(t), r * np.sin(t)])
    y = ((np.cos(t) > 0) == (np.sin(t) > 0)).astype(np.float64)
    return X, y


def accuracy_net(result, X, y) -> float:
    p = result.params
    z2 = np.tanh(X @ p["W1"].T + p["b1"]) @ p["W2"] + p["b2"]
    return float(np.mean((z2 > 0) == (y == 1)))


def test_the_network_separates_the_petals_and_logistic_regression_cannot():
    X, y = petals()
    net = IMPLEMENTATIONS["numba_fused"].fit(X, y, hidden=4, lr=1.2, epochs=5_000)
    assert accuracy_net(net, X, y) >= 0.85
    line = LADDER["numpy_vectorized"].fit(X, y, lr=1.2, epochs=5_000)
    assert np.mean(((X @ line.w + line.b) > 0) == (y == 1)) < 0.7


@pytest.mark.parametrize("name", RUNGS)
def test_every_rung_reaches_the_references_cost_on_the_petals(name):
    X, y = petals()
    epochs = 300 if name == "python_loops" else 2_000
    want = reference(X, y, start(2, 4), 1.2, epochs)
    got = IMPLEMENTATIONS[name].fit(X, y, hidden=4, lr=1.2, epochs=epochs)
    assert got.costs[-1] == pytest.approx(want[1][-1], rel=1e-8)
    assert got.costs[-1] < got.costs[0]


#: (what changes from a good call, the error, what its message says): each change a function of the
#: good call's arguments, which it may not alter.
BAD = {
    "no-units": (lambda a: {"hidden": 0}, ValueError, "hidden must be between 1"),
    "half-a-unit": (lambda a: {"hidden": 1.5}, TypeError, "hidden must be an integer"),
    "bool-units": (lambda a: {"hidden": True}, TypeError, "hidden must be an integer"),
    "lr-zero": (lambda a: {"lr": 0.0}, ValueError, "lr must be > 0"),
    "epochs-negative": (lambda a: {"epochs": -1}, ValueError, "epochs must be >= 0"),
    "params-list": (lambda a: {"params0": [1, 2]}, TypeError, "params0 must be a dict"),
    "params-missing": (lambda a: {"params0": {"W1": a["params0"]["W1"]}}, ValueError, "missing W2, b1, b2"),
    "params-unknown": (lambda a: {"params0": {**a["params0"], "W3": 1}}, ValueError, "unknown W3"),
    "W1-transposed": (
        lambda a: {"params0": {**a["params0"], "W1": a["params0"]["W1"].T}},
        ValueError,
        r"params0\['W1'\] must have shape \(2, 3\)",
    ),
    "W2-as-column": (
        lambda a: {"params0": {**a["params0"], "W2": a["params0"]["W2"][:, None]}},
        ValueError,
        r"params0\['W2'\] must have shape \(2,\)",
    ),
    "b1-nan": (
        lambda a: {"params0": {**a["params0"], "b1": np.array([0.0, np.nan])}},
        ValueError,
        r"params0\['b1'\]",
    ),
    "int-dtype": (lambda a: {"dtype": "int32"}, ValueError, "dtype int32 is not supported"),
    "X-3d": (lambda a: {"X": a["X"][:, :, None]}, ValueError, "X must be 2-D"),
    "y-not-labels": (lambda a: {"y": a["y"] + 2}, ValueError, "y must contain only 0/1"),
}


@pytest.mark.parametrize("name", RUNGS)
@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_named_before_any_work_and_nothing_is_changed(name, case):
    change, error, message = BAD[case]
    X, y = data(4, 3)
    args = {"X": X, "y": y, "hidden": 2, "lr": 0.1, "epochs": 2, "params0": start(3, 2)}
    before = copy.deepcopy(args)
    call = {**args, **change(args)}
    with pytest.raises(error, match=message):
        IMPLEMENTATIONS[name].fit(call.pop("X"), call.pop("y"), **call)
    for key in ("X", "y"):
        np.testing.assert_array_equal(args[key], before[key])
    for key in NAMES:
        np.testing.assert_array_equal(args["params0"][key], before["params0"][key])


@pytest.mark.parametrize("name", RUNGS)
def test_the_start_and_the_inputs_are_never_changed(name):
    X, y = data(30, 4)
    params0 = start(4, 3)
    kept = copy.deepcopy(params0), X.copy(), y.copy()
    IMPLEMENTATIONS[name].fit(X, y, hidden=3, lr=0.5, epochs=3, params0=params0)
    for key in NAMES:
        np.testing.assert_array_equal(params0[key], kept[0][key])
    np.testing.assert_array_equal(X, kept[1])
    np.testing.assert_array_equal(y, kept[2])


def test_zero_epochs_return_the_start_and_no_costs():
    X, y = data(5, 2)
    for rung in IMPLEMENTATIONS.values():
        result = rung.fit(X, y, hidden=3, lr=0.1, epochs=0)
        assert result.costs.shape == (0,)
        np.testing.assert_array_equal(result.params["W1"], start(2, 3)["W1"])
