"""One epoch on the cluster: a task per block, then the blocks' partial sums added as a tree.

The partial sums are added SPLIT_EVERY at a time on the workers, the client adding the last few
(the shape of dask-glm's gradient descent and of Spark's ``treeAggregate``). While the tasks run,
the client watches that the cluster is still there: a scheduler or every worker gone is
``ClusterLost``, never a wait for ever.
"""

from __future__ import annotations

import time
from concurrent.futures import CancelledError
from importlib import import_module

import numpy as np

from impls.dask.blocks import State, block_terms
from impls.dask.cluster import workers_timeout
from impls.dask.store import StoreBlock, store_block_terms

SPLIT_EVERY = 8  # partial sums added per task of the reduction tree


def reduction_levels(blocks: int) -> list[int]:
    """Tasks at each level of the reduction tree on the workers (its depth: the length).

    The tree's root is the client, which adds the last SPLIT_EVERY or fewer partial sums as
    they arrive: a level of tasks fewer, and one round trip fewer, per epoch.
    """
    levels = []
    while blocks > SPLIT_EVERY:
        blocks = -(-blocks // SPLIT_EVERY)
        levels.append(blocks)
    return levels


def tasks_per_epoch(blocks: int) -> int:
    """Tasks one epoch runs: one per block, then the reduction tree's."""
    return blocks + sum(reduction_levels(blocks))


def add_parts(*parts: np.ndarray) -> np.ndarray:
    """One task of the reduction tree: the sum of a few blocks' partial sums."""
    total = parts[0].copy()
    for part in parts[1:]:
        total += part
    return total


def epoch_sums(state: State, w: np.ndarray, b: float, terms=None) -> np.ndarray:
    """One epoch's [gradient sum, error sum, loss sum]: a task per block, then a tree of sums.

    Each block's task runs where its block is; the partial sums are added SPLIT_EVERY at a
    time, on the workers, until SPLIT_EVERY or fewer are left, which the client adds.
    """
    active = state.client
    terms = terms or (store_block_terms if isinstance(state.X_blocks[0], StoreBlock) else block_terms)
    parts = active.map(terms, state.X_blocks, state.y_blocks, w=w, b=b, pure=False)
    while len(parts) > SPLIT_EVERY:
        parts = [
            active.submit(add_parts, *parts[i : i + SPLIT_EVERY], pure=False)
            for i in range(0, len(parts), SPLIT_EVERY)
        ]
    try:
        return add_parts(*_gather(active, parts)).reshape(-1)  # the root of the tree: here
    except import_module("distributed").KilledWorker as exc:
        raise RuntimeError(
            f"dask: a task kept killing the workers that ran it ({exc}); the fit stopped"
        ) from None


class ClusterLost(ConnectionError):
    """The scheduler, or every worker, went away during a fit (``descend`` names the epoch)."""


WATCH_S = 1.0  # while an epoch's tasks run, how often the fit looks whether the cluster still has workers


def _gather(active, parts: list) -> list:
    """The results of ``parts``; ``ClusterLost`` where the connection to the scheduler closes, or no
    worker is left for ``workers_timeout()``. Each result is awaited at most ``WATCH_S`` at a time
    (a gather from a worker that died retries its connection for half a minute, and tasks on a
    cluster with no worker wait for ever), and between waits the scheduler is asked for workers."""
    closed = import_module("distributed.comm.core").CommClosedError
    results, alone_since = [], None
    while len(results) < len(parts):
        try:
            results.append(parts[len(results)].result(timeout=WATCH_S))
            continue
        except (TimeoutError, closed):
            pass  # still running, or its worker went away while sending it: is anyone there?
        except (CancelledError, OSError):
            if active.status == "running":
                raise  # a task's own error: the cluster is there
            raise ClusterLost("the connection to the scheduler closed") from None
        if active.status != "running":
            raise ClusterLost("the connection to the scheduler closed")
        try:
            workers = active.nthreads()  # one call to the scheduler
        except (CancelledError, OSError):
            raise ClusterLost("the scheduler stopped answering") from None
        alone_since = None if workers else alone_since or time.monotonic()
        if alone_since is not None and time.monotonic() - alone_since >= workers_timeout():
            raise ClusterLost(f"every worker left, and none joined within {workers_timeout():g} s")
    return results
