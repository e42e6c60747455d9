"""Numerically stable sigmoid and loss for one example, in plain ``math``.

``register_jitable`` leaves them ordinary Python functions for the pure-Python rung
while letting Numba compile the very same code inside its kernels.

For a logit z and label y, the cross-entropy of sigmoid(z) is
``softplus(z) - y*z`` with ``softplus(z) = log(1 + exp(z))``; written as
``max(z, 0) + log1p(exp(-|z|))`` no step overflows, for any finite z.
"""

import math

from numba.extending import register_jitable


@register_jitable
def sigmoid(z):
    """1 / (1 + exp(-z)) without overflow: exp is only taken of a non-positive number."""
    if z >= 0.0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@register_jitable
def loss(z, y):
    """Cross-entropy of sigmoid(z) against label y, computed from the logit."""
    return max(z, 0.0) + math.log1p(math.exp(-abs(z))) - y * z
