"""What a framework's epoch does to memory, counted from the framework itself, not guessed.

For the peer rungs the lesson says how many times an epoch reads X (and arrays as long as X has
rows): the number that, with the probe's bandwidth, explains where they land on the roofline.

* ``torch``: ``torch.profiler`` records every top-level ATen operation of a descent with its input
  shapes. Views (a transpose, an ``expand``) move no data and are not counted. Counted over a
  descent of ``1 + 2`` epochs against one of 1, so set-up and tear-down cancel out.
* ``jax``: XLA's optimized HLO for the compiled descent, the body of the ``while`` loop that
  ``lax.scan`` becomes, is one epoch. Every instruction there that moves data (not a parameter,
  tuple, bitcast or constant) is one operation; its X-sized operands are reads of X-sized data,
  and an X-sized result is a write (a transposed copy of X, for instance).

An "X-sized" array has m·n elements; an "m-long" one has m. Counts are per epoch.
"""

from __future__ import annotations

import re
from collections import Counter

import numpy as np

from bench.suite.config import LR
from bench.suite.data import get_data

TORCH_VIEWS = {
    "aten::expand",
    "aten::select",
    "aten::numpy_T",
    "aten::t",
    "aten::transpose",
    "aten::permute",
    "aten::view",
    "aten::reshape",
    "aten::as_strided",
    "aten::slice",
    "aten::alias",
    "aten::detach",
    "aten::detach_",
    "aten::unsqueeze",
    "aten::squeeze",
    "aten::lift_fresh",
    "aten::resolve_conj",
    "aten::resolve_neg",
    "aten::item",
    "aten::_local_scalar_dense",
    "aten::empty",
    "aten::to",
}
HLO_MOVES_NOTHING = {"parameter", "get-tuple-element", "tuple", "bitcast", "constant"}


def _counts(ops: list[tuple[list[int], int | None]], m: int, n: int) -> dict:
    """Per operation: element counts of its inputs and of its result (None: not known)."""
    x_reads = sum(sum(size == m * n for size in inputs) for inputs, _ in ops)
    m_reads = sum(sum(size == m for size in inputs) for inputs, _ in ops)
    writes = [result for _, result in ops if result is not None]
    return {
        "ops_per_epoch": float(len(ops)),
        "x_reads": float(x_reads),
        "m_reads": float(m_reads),
        "x_writes": float(sum(size == m * n for size in writes)) if writes else None,
    }


def _torch_ops(m: int, n: int, dtype: str, epochs: int) -> list[tuple[str, list[int]]]:
    from torch.profiler import ProfilerActivity, profile

    from impls import IMPLEMENTATIONS

    rung = IMPLEMENTATIONS["torch"]
    X, y = get_data(m, n, dtype)
    problem = rung.validate(X, y, lr=LR, epochs=epochs, dtype=dtype)
    state = rung.prepare(problem)
    rung.run(state, problem)
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        rung.run(state, problem)
    return [
        (event.name, [int(np.prod(shape)) if shape else 1 for shape in event.input_shapes])
        for event in prof.events()
        if event.cpu_parent is None and event.name not in TORCH_VIEWS
    ]


def torch_counts(m: int, n: int, dtype: str) -> dict:
    one, three = _torch_ops(m, n, dtype, 1), _torch_ops(m, n, dtype, 3)
    extra = Counter(name for name, _ in three) - Counter(name for name, _ in one)
    # The operations three epochs have beyond one: two epochs' worth, in the order they ran.
    per_two, left = [], dict(extra)
    for name, inputs in reversed(three):
        if left.get(name, 0) > 0:
            left[name] -= 1
            per_two.append((inputs, None))
    counts = _counts(per_two, m, n)
    return {key: value / 2 if value is not None else None for key, value in counts.items()} | {
        "ops_traced": "torch.profiler (top-level ATen operations, views left out)"
    }


_INSTRUCTION = re.compile(r"^\s*(?:ROOT\s+)?%([\w.\-]+) = (.+?) ([\w\-]+)\((.*?)\)")
_SHAPE = re.compile(r"^[a-z]\w*\[([\d,]*)\]")


def _elements(shape: str) -> int | None:
    found = _SHAPE.match(shape)
    if not found:
        return None  # a tuple
    dims = [int(d) for d in found.group(1).split(",") if d]
    return int(np.prod(dims)) if dims else 1


def hlo_epoch_ops(text: str) -> list[tuple[list[int], int | None]] | None:
    """The data-moving instructions of the (only) while loop's body in optimized HLO text."""
    body = re.search(r"\bbody=%([\w.\-]+)", text)
    if body is None:
        return None
    block = re.search(rf"^%{re.escape(body.group(1))} \(.*?^\}}", text, re.S | re.M)
    if block is None:
        return None
    sizes: dict[str, int | None] = {}
    ops = []
    for line in block.group(0).splitlines()[1:]:
        found = _INSTRUCTION.match(line)
        if not found:
            continue
        name, shape, opcode, operands = found.groups()
        sizes[name] = _elements(shape)
        if opcode in HLO_MOVES_NOTHING:
            continue
        inputs = [sizes.get(operand) or 0 for operand in re.findall(r"%([\w.\-]+)", operands)]
        ops.append((inputs, sizes[name]))
    return ops


def jax_counts(m: int, n: int, dtype: str) -> dict | None:
    from impls import jax as jax_rung

    jax, _ = jax_rung._jax()
    shape = jax.ShapeDtypeStruct
    kind = np.dtype(dtype)
    compiled = (
        jax.jit(jax_rung.descend_scan, static_argnames="epochs")
        .lower(
            shape((m, n), kind),
            shape((m,), kind),
            shape((n,), kind),
            shape((), kind),
            shape((), kind),
            epochs=3,
        )
        .compile()
    )
    ops = hlo_epoch_ops(compiled.as_text())
    if ops is None:
        return None  # no loop in the program (XLA unrolled it): nothing per epoch to count
    return _counts(ops, m, n) | {"ops_traced": "XLA's optimized HLO (the epoch loop's body)"}


COUNTERS = {"torch": torch_counts, "jax": jax_counts}


def epoch_counts(name: str, m: int, n: int, dtype: str) -> dict:
    """The counts for a peer rung (empty for a rung no counter knows), without None values."""
    counter = COUNTERS.get(name)
    counts = counter(m, n, dtype) if counter else None
    return {key: value for key, value in (counts or {}).items() if value is not None}
