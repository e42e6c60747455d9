"""The lesson's charts, one function each; every one returns None when the run lacks its data.

``CHARTS`` lists them all: file key → (caption, function). The templates place them by key.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from matplotlib.figure import Figure

from bench.report.charts import beyond, planner, rungs
from bench.report.facts import Facts

CHARTS: dict[str, tuple[str, Callable[[Facts], Figure | None]]] = {
    "ns_per_mac": ("What one multiply-add costs, rung by rung", rungs.plot_ns_per_multiply_add),
    "cost_vs_time": ("Training cost against wall-clock time", rungs.plot_cost_vs_time),
    "lbfgs": ("Gradient descent against L-BFGS", partial(rungs.plot_cost_vs_time, lbfgs=True)),
    "time_vs_m": ("Time per epoch against m", rungs.plot_time_vs_m),
    "speedup_python": ("Speedup over the first rung", rungs.plot_speedup_over_baseline),
    "speedup_numpy": ("Speedup over the vectorized rung against m", rungs.plot_speedup_over_reference),
    "bandwidth": ("Effective bandwidth against the roofline", rungs.plot_bandwidth),
    "n_sweep": ("The n sweep", rungs.plot_n_sweep),
    "dtype": ("float32 against float64", rungs.plot_dtype),
    "threads": ("One thread against all", rungs.plot_threads),
    "jit": ("JIT compile time and break-even", rungs.plot_jit),
    "tuning": ("The planned rung's candidates, timed on this machine", planner.plot_tuning),
    "memory": ("Peak memory of a one-epoch fit", rungs.plot_memory),
    "distributed": ("The descent on a Dask cluster: epochs, scheduling and blocks", beyond.plot_dask),
}
