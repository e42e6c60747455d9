"""The shallow network's contract: its arguments checked, its seeded start, its result.

A tanh hidden layer of ``hidden`` units and one sigmoid output, as week 3 of the course builds it,
with X holding one example per row: Z1 = X W1ᵀ + b1, A1 = tanh(Z1), z2 = A1 W2 + b2, the cost the
mean cross-entropy of sigmoid(z2) computed from the logit z2 (``impls._scalar.logistic_terms``),
and batch gradient descent on all four parameters.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from impls._common import ARRAY_DTYPES, Tolerance, _as_numeric_array, _check_finite, validate

#: The seed of the default start: append new seeds, never change this one.
SEED = 20261207
#: The default start's spread: small weights keep tanh in its linear part at first.
START_SCALE = 0.01
#: The widest layer a fit accepts: beyond it the gradient's partial sums alone take gigabytes.
MAX_HIDDEN = 1 << 16
NAMES = ("W1", "b1", "W2", "b2")


@dataclass(frozen=True)
class Net:
    """A validated fit: the data and a private copy of the start, in the working dtype."""

    X: np.ndarray
    y: np.ndarray
    params: dict  # W1 (h, n), b1 (h,), W2 (h,) arrays and b2 a float: copies, the rung's to change
    lr: float
    epochs: int
    dtype: np.dtype

    @property
    def hidden(self) -> int:
        return self.params["W1"].shape[0]

    def own(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, np.ndarray]:
        """A descent's own W1, b1, W2 (copies: the validated net stays as it was, so it can be
        fitted again, as the benchmarks do), b2 and an empty array for the costs."""
        p = self.params
        costs = np.empty(self.epochs, dtype=self.dtype)
        return p["W1"].copy(), p["b1"].copy(), p["W2"].copy(), p["b2"], costs


def relative_error(result: ShallowResult, want: ShallowResult) -> float:
    """Normwise distance of ``result`` from ``want`` over the four parameters and the costs, each
    scaled by max(1, its largest expected value): what a rung's tolerance bounds, as the ladder's
    (``impls._common.relative_error``)."""
    pairs = [(result.params[name], want.params[name]) for name in NAMES] + [(result.costs, want.costs)]
    worst = 0.0
    for got, expected in pairs:
        got, expected = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
        worst = max(worst, float(np.max(np.abs(got - expected))) / max(1.0, float(np.max(np.abs(expected)))))
    return worst


@dataclass(frozen=True)
class ShallowResult:
    params: dict  # W1 (h, n), b1 (h,), W2 (h,), b2 (float)
    costs: np.ndarray  # costs[k]: the cost before update k


def start(n: int, hidden: int, dtype: Any = np.float64) -> dict:
    """The documented default start: W1 and W2 drawn from N(0, 0.01²), seeded by ``SEED``, n and
    ``hidden``; b1 and b2 zero. The same for every rung, so their answers compare."""
    rng = np.random.default_rng([SEED, n, hidden])
    return {
        "W1": (rng.standard_normal((hidden, n)) * START_SCALE).astype(dtype),
        "b1": np.zeros(hidden, dtype=dtype),
        "W2": (rng.standard_normal(hidden) * START_SCALE).astype(dtype),
        "b2": 0.0,
    }


def _hidden(value: Any) -> int:
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral):
        raise TypeError(f"hidden must be an integer (units of the hidden layer), got {type(value).__name__}")
    if not 1 <= int(value) <= MAX_HIDDEN:
        raise ValueError(f"hidden must be between 1 and {MAX_HIDDEN:,}, got {int(value)}")
    return int(value)


def _params(params0: Any, n: int, hidden: int, dtype: np.dtype) -> dict:
    if params0 is None:
        return start(n, hidden, dtype)
    if not isinstance(params0, Mapping):
        raise TypeError(f"params0 must be a dict with {', '.join(NAMES)}, got {type(params0).__name__}")
    if set(params0) != set(NAMES):
        missing, extra = set(NAMES) - set(params0), set(params0) - set(NAMES)
        said = "; ".join(
            part
            for part in (
                f"missing {', '.join(sorted(missing))}" if missing else "",
                f"unknown {', '.join(sorted(map(str, extra)))}" if extra else "",
            )
            if part
        )
        raise ValueError(f"params0 must have exactly the keys {', '.join(NAMES)}: {said}")
    shapes = {"W1": (hidden, n), "b1": (hidden,), "W2": (hidden,), "b2": ()}
    out = {}
    for name, shape in shapes.items():
        value = _as_numeric_array(params0[name], f"params0['{name}']")
        if value.shape != shape:
            raise ValueError(
                f"params0['{name}'] must have shape {shape} (hidden={hidden}, n={n}), got {value.shape}"
            )
        _check_finite(value, f"params0['{name}']", dtype)
        out[name] = value.astype(dtype, copy=True) if shape else float(value)
    return out


def validate_net(
    X: Any,
    y: Any,
    *,
    hidden: Any,
    lr: Any,
    epochs: Any,
    params0: Any = None,
    dtype: Any = None,
    supported: tuple[np.dtype, ...] = ARRAY_DTYPES,
    rung: str = "this rung",
) -> Net:
    """Every argument of ``fit`` checked before any work, the ladder's rules for X, y, lr, epochs and
    dtype included: TypeError for the wrong kind, ValueError for a value out of range, each naming
    the argument. ``params0`` is copied, never kept."""
    hidden = _hidden(hidden)
    problem = validate(X, y, lr=lr, epochs=epochs, dtype=dtype, supported=supported, rung=rung)
    params = _params(params0, problem.X.shape[1], hidden, problem.dtype)
    return Net(problem.X, problem.y, params, problem.lr, problem.epochs, problem.dtype)


@dataclass(frozen=True)
class ShallowRung:
    """One implementation of the shallow network's descent: ``descend(net)`` returns the final
    parameters and the costs; ``fit`` checks the arguments first and the answer after."""

    name: str
    summary: str
    descend: Callable[[Net], tuple[dict, Any]]
    tolerance: Tolerance
    dtypes: tuple[np.dtype, ...] = ARRAY_DTYPES

    def supports(self, dtype: Any) -> bool:
        return np.dtype(dtype) in self.dtypes

    def validate(self, X: Any, y: Any, **kwargs: Any) -> Net:
        return validate_net(X, y, supported=self.dtypes, rung=self.name, **kwargs)

    def fit(
        self, X: Any, y: Any, *, hidden: Any, lr: Any, epochs: Any, params0: Any = None, dtype: Any = None
    ):
        """Train by batch gradient descent from ``params0`` (None: :func:`start`)."""
        net = self.validate(X, y, hidden=hidden, lr=lr, epochs=epochs, params0=params0, dtype=dtype)
        return self.run(net)

    def run(self, net: Net) -> ShallowResult:
        with np.errstate(all="ignore"):
            params, costs = self.descend(net)
        costs = np.asarray(costs, dtype=net.dtype).reshape(net.epochs)
        params = {
            name: float(params[name]) if name == "b2" else np.asarray(params[name], dtype=net.dtype)
            for name in NAMES
        }
        finite = np.isfinite(costs).all() and all(np.isfinite(params[name]).all() for name in NAMES)
        if not finite:
            raise FloatingPointError(
                f"the descent diverged: the cost or the parameters stopped being finite (lr = {net.lr:g}); "
                "use a smaller lr, or scale X"
            )
        return ShallowResult(params=params, costs=costs)
