"""The ladder: one algorithm, batch gradient descent for logistic regression, many rungs.

Every rung has the same call::

    IMPLEMENTATIONS[name].fit(X, y, *, lr, epochs, w0=None, b0=0.0, dtype=None)

X has one row per example (shape (m, n)); y holds 0/1 labels (shape (m,)). Each epoch
computes z = Xw + b, the prediction sigmoid(z), the mean cross-entropy cost (recorded
*before* the update), the gradients dw = X.T(sigmoid(z) - y)/m and db = mean(sigmoid(z) - y),
then steps w -= lr*dw, b -= lr*db. The result has ``w`` (shape (n,)), ``b`` (float) and
``costs`` (shape (epochs,)). ``w0=None`` starts from zeros; ``dtype=None`` means float64.
``IMPLEMENTATIONS[name].dtypes`` (or ``.supports(dtype)``) tells which dtypes a rung runs.
No rung writes to the arrays it is given.

Each label is its module's name and says the idea its rung adds to the one below it.
"""

from __future__ import annotations

from importlib import import_module
from importlib.util import find_spec

from impls import (  # _scan: validation of large X in one parallel pass (installs itself in _common)
    _scan,  # noqa: F401
    numba_blocked,
    numba_fused,
    numba_loops,
    numba_tiled,
    numba_tuned,
    numpy_inplace,
    numpy_rowwise,
    numpy_vectorized,
    python_loops,
)
from impls._common import FitResult, Problem, Rung, Tolerance, relative_error, validate

#: The whole ladder in teaching order; the key is the label used everywhere.
IMPLEMENTATIONS: dict[str, Rung] = {
    rung.name: rung
    for rung in (
        python_loops.RUNG,
        numpy_rowwise.RUNG,
        numpy_vectorized.RUNG,
        numpy_inplace.RUNG,
        numba_loops.RUNG,
        numba_fused.RUNG,
        numba_tiled.RUNG,
        numba_blocked.RUNG,
        numba_tuned.RUNG,
    )
}

#: Peers: what users would pick instead, registered only where their package imports.
#: Label (and module) → the package it needs.
PEERS = {"torch": "torch", "jax": "jax"}
#: Past one process: the same epoch on a cluster of workers (the lesson's "beyond one machine").
DISTRIBUTED = {"dask": "distributed"}
#: Every rung that needs a package of its own, and the extra of pyproject.toml that installs it.
OPTIONAL = {label: (package, "peers") for label, package in PEERS.items()} | {
    label: (package, "dask") for label, package in DISTRIBUTED.items()
}
#: Optional rungs this Python cannot run, and why: the tests and the benchmarks skip them with this reason.
MISSING: dict[str, str] = {}
for _label, (_package, _extra) in OPTIONAL.items():
    if find_spec(_package) is None:  # found without importing it: the rung imports it on first use
        MISSING[_label] = f"{_package} is not installed; add it with: pip install -e '.[{_extra}]'"
    else:
        IMPLEMENTATIONS[_label] = import_module(f"impls.{_label}").RUNG

#: Roles that rungs play in the benchmarks and the lesson, by label.
BASELINE = "python_loops"  # the first rung: every speedup over plain Python is against it
REFERENCE = "numpy_vectorized"  # the vectorized baseline; every timed answer is checked against it
PLANNED = "numba_tuned"  # plans its kernel by measurement; its tuning is benchmarked apart
ONE_PROCESS = "numba_fused"  # the one-process rung whose kernel the distributed rung runs per block

#: Labels used by results files of earlier versions of the ladder, and the rung each now names.
LABEL_ALIASES: dict[str, str] = {
    "numpy": "numpy_vectorized",
    "numba": "numba_loops",
    "numba_parallel": "numba_blocked",
}

__all__ = [
    "BASELINE",
    "DISTRIBUTED",
    "IMPLEMENTATIONS",
    "LABEL_ALIASES",
    "MISSING",
    "ONE_PROCESS",
    "OPTIONAL",
    "PEERS",
    "PLANNED",
    "REFERENCE",
    "FitResult",
    "Problem",
    "Rung",
    "Tolerance",
    "relative_error",
    "validate",
]
