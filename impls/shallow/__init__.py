"""The second workload: week 3's network with one hidden layer, as a ladder of rungs.

Every rung has the same call::

    from impls.shallow import IMPLEMENTATIONS
    IMPLEMENTATIONS[name].fit(X, y, hidden=h, lr=..., epochs=E, params0=None, dtype=None)

X holds one example per row (m × n), y its 0/1 labels (m,). The network: a hidden layer of h
tanh units, Z1 = X W1ᵀ + b1, A1 = tanh(Z1); one sigmoid output of logit z2 = A1 W2 + b2; the cost
the mean cross-entropy computed from the logit. Each epoch records the cost, then steps all four
parameters by batch gradient descent. The result has ``params`` (``W1`` (h, n), ``b1`` (h,),
``W2`` (h,), ``b2`` float) and ``costs`` (E values, ``costs[k]`` before update k).
``params0=None`` starts from ``_contract.start`` (small seeded random weights, zero biases).
Bad input raises TypeError or ValueError naming the argument, before any work; nothing passed
in is changed.
"""

from __future__ import annotations

from importlib import import_module
from importlib.util import find_spec

from impls.shallow import numba_blas, numba_fused, numba_loops, numpy_vectorized, python_loops
from impls.shallow._contract import (
    NAMES,
    Net,
    ShallowResult,
    ShallowRung,
    relative_error,
    start,
    validate_net,
)

#: The rungs in teaching order.
_LADDER = (python_loops, numpy_vectorized, numba_loops, numba_fused, numba_blas)
IMPLEMENTATIONS: dict[str, ShallowRung] = {module.RUNG.name: module.RUNG for module in _LADDER}
if find_spec("torch") is not None:  # what people would pick instead, where it is installed
    IMPLEMENTATIONS["torch"] = import_module("impls.shallow.torch").RUNG
#: The rung every other is checked against in the tests' float64 runs.
REFERENCE = "numpy_vectorized"

__all__ = [
    "IMPLEMENTATIONS",
    "NAMES",
    "REFERENCE",
    "Net",
    "ShallowResult",
    "ShallowRung",
    "relative_error",
    "start",
    "validate_net",
]
