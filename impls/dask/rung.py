"""The dask rung itself: the epochs (the workers compute the sums, the client takes the step),
its tolerance, and ``fit_zarr``, the same descent with X in a Zarr store.
"""

from __future__ import annotations

import numpy as np

from impls import numba_fused
from impls._common import FitResult, Rung, Tolerance, validate
from impls.dask import cluster
from impls.dask.blocks import State, prepare
from impls.dask.cluster import _address
from impls.dask.connect import ADDRESS_SETTING
from impls.dask.reduce import ClusterLost, epoch_sums
from impls.dask.store import open_store, prepare_store

TOLERANCE = Tolerance(
    float64=numba_fused.TOLERANCE.float64,
    float32=numba_fused.TOLERANCE.float32,
    why="numba_fused's kernel on each block (fastmath reassociates its dot products), and the "
    "blocks' sums added as a tree: a different order of the same float64 sums",
)


def descend(state: State, lr: float, epochs: int):
    """The epochs: the workers compute the sums, the client takes the step.

    A cluster that goes away mid-fit is one ``ConnectionError`` (``ClusterLost``) naming the
    scheduler and the epoch; the fit returns nothing. A worker lost while others remain is not:
    Dask recomputes its blocks elsewhere and the fit goes on.
    """
    m, n = state.X.shape
    w, b = state.w0.copy(), float(state.b0)
    costs = np.empty(epochs, dtype=np.float64)
    address = _address(state.client)  # now: a client that lost its scheduler forgets the address
    for k in range(epochs):
        try:
            sums = epoch_sums(state, w, b)
        except ClusterLost as lost:
            cluster.lost(state.client)
            raise ClusterLost(
                f"dask: the cluster at {address} went away during epoch {k + 1} of {epochs} ({lost}); "
                f"the fit stopped and returned nothing. Start the scheduler and its workers again "
                f"(or unset {ADDRESS_SETTING}) and fit again"
            ) from None
        costs[k] = sums[n + 1] / m
        w -= lr * (sums[:n] / m)  # in float64, stored in w's dtype, as numba_fused does
        b -= lr * (sums[n] / m)
    return w, b, costs


def fit_zarr(store, y, *, lr, epochs, w0=None, b0=0.0, dtype=None, fill_missing_chunks=False) -> FitResult:
    """The descent with X in a Zarr array on disk (``store``: its path), read block by block every epoch.

    The same answer as ``RUNG.fit`` on the same X in memory. y, w0 and the scalars are checked as
    ``fit`` checks them; the store (``open_store``), X's shape and dtype before any work, and its
    chunks and values by the workers, in one read of the store, before the first epoch. A chunk
    file that is not there is an error, unless ``fill_missing_chunks`` (``store_files``).
    """
    path, X_meta = open_store(store)
    if X_meta.ndim != 2 or 0 in X_meta.shape:
        raise ValueError(f"X (the Zarr array at {path}) must be 2-D and non-empty, got shape {X_meta.shape}")
    if np.dtype(X_meta.dtype).kind not in "biuf":
        raise TypeError(f"X (the Zarr array at {path}) must hold real numbers, got dtype {X_meta.dtype}")
    # Every other argument exactly as fit() checks it, against a stand-in of X's shape (no data).
    stand_in = np.broadcast_to(np.zeros(1), X_meta.shape)
    problem = validate(stand_in, y, lr=lr, epochs=epochs, w0=w0, b0=b0, dtype=dtype, rung="dask")
    state = prepare_store(
        path,
        problem.y,
        problem.w0,
        problem.b0,
        problem.dtype,
        X_meta,
        fill_missing_chunks=fill_missing_chunks,
    )
    return RUNG.run(state, problem)


RUNG = Rung(
    name="dask",
    summary="Dask: X in row blocks held by the workers, numba_fused's kernel per block, "
    "the blocks' sums added as a tree, the step taken on the client.",
    descend=descend,
    prepare=prepare,
    tolerance=TOLERANCE,
    uses_threads="dask",
    core=(epoch_sums, descend),
)
