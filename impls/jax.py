"""JAX: the whole descent inside one ``jax.jit``, epochs in ``lax.scan``, on the CPU.

What a JAX user would write: no Python loop at run time, the epoch traced once and compiled by
XLA, which may fuse the elementwise steps into the matrix-vector products' loops. float64 needs
``jax_enable_x64``, which this rung turns on when it first imports JAX (on first use, not with the
ladder: importing JAX takes seconds that a user of another rung should not pay). The number of epochs fixes
the shape of the costs array, so each distinct ``epochs`` compiles once per process (timed apart
by the compile benchmark, like Numba's). A long fit runs in batches of epochs (at most two
lengths, so two compilations) so that Ctrl-C, which Python sees only between calls, stops it
within about a second; a batch reads ``BATCH_SCALE`` times what a Numba rung's does, as a shorter
scan costs XLA more per epoch. XLA's CPU thread pool is sized when JAX starts, and its
``XLA_FLAGS`` thread settings do not bound it; the benchmarks' one-thread points of this rung run
in a process pinned to one CPU (``bench/suite/pinned.py``).
Registered only where ``jax`` is installed (``pip install -e '.[peers]'``).
"""

from __future__ import annotations

from functools import cache
from importlib import import_module

import numpy as np

from impls import _jit
from impls._common import REORDERED_SUMS, Problem, Rung

#: A batch of this rung reads this many times ``_jit.BATCH_VALUES`` numbers of X: about half a
#: second of XLA's epochs at 1e6 x 100 (2 cores), where a scan of one epoch cost 4% more per epoch
#: than one of three (bench/FINDINGS.md).
BATCH_SCALE = 4


@cache
def _jax():
    """JAX and jax.numpy, imported on first use, with float64 enabled."""
    jax = import_module("jax")
    jax.config.update("jax_enable_x64", True)
    return jax, import_module("jax.numpy")


def descend_scan(X, y, w, b, lr, epochs: int):
    jax, jnp = _jax()
    m = X.shape[0]

    def epoch(carry, _):
        w, b = carry
        z = X @ w + b
        cost = jnp.mean(jax.nn.softplus(z) - y * z)  # the loss from the logit: stable
        error = jax.nn.sigmoid(z) - y
        w = w - (lr / m) * (error @ X)  # not X.T @ error: XLA would copy X transposed (FINDINGS)
        b = b - lr * jnp.mean(error)
        return (w, b), cost

    (w, b), costs = jax.lax.scan(epoch, (w, b), None, length=epochs)
    return w, b, costs


def build() -> Rung:
    """A rung around its own ``jax.jit``: a new one traces and compiles afresh (the compile benchmark)."""
    compiled = []  # its own jax.jit, made on first use

    def prepare(problem: Problem):
        _, jnp = _jax()
        b0 = problem.dtype.type(problem.b0)
        return jnp.asarray(problem.X), jnp.asarray(problem.y), jnp.asarray(problem.w0), b0

    def scan(X, y, w, b, lr, epochs: int):
        # A function of this rung's own: JAX caches traces and compilations by function, so a
        # rebuilt rung (the compile benchmark) traces and compiles afresh, never reusing another's.
        return descend_scan(X, y, w, b, lr, epochs)

    def descend(state, lr: float, epochs: int):
        if not compiled:
            compiled.append(_jax()[0].jit(scan, static_argnames="epochs"))
        X, y, w, b = state
        lr = X.dtype.type(lr)
        costs = []
        for start, stop in _jit.epoch_batches(epochs, X.size // BATCH_SCALE):
            w, b, batch = compiled[0](X, y, w, b, lr, epochs=stop - start)
            costs.append(np.asarray(batch))  # np.asarray waits for the batch: Ctrl-C is seen here
        return np.asarray(w), float(b), np.concatenate(costs)

    return Rung(
        name="jax",
        summary="JAX: the whole descent in one jax.jit, epochs in lax.scan, compiled by XLA for the CPU.",
        descend=descend,
        prepare=prepare,
        tolerance=REORDERED_SUMS,
        uses_threads="xla",
        rebuild=build,
        core=(descend_scan,),
    )


RUNG = build()
