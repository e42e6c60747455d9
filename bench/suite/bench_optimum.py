"""Fewer epochs or faster epochs: wall time to a trained model, batch descent against L-BFGS.

A faster epoch is one way to a trained model; needing fewer steps is another. Both ways start
from the random w every timed descent starts from (``bench.suite.data.start_weights``), and stop at
the first cost within a relative ``TOLERANCE`` of the optimum's: ``cost - optimum <= TOLERANCE *
optimum``.

* ``descent``: the planned rung's batch gradient descent at the benchmarks' learning rate, run
  for the epochs it needs (found by an untimed run first): epoch k computes the cost at the
  weights of k - 1 updates, so a run of E epochs evaluates the cost and gradient E times;
* ``lbfgs``: SciPy's L-BFGS-B on the same cost and gradient (computed the vectorized NumPy way),
  for the iterations it needs; it evaluates the cost and gradient ``nfev`` times.

Each evaluation reads X twice (the logits, then the gradient), in either way. The optimum is
L-BFGS-B run to a gradient norm of 1e-10 (untimed). ``test_cost_against_time`` records, at one
size of the m sweep, the descent's cost at every epoch and L-BFGS's cost at the time of every
iteration: the lesson draws each rung's descent at its own measured time per epoch beside it.
"""

from __future__ import annotations

import time
from functools import cache

import numpy as np
import pytest
from scipy.optimize import minimize

from bench.results.schema import record
from bench.suite.config import LR, PROFILE
from bench.suite.data import get_data, start_weights
from bench.suite.harness import limited_threads
from impls import IMPLEMENTATIONS, PLANNED, REFERENCE

TOLERANCE = 1e-5  # reached when cost - optimum <= TOLERANCE * optimum (the optimum is > 0 here)
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


def lbfgs(X, y, maxiter: int, gtol: float = 0.0, clock=None) -> tuple[np.ndarray, list, list, int]:
    """L-BFGS-B from the benchmarks' start: (theta, cost after each iteration, seconds from the start
    to each iteration's end where ``clock`` is given, evaluations of the cost and gradient)."""
    costs: list[float] = []
    times: list[float] = []
    begin = clock() if clock else 0.0

    def after(intermediate_result):
        costs.append(float(intermediate_result.fun))
        if clock:
            times.append(clock() - begin)

    start = np.append(start_weights(X.shape[1]), 0.0)
    result = minimize(
        cost_and_gradient,
        start,
        args=(X, y),
        jac=True,
        method="L-BFGS-B",
        callback=after,
        options={"maxiter": maxiter, "gtol": gtol, "ftol": 0.0, "maxcor": 10},
    )
    return result.x, costs, times, int(result.nfev)


@cache
def optimum(m: int, n: int) -> float:
    X, y = get_data(m, n)
    theta, *_ = lbfgs(X, y, maxiter=1000, gtol=1e-10)
    return cost_and_gradient(theta, X, y)[0]


def target(m: int, n: int) -> float:
    return optimum(m, n) * (1 + TOLERANCE)


def descent_costs(rung_name: str, m: int, n: int, goal: float | None, most: int = MAX_EPOCHS) -> np.ndarray:
    """The cost at every epoch from the benchmarks' start, up to the first within ``goal`` (or ``most``)."""
    X, y = get_data(m, n)
    rung, costs, w, b = IMPLEMENTATIONS[rung_name], [], start_weights(n), 0.0
    while len(costs) < most:  # in chunks, continuing from where the last one stopped
        result = rung.fit(X, y, lr=LR, epochs=min(64, most - len(costs)), w0=w, b0=b)
        for cost in result.costs:
            costs.append(float(cost))
            if goal is not None and cost <= goal:
                return np.array(costs)
        w, b = result.w, result.b
    return np.array(costs)


def steps_needed(method: str, m: int, n: int) -> int | None:
    """Epochs (descent) or iterations (L-BFGS) until the cost is within the tolerance: found untimed."""
    goal = target(m, n)
    if method == "lbfgs":
        X, y = get_data(m, n)
        _, costs, _, _ = lbfgs(X, y, maxiter=1000)
        reached = [k for k, cost in enumerate(costs) if cost <= goal]
        return reached[0] + 1 if reached else None  # costs[k] is after iteration k + 1
    costs = descent_costs(PLANNED, m, n, goal)
    return len(costs) if costs[-1] <= goal else None


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
            problem = rung.validate(X, y, lr=LR, epochs=steps, w0=start_weights(n))
            state = rung.prepare(problem)
            rung.run(state, problem)  # warm-up: the planned rung measures its candidates here
            result = benchmark.pedantic(rung.run, args=(state, problem), rounds=3)
            final, evaluations = float(result.costs[-1]), steps
        else:
            theta, _, _, evaluations = benchmark.pedantic(lbfgs, args=(X, y, steps), rounds=3)
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
            evaluations=evaluations,
            optimum=optimum(m, n),
            final_cost=final,
            tolerance=TOLERANCE,
            relative=True,
        )
    )


def test_cost_against_time(benchmark):
    """The descent's cost at every epoch (the reference rung's: every rung computes the same costs),
    and L-BFGS's cost when each of its iterations ended (timed, best of the rounds)."""
    m, n = PROFILE.curve_size
    X, y = get_data(m, n)
    goal = target(m, n)
    costs = descent_costs(REFERENCE, m, n, goal)
    iterations = steps_needed("lbfgs", m, n) or 1000
    rounds = []
    benchmark.group = f"cost against time m={m} n={n}"
    with limited_threads(REFERENCE, "all") as threads:

        def timed():
            rounds.append(lbfgs(X, y, maxiter=iterations, clock=time.perf_counter))
            return rounds[-1]

        benchmark.pedantic(timed, rounds=3, iterations=1)
    _, lbfgs_costs, lbfgs_times, _ = min(rounds, key=lambda r: r[2][-1])
    benchmark.extra_info.update(
        record(
            "curve",
            rung=REFERENCE,
            m=m,
            n=n,
            dtype="float64",
            epochs=len(costs),
            threads=threads,
            threads_setting="all",
            bytes_x=m * n * 8,
            descent_costs=costs.tolist(),
            lbfgs_costs=lbfgs_costs,
            lbfgs_times_s=lbfgs_times,
            optimum=optimum(m, n),
            tolerance=TOLERANCE,
        )
    )
