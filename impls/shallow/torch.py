"""PyTorch: the network's epoch as a PyTorch user writes it with the gradients by hand, on the CPU.

The products with X through ``torch.addmm``/``torch.mm`` (PyTorch's BLAS), the element-wise steps
as tensor operations, in place where they can be, under ``torch.inference_mode`` (no autograd
graph: the gradients are the same formulas as every other rung's). X and y become tensors without
a copy. Registered only where ``torch`` is installed, and imported on first use.
"""

from __future__ import annotations

import warnings
from importlib import import_module

import numpy as np

from impls._common import REORDERED_SUMS
from impls.shallow._contract import Net, ShallowRung


def _torch():
    return import_module("torch"), import_module("torch.nn.functional")


def descend(net: Net):
    torch, F = _torch()
    with warnings.catch_warnings():  # read-only arrays are fine: X and y are never written
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        X, y = torch.from_numpy(net.X), torch.from_numpy(net.y)
    W1 = torch.from_numpy(net.params["W1"].copy())
    b1 = torch.from_numpy(net.params["b1"].copy())
    W2 = torch.from_numpy(net.params["W2"].copy())
    b2 = torch.tensor(net.params["b2"], dtype=X.dtype)
    m = X.shape[0]
    costs = torch.empty(net.epochs, dtype=X.dtype)
    with torch.inference_mode():
        for k in range(net.epochs):  # one Python step an epoch: Ctrl-C is seen between two
            A1 = torch.addmm(b1, X, W1.T).tanh_()  # (m, h)
            z2 = torch.mv(A1, W2).add_(b2)
            costs[k] = (F.softplus(z2) - y * z2).mean()  # the loss from the logit: stable
            dz2 = torch.sigmoid(z2).sub_(y)
            dZ1 = torch.outer(dz2, W2).mul_(1.0 - A1 * A1)  # (m, h)
            W1.sub_(torch.mm(dZ1.T, X), alpha=net.lr / m)
            b1.sub_(dZ1.mean(dim=0), alpha=net.lr)
            W2.sub_(torch.mv(A1.T, dz2), alpha=net.lr / m)
            b2 -= net.lr * dz2.mean()
    params = {"W1": W1.numpy(), "b1": b1.numpy(), "W2": W2.numpy(), "b2": float(b2)}
    return params, np.asarray(costs.numpy())


RUNG = ShallowRung(
    name="torch",
    summary="PyTorch on the CPU: products in its BLAS, the rest as tensor operations, gradients by hand.",
    descend=descend,
    tolerance=REORDERED_SUMS,
)
