"""numba_tuned's planner: which kernel is fastest on this CPU, measured once and remembered.

FFTW's planner, for the compiled rungs' kernels. One module per idea:

* ``candidates``: the kernels and knobs that can be chosen, and the rule of thumb;
* ``key``: what identifies a plan (machine, code, dtype, row length, threads, data class);
* ``race``: contenders timed in shuffled rounds on a clock passed in (also the benchmarks' races);
* ``store``: the wisdom file;
* ``planning``: measure or estimate, with what this process already knows;
* ``__main__``: ``python -m impls.planner show|plan|forget``.
"""

from impls.planner.candidates import BY_NAME, CANDIDATES, Candidate, rule_of_thumb
from impls.planner.planning import MODES, Plan, forget, plan, settings

__all__ = [
    "BY_NAME",
    "CANDIDATES",
    "MODES",
    "Candidate",
    "Plan",
    "forget",
    "plan",
    "rule_of_thumb",
    "settings",
]
