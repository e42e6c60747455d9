"""Generated benchmark data, made once per (m, n, dtype, seed) and cached."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from bench.suite.config import LR, SEED
from impls import IMPLEMENTATIONS, REFERENCE, FitResult, Problem, Rung


@lru_cache(maxsize=3)
def _float64_problem(m: int, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng([seed, m, n])
    X = rng.standard_normal((m, n))
    true_w = rng.standard_normal(n) / np.sqrt(n)
    # Labels from a logistic model: noisy, so not separable, like real data.
    y = (rng.random(m) < 1.0 / (1.0 + np.exp(-(X @ true_w)))).astype(np.float64)
    X.flags.writeable = False  # shared by every benchmark: nobody may change it
    y.flags.writeable = False
    return X, y


@lru_cache(maxsize=2)
def _cast(m: int, n: int, dtype: np.dtype, seed: int) -> tuple[np.ndarray, np.ndarray]:
    X, y = _float64_problem(m, n, seed)
    X32, y32 = X.astype(dtype), y.astype(dtype)
    X32.flags.writeable = y32.flags.writeable = False
    return X32, y32


def get_data(m: int, n: int, dtype=np.float64, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """Features X (m, n) and 0/1 labels y (m,), in ``dtype``, read-only and cached."""
    dtype = np.dtype(dtype)
    if dtype == np.float64:
        return _float64_problem(m, n, seed)
    return _cast(m, n, dtype, seed)


@lru_cache(maxsize=8)
def start_weights(n: int, seed: int = SEED) -> np.ndarray:
    """The w every timed descent starts from: fixed, random, N(0, 1/n), read-only.

    From w = 0 every logit is 0 and every exp the same, which is not what an epoch of training
    sees: the logits of a w drawn this way spread like N(0, 1), as they do once the descent is
    under way (``bench/FINDINGS.md``, "An epoch from w = 0 is not a typical epoch").
    numba_tuned's own measuring starts from such a w, so the plans are made for what is timed.
    """
    w = np.random.default_rng([seed, n, 1]).standard_normal(n) / np.sqrt(n)
    w.flags.writeable = False
    return w


def timed_problem(rung: Rung, m: int, n: int, dtype="float64", epochs: int = 1, seed: int = SEED) -> Problem:
    """The rung's problem on the benchmark data, from :func:`start_weights`: what a benchmark times."""
    X, y = get_data(m, n, dtype, seed)
    return rung.validate(X, y, lr=LR, epochs=epochs, w0=start_weights(n, seed), dtype=dtype)


@lru_cache(maxsize=4)
def reference_answer(m: int, n: int, epochs: int, seed: int = SEED) -> FitResult:
    """The float64 ``numpy_vectorized`` rung's answer: what every timed call must agree with."""
    rung = IMPLEMENTATIONS[REFERENCE]
    problem = timed_problem(rung, m, n, "float64", epochs, seed)
    return rung.run(rung.prepare(problem), problem)
