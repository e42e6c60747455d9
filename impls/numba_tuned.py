"""Numba, planned by measurement: the kernel that is fastest on *this* CPU, chosen on it and remembered.

The rungs below each fix one kernel and its knobs: ``numba_blocked``'s block size and prefetch
distance are a rule of thumb measured on one CPU. Which kernel and knobs are fastest depends
on the CPU, the row length, the dtype, the threads and where X sits. So this rung does what
FFTW does with ``FFTW_MEASURE`` and its wisdom: on the first call for a new key it races every
candidate on this machine, remembers the winner, and runs it (``impls/planner``). The race's
finalists then take turns at the first epochs on the caller's own data, by the same rule, and
the choice there is the plan from then on (as cuDNN's benchmark mode chooses on the first call).

Measuring never changes the answer: every candidate computes the same descent, within this
rung's tolerance (the correctness suite runs on every candidate, not only on winners).
"""

from __future__ import annotations

from impls._common import Problem, Rung, Tolerance
from impls.numba_fused import NO_KNOBS, run_descent
from impls.planner import Candidate, plan
from impls.planner.candidates import FAMILIES, families
from impls.planner.key import thread_count
from impls.planner.planning import CONFIRMED, execute

TOLERANCE = Tolerance(
    float64=1e-9,
    float32=1e-4,
    why="whichever candidate runs: fastmath dot products, polynomial or library exp and log1p, "
    "float32 data summed in float32 over at most a block's flush interval (as numba_blocked)",
)


def descend_planned(problem: Problem, lr: float, epochs: int, drivers: dict):
    """Look up (or make) the plan for this problem's rows, dtype, threads and size, and run it
    (``impls/planner/planning.py``: ``execute`` confirms a new plan on these epochs first)."""
    return execute(
        plan(problem.X.shape[1], problem.dtype, m=problem.X.shape[0]), problem, lr, epochs, drivers
    )


def build(cold: bool = False) -> Rung:
    """The rung; ``cold=True`` compiles every family afresh, uncached (what the compile benchmark times)."""
    built = {name: family.build(cold=True) for name, family in FAMILIES.items()} if cold else families()
    drivers = {name: driver for name, (driver, _) in built.items()}
    pending = [cold]  # a cold rung's first call compiles every family, as a first use on a machine does

    def descend(problem: Problem, lr: float, epochs: int):
        if pending[0]:
            for driver in drivers.values():
                run_descent(driver, problem, lr, 0, NO_KNOBS)  # zero epochs: compile only
            pending[0] = False
        chosen = CONFIRMED.get((problem.X.shape, problem.X.itemsize, thread_count()))
        if chosen is not None:  # a confirmed plan: no more to look up (the first look, every call)
            return run_descent(drivers[chosen.family], problem, lr, epochs, chosen.knobs)
        return descend_planned(problem, lr, epochs, drivers)

    return Rung(
        name="numba_tuned",
        summary="The fastest of the kernels below and a skewed block kernel of its own, with their knobs "
        "swept, measured on this machine "
        "once per dtype, row length, thread count and size of X against the last-level cache (in "
        "it, about its size, or beyond it; the rule of thumb unless another is clearly faster), "
        "and remembered (like FFTW's wisdom).",
        descend=descend,
        tolerance=TOLERANCE,
        uses_threads="numba",
        rebuild=lambda: build(cold=True),
        kernels=tuple(kernel for _, kernels in built.values() for kernel in kernels),
        core=(descend_planned,),
    )


def candidate_rung(candidate: Candidate) -> Rung:
    """A rung that always runs ``candidate``: how the correctness suite checks every candidate."""

    def descend(problem: Problem, lr: float, epochs: int):
        return run_descent(families()[candidate.family][0], problem, lr, epochs, candidate.knobs)

    return Rung(
        name=f"numba_tuned[{candidate.name}]",
        summary=f"numba_tuned pinned to its candidate {candidate.name}",
        descend=descend,
        tolerance=TOLERANCE,
        uses_threads="numba",
    )


RUNG = build()
