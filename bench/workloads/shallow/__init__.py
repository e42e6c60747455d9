"""Week 3's network with one hidden layer (``impls.shallow``), swept over the hidden width h.

Each number of X feeds 2h multiply-adds an epoch (h forward, h back), so as h grows the same
descent moves from waiting on memory to waiting on arithmetic, and the ladder turns over: one
fused pass over X leads while memory is the limit, BLAS's blocked products once arithmetic is.
``bench_shallow.py`` times the rungs side by side at each h with two probes, this machine's read
of X and its matrix-product rate through BLAS (``measure.py``); ``page.py`` places every rung on
the roofline those two draw. What both sides agree on, a record's fields, is here.
"""

from __future__ import annotations

NAME = "shallow"
#: The names of the two probes in a round, beside the rungs'.
READ, PRODUCT = "read X", "matrix product"
#: A record's fields and their types: written by bench_shallow.py, read by page.py.
FIELDS = {
    "workload": str,
    "kind": str,  # "side_by_side"
    "m": int,
    "n": int,
    "dtype": str,
    "hidden": int,
    "threads": int,
    "side_pass": int,  # the fresh process this record's rounds ran in
    "ladder": list,  # the rungs that ran in every round
    "times_s": dict,  # rung -> seconds of one epoch, each round
    "probe_s": list,  # seconds of one read of X, each round
    "product_s": list,  # seconds of one matrix product through BLAS, each round
    "product_macs": int,  # the multiply-adds of that product
    "macs_per_epoch": int,  # 2 m n h: the products with X, forward and back
    "bytes_x": int,
    "errors": dict,  # rung -> largest relative distance from the float64 reference rung
    "tolerance": dict,  # rung -> what it may be off by
}


class RecordError(ValueError):
    """A shallow record lacks a field or has one of the wrong type; the message names it."""


def check(info: dict, where: str) -> dict:
    """``info`` if it has every field of :data:`FIELDS` with its type, else RecordError."""
    for field, kind in FIELDS.items():
        if field not in info:
            raise RecordError(f"{where}: the shallow record has no {field!r}")
        value = info[field]
        ok = isinstance(value, kind) and not isinstance(value, bool)
        if kind is float:
            ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok:
            raise RecordError(f"{where}: {field!r} must be {kind.__name__}, got {value!r:.80}")
    return info
