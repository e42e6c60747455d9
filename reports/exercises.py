# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       format_name: percent
# ---

# %% [markdown]
# # Exercises: vectorize the descent yourself
#
# Two exercises on the lesson's algorithm (logistic regression by batch gradient descent):
#
# * **(a)** turn the loop version below into whole-array NumPy (no loop over examples or features);
# * **(b)** write the compiled version: one pass over the rows of X per epoch, with Numba.
#
# After each, run the check cell. `check(fit)` compares your answers with the ladder's reference
# and says what is wrong in the course's terms (J, dw or db, at which size, by how much, a hint).
# Conventions: X has one example per **row** (m rows, n features: the course's X is this X.T),
# w starts at zeros and b at 0, and `costs[k]` is the cost *before* epoch k's update.
# Solutions: `reports/solutions/` (try first). To time yours beside the ladder and see it on the
# ladder's chart, run `python -m bench.yours my_fit.py` on a file with your `fit`.

# %%
import math

import numpy as np

from bench.yours import check

# %% [markdown]
# ## The loop version (given)
#
# Every multiply-add goes through the Python interpreter: read two numbers, look up `*` and `+`,
# make a new float. That costs tens of nanoseconds each, and an epoch does 2 m n of them.


# %%
def fit_loops(X, y, lr, epochs):
    m, n = X.shape
    w, b, costs = [0.0] * n, 0.0, []
    for _ in range(epochs):
        cost, dw, db = 0.0, [0.0] * n, 0.0
        for i in range(m):
            z = b
            for j in range(n):
                z += X[i, j] * w[j]
            a = 1 / (1 + math.exp(-z))
            cost -= y[i] * math.log(a) + (1 - y[i]) * math.log(1 - a)
            for j in range(n):
                dw[j] += X[i, j] * (a - y[i])
            db += a - y[i]
        costs.append(cost / m)
        w = [w[j] - lr * dw[j] / m for j in range(n)]
        b -= lr * db / m
    return np.array(w), b, np.array(costs)


print(check(fit_loops))

# %% [markdown]
# ## (a) Vectorize it
#
# Compute all m predictions at once (`X @ w + b`, then the sigmoid of the whole vector), the cost
# as one mean, and dw and db as one matrix-vector product and one mean. Keep the loop over epochs:
# each epoch needs the previous one's w.


# %%
def fit(X, y, lr, epochs):
    m, n = X.shape  # noqa: RUF059 (m is yours to use)
    w, b, costs = np.zeros(n), 0.0, []
    for _ in range(epochs):
        # YOUR CODE: a, the cost, dw and db, without a loop over examples or features
        raise NotImplementedError("exercise (a): compute a, the cost, dw and db with NumPy")
    return w, b, np.array(costs)


print(check(fit))

# %% [markdown]
# ## (b) One compiled pass over X
#
# NumPy reads X twice per epoch (`X @ w`, then `X.T @ error`). A compiled loop can do both in one
# pass: for each row, its logit, its error, its share of the cost, and its share of dw, while the
# row is still in the cache. Write `epoch_pass` so that it returns (cost, dw, db) of one epoch, then
# put `@numba.njit` on it (`import numba`) and check again: the answers must not change.


# %%
def epoch_pass(X, y, w, b):
    # YOUR CODE: one loop over the rows of X, returning (cost, dw, db) of this epoch
    raise NotImplementedError("exercise (b): one pass over the rows of X, returning (cost, dw, db)")


def fit_one_pass(X, y, lr, epochs):
    w, b, costs = np.zeros(X.shape[1]), 0.0, []
    for _ in range(epochs):
        cost, dw, db = epoch_pass(X, y, w, b)
        costs.append(cost)
        w = w - lr * dw
        b = b - lr * db
    return w, b, np.array(costs)


print(check(fit_one_pass))
