"""Fewer epochs or faster epochs: wall time to a trained model, batch descent against L-BFGS.

A faster epoch is one way to a trained model; needing fewer steps is another. At each axis size,
two ways to reach the optimum's cost within ``TOLERANCE``:

* ``descent``: the planned rung's batch gradient descent at the benchmarks' learning rate, run for
  the number of epochs it needs (found by an untimed run first, so the timed run does no extra
  epoch), from zero; its input checks and preparation are untimed, as in every descent benchmark;
* ``lbfgs``: SciPy's L-BFGS-B on the same cost and gradient (computed the vectorized NumPy way,
  cost and gradient from one ``X @ w`` and one ``X.T @ error``), for the iterations it needs.

The optimum is L-BFGS-B run to a gradient norm of 1e-10 (untimed). scikit-learn's
``LogisticRegression(penalty=None)`` minimises the same cost with the same L-BFGS; it is not a
dependency here, so SciPy's stands for it.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
from scipy.optimize import minimize

from bench.config import LR, PROFILE
from bench.data import get_data
from bench.harness import limited_threads
from bench.schema import record
from impls import IMPLEMENTATIONS, PLANNED

TOLERANCE = 1e-5  # reached when cost - optimum <= TOLERANCE * max(1, optimum)
MAX_EPOCHS = 20_000
METHODS = ("descent", "lbfgs")


def cost_and_gradient(theta: np.ndarray, X: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy and its gradient in (w, b), from the logit (stable)."""
    w, b = theta[:-1], theta[-1]
    z = X @ w + b
    cost = float(np.mean(np.logaddexp(0.0, z) - y * z))
    error = 0.5 * (1.0 + np.tanh(0.5 * z)) - y  # sigmoid(z) - y without overflow
    grad = np.empty_like(theta)
    grad[:-1] = X.T @ error / len(y)
    grad[-1] = error.mean()
    return cost, grad


def lbfgs(X, y, maxiter: int, gtol: float = 0.0) -> tuple[np.ndarray, list[float]]:
    costs: list[float] = []
    start = np.zeros(X.shape[1] + 1)
    result = minimize(
        cost_and_gradient,
        start,
        args=(X, y),
        jac=True,
        method="L-BFGS-B",
        callback=lambda intermediate_result: costs.append(float(intermediate_result.fun)),
        options={"maxiter": maxiter, "gtol": gtol, "ftol": 0.0, "maxcor": 10},
    )
    return result.x, costs


@cache
def optimum(m: int, n: int) -> float:
    X, y = get_data(m, n)
    theta, _ = lbfgs(X, y, maxiter=1000, gtol=1e-10)
    return cost_and_gradient(theta, X, y)[0]


def target(m: int, n: int) -> float:
    best = optimum(m, n)
    return best + TOLERANCE * max(1.0, abs(best))


def steps_needed(method: str, m: int, n: int) -> int | None:
    """Epochs (or iterations) after which the cost is within the tolerance: found untimed."""
    X, y = get_data(m, n)
    goal = target(m, n)
    if method == "lbfgs":
        _, costs = lbfgs(X, y, maxiter=1000)
        reached = [k for k, cost in enumerate(costs) if cost <= goal]
        return reached[0] + 1 if reached else None  # costs[k] is after iteration k + 1
    rung, done, w, b = IMPLEMENTATIONS[PLANNED], 0, None, 0.0
    while done < MAX_EPOCHS:  # in chunks, continuing from where the last one stopped
        result = rung.fit(X, y, lr=LR, epochs=64, w0=w, b0=b)
        reached = [k for k, cost in enumerate(result.costs) if cost <= goal]
        if reached:
            return done + reached[0]  # costs[k] is before update k: k updates were needed
        done, w, b = done + 64, result.w, result.b
    return None


POINTS = [(m, n, method) for m, n in PROFILE.axis_sizes for method in METHODS]


@pytest.mark.parametrize(
    ("m", "n", "method"), POINTS, ids=[f"optimum-{p[2]}-m{p[0]}-n{p[1]}" for p in POINTS]
)
def test_time_to_optimum(benchmark, m, n, method):
    X, y = get_data(m, n)
    steps = steps_needed(method, m, n)
    if steps is None:
        pytest.skip(f"{method} did not reach the optimum within {MAX_EPOCHS:,} epochs at m={m}, n={n}")
    rung = IMPLEMENTATIONS[PLANNED]
    benchmark.group = f"time to optimum m={m} n={n}"
    with limited_threads(PLANNED, "all") as threads:
        if method == "descent":  # validated and prepared untimed, like every descent benchmark
            problem = rung.validate(X, y, lr=LR, epochs=steps + 1)
            state = rung.prepare(problem)
            rung.run(state, problem)  # warm-up: the planned rung measures its candidates here
            result = benchmark.pedantic(rung.run, args=(state, problem), rounds=3)
            final = float(result.costs[-1])
        else:
            theta, _ = benchmark.pedantic(lbfgs, args=(X, y, steps), rounds=3)
            final = cost_and_gradient(theta, X, y)[0]
    assert final <= target(m, n), (method, final, target(m, n))
    benchmark.extra_info.update(
        record(
            "optimum",
            rung=PLANNED if method == "descent" else "scipy L-BFGS-B",
            m=m,
            n=n,
            dtype="float64",
            epochs=1,
            threads=threads,
            threads_setting="all",
            bytes_x=m * n * 8,
            method=method,
            steps=steps,
            optimum=optimum(m, n),
            final_cost=final,
            tolerance=TOLERANCE,
        )
    )
