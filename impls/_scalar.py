"""The per-example step of every loop rung: loss and error from the logit, in plain ``math``.

``register_jitable`` leaves it an ordinary Python function for the pure-Python rung
while letting Numba compile the very same code inside its kernels.

For a logit z and label y, with e = exp(-|z|) (never overflows: its argument is <= 0):

* the cross-entropy of sigmoid(z) is ``softplus(z) - y*z = max(z, 0) + log1p(e) - y*z``;
* sigmoid(z) is ``1 / (1 + e)`` for z >= 0 and ``e / (1 + e)`` for z < 0.

One ``exp`` serves both, so each example costs one exp and one log1p: in the compiled
kernels these two calls are a large part of the time per example.
"""

import math

from numba.extending import register_jitable


@register_jitable
def logistic_terms(z, y):
    """Return (loss, error) for one example: the cross-entropy and sigmoid(z) - y."""
    e = math.exp(-abs(z))
    loss = max(z, 0.0) + math.log1p(e) - y * z
    if z >= 0.0:
        return loss, 1.0 / (1.0 + e) - y
    return loss, e / (1.0 + e) - y
