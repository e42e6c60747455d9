"""PyTorch: the vectorized epoch as a PyTorch user would write it, on the CPU.

What most people would reach for instead of NumPy. The arrays become tensors without a copy
(``torch.from_numpy``), every step runs under ``torch.inference_mode`` (no autograd graph),
the update is in place, and the thread count is PyTorch's own (``torch.set_num_threads``, which
the benchmark's thread axis sets). Each epoch is still a sequence of separate operations, each a
full pass over an m-long array or over X: ``X @ w``, the loss, the sigmoid, ``X.T @ error``.
Registered only where ``torch`` is installed (``pip install -e '.[peers]'``), and imported on first
use, not with the ladder: importing PyTorch takes seconds that a user of another rung should not pay.
"""

from __future__ import annotations

import warnings
from importlib import import_module

from impls._common import REORDERED_SUMS, Problem, Rung


def _torch():
    """PyTorch and its functional module, imported on first use."""
    return import_module("torch"), import_module("torch.nn.functional")


def prepare(problem: Problem):
    """Tensors sharing memory with the validated arrays (X and y are never written)."""
    torch, _ = _torch()
    with warnings.catch_warnings():  # read-only arrays are fine: this rung never writes X or y
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        X = torch.from_numpy(problem.X)  # no copy: problem.X is C-contiguous in the working dtype
        y = torch.from_numpy(problem.y)
    w = torch.from_numpy(problem.w0.copy())  # the one array this rung writes
    return X, y, w, problem.b0


def descend(state, lr: float, epochs: int):
    torch, F = _torch()
    X, y, w0, b0 = state
    w, b = w0.clone(), torch.tensor(b0, dtype=X.dtype)
    m = X.shape[0]
    costs = torch.empty(epochs, dtype=X.dtype)
    with torch.inference_mode():
        for k in range(epochs):
            z = torch.addmv(b.expand(m), X, w)  # X @ w + b in one BLAS call
            costs[k] = (F.softplus(z) - y * z).mean()  # the loss from the logit: stable
            error = torch.sigmoid(z).sub_(y)
            w.sub_(torch.mv(X.T, error), alpha=lr / m)  # X.T @ error without a transposed copy
            b -= lr * error.mean()
    return w.numpy(), float(b), costs.numpy()


RUNG = Rung(
    name="torch",
    summary="PyTorch on the CPU: tensors over NumPy's memory, in-place update, inference mode, "
    "one framework call per step of the epoch.",
    descend=descend,
    prepare=prepare,
    tolerance=REORDERED_SUMS,
    uses_threads="torch",
    core=(descend,),
)
