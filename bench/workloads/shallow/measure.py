"""One point of the shallow sweep in this process: the rungs and both probes side by side.

Run in a fresh process per pass (``bench.suite.side_by_side.in_fresh_process``). Every round runs,
in a new shuffled order, one epoch of each rung, one read of X by the suite's probe (the memory
ceiling) and one matrix product through BLAS (the compute ceiling), so every ratio between them
comes from rounds that met the same machine.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from bench.workloads.shallow import PRODUCT, READ

#: The learning rate of every timed fit: one epoch, so it only has to keep the answer finite.
LR = 0.5
#: The compute probe multiplies two square matrices of this size: large enough for BLAS's blocking
#: to reach its rate (about a billion multiply-adds), small enough to sit in the caches' reach.
PRODUCT_SIZE = 1024


@dataclass(frozen=True)
class Point:
    m: int
    n: int
    hidden: int
    dtype: str = "float64"

    @property
    def id(self) -> str:
        return f"m{self.m}-n{self.n}-h{self.hidden}"


def data(point: Point) -> tuple[np.ndarray, np.ndarray]:
    """The suite's generated X and labels (``bench.suite.data``): the same at every h."""
    from bench.suite.data import get_data

    return get_data(point.m, point.n, point.dtype)


def epoch_seconds(name: str, point: Point, rows: int) -> float:
    """One epoch of ``name`` on the first ``rows`` rows, best of two after a first call (which
    compiles or loads): what the budget's prediction scales by m / rows."""
    from impls.shallow import IMPLEMENTATIONS

    X, y = data(point)
    net = IMPLEMENTATIONS[name].validate(X[:rows], y[:rows], hidden=point.hidden, lr=LR, epochs=1)
    IMPLEMENTATIONS[name].run(net)
    best = float("inf")
    for _ in range(2):
        start = time.perf_counter()
        IMPLEMENTATIONS[name].run(net)
        best = min(best, time.perf_counter() - start)
    return best


def measure(point: Point, names: list[str], design) -> dict:
    """The rounds at ``point`` (what one child returns): each rung's epoch, the probe's read of X
    and the BLAS product per round, in seconds, and each rung's distance from the reference."""
    from bench.suite.roofline import read_all, reads_lasting
    from bench.suite.side_by_side import timed_rounds
    from impls.shallow import IMPLEMENTATIONS, REFERENCE, relative_error

    X, y = data(point)
    nets = {
        name: IMPLEMENTATIONS[name].validate(X, y, hidden=point.hidden, lr=LR, epochs=1)
        for name in {*names, REFERENCE}
    }
    reference = IMPLEMENTATIONS[REFERENCE].run(nets[REFERENCE])
    rng = np.random.default_rng(PRODUCT_SIZE)
    A, B = (rng.standard_normal((PRODUCT_SIZE, PRODUCT_SIZE)) for _ in range(2))
    C = np.empty_like(A)
    errors = {name: relative_error(IMPLEMENTATIONS[name].run(nets[name]), reference) for name in names}
    reads = reads_lasting(X, design.probe_s)

    def run(name: str) -> None:
        if name == READ:
            for _ in range(reads):
                read_all(X)
        elif name == PRODUCT:
            np.matmul(A, B, out=C)
        else:
            IMPLEMENTATIONS[name].run(nets[name])

    run(PRODUCT)
    race = timed_rounds([*names, READ, PRODUCT], run, design)
    times = {name: [float(t) for t in race.times[name]] for name in [*names, READ, PRODUCT]}
    times[READ] = [t / reads for t in times[READ]]
    return {"times_s": times, "errors": errors, "probe_reads": reads}
