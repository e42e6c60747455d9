"""Dask: the fused epoch on a cluster, X chunked by rows and held by the workers.

What a Dask user would write for this descent (the shape of dask-glm's gradient descent and of
Spark's ``treeAggregate``): X is a dask array chunked by rows, sent to the workers once per fit
and kept in their memory across epochs (``persist``). Each epoch, every block of rows is a task
that runs ``numba_fused``'s compiled rows kernel and returns the block's partial sums; those are
added as a tree, and the client updates w and b. One module per part:

* ``blocks``: what a task computes, and X and y cut into row blocks held by the workers;
* ``connect``: reaching a configured scheduler, with Dask's TLS settings;
* ``cluster``: this process's client (a configured cluster, else a LocalCluster of this process);
* ``store``: X in a Zarr store, read and checked block by block (``fit_zarr``);
* ``reduce``: one epoch, a task per block and a tree of sums, watching that the cluster is there;
* ``rung``: the epochs, the tolerance and ``RUNG``.

Registered only where ``distributed`` is installed (``pip install -e '.[dask]'``), and imported on
first use. Every public name of the parts is importable from here.
"""

from impls.dask.blocks import State, block_sums, block_terms, distribute, no_work, prepare, rows_per_task
from impls.dask.cluster import (
    HEARTBEAT_NOISE,
    LOOPBACK,
    WORKERS_SETTING,
    WORKERS_TIMEOUT_S,
    client,
    close,
    local_cluster,
    using,
    with_workers,
    worker_threads,
    workers_timeout,
)
from impls.dask.connect import ADDRESS_SETTING, CONNECT_TIMEOUT_S, TLS_SETTINGS
from impls.dask.reduce import (
    SPLIT_EVERY,
    WATCH_S,
    ClusterLost,
    add_parts,
    epoch_sums,
    reduction_levels,
    tasks_per_epoch,
)
from impls.dask.rung import RUNG, TOLERANCE, descend, fit_zarr
from impls.dask.store import (
    ABSENT,
    MAX_BLOCK_BYTES,
    Stamp,
    StoreBlock,
    open_store,
    prepare_store,
    read_block,
    store_block_check,
    store_block_terms,
    store_files,
)

__all__ = [
    "ABSENT",
    "ADDRESS_SETTING",
    "CONNECT_TIMEOUT_S",
    "HEARTBEAT_NOISE",
    "LOOPBACK",
    "MAX_BLOCK_BYTES",
    "RUNG",
    "SPLIT_EVERY",
    "TLS_SETTINGS",
    "TOLERANCE",
    "WATCH_S",
    "WORKERS_SETTING",
    "WORKERS_TIMEOUT_S",
    "ClusterLost",
    "Stamp",
    "State",
    "StoreBlock",
    "add_parts",
    "block_sums",
    "block_terms",
    "client",
    "close",
    "descend",
    "distribute",
    "epoch_sums",
    "fit_zarr",
    "local_cluster",
    "no_work",
    "open_store",
    "prepare",
    "prepare_store",
    "read_block",
    "reduction_levels",
    "rows_per_task",
    "store_block_check",
    "store_block_terms",
    "store_files",
    "tasks_per_epoch",
    "using",
    "with_workers",
    "worker_threads",
    "workers_timeout",
]
