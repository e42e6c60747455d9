"""What the lesson states that needs numbers of the run, each claim measured or not: a claim the run
cannot make is a gap, named by its topic, and listed on the methods page.

The sections' claims are here; each rung's step states its own, declared in ``steps.json`` by rung
label (the report's Python names no rung): its topic, and the numbers it needs, as
``<rung>.<field>``, where the rung is a label, a role of the ladder (``baseline``, ``reference``,
``one_process``, ``planned``) or ``probe``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bench.report.facts.rungs import RungFacts, Sizes
from bench.results.ladder import Ladder

STEPS = Path(__file__).with_name("steps.json")
ROLES = ("baseline", "reference", "one_process", "planned")


@dataclass(frozen=True)
class Claim:
    """A statement that needs numbers: ``measured`` where the run has them all (the claim is then true
    as a condition); else the lesson says it could not, naming ``topic``."""

    topic: str
    measured: bool

    def __bool__(self) -> bool:
        return self.measured

    @property
    def gap(self) -> str:
        return f"{self.topic}: not measured in this run"


def _all(*values) -> bool:
    return all(value is not None for value in values)


def sections(
    ladder: Ladder, rungs: Mapping[str, RungFacts], sizes: Sizes, parts: Mapping
) -> dict[str, Claim]:
    """The claims of the lesson's sections, by key; ``parts`` holds the numbers of the sections, the
    planner's and ``memory_traced`` (whether any rung's memory was traced)."""
    baseline, reference = rungs[ladder.baseline], rungs[ladder.reference]
    fused, planned = rungs[ladder.one_process], rungs[ladder.planned]
    ns, floor = parts["ns_per_mac"]
    main = {ladder.baseline, ladder.reference, ladder.one_process}
    ends = (sizes.short, baseline.t_short, reference.t_short, reference.t_long, fused.t_short, fused.t_long)
    first_use = f"the cost of {ladder.planned}'s first use and of a later process"
    out = {
        "curve": Claim("the cost against time", parts["curve"] is not None),
        "ns_per_mac": Claim(
            "nanoseconds per multiply-add of the three main rungs",
            main <= {r for r, *_ in ns} and bool(floor),
        ),
        "small": Claim("the rungs at the smallest size", _all(reference.t_small, fused.t_small)),
        "own_compile": Claim("the one-pass rung's compile time", parts["first_run"] is not None),
        "n_ends": Claim("the n sweep at its ends", _all(*ends, baseline.t_python, reference.t_python)),
        "threads": Claim("one thread against all", bool(parts["thread_gains"])),
        "dtype": Claim("float32 against float64", bool(parts["dtype_gains"])),
        "memory": Claim("memory allocated per epoch", parts["memory_traced"]),
        "compile": Claim("JIT compile time", bool(parts["compile_costs"])),
        "tuning": Claim(f"{ladder.planned}'s tuning measurements", bool(parts["tuning"])),
        "first_use": Claim(first_use, _all(planned.compile_s, parts["first_fit"], parts["measuring_s"])),
        "distributed": Claim("the distributed rung", parts["distributed"] is not None),
    }
    d = parts["distributed"]
    if d is not None:
        out["distributed_sweep"] = Claim(f"{d.rung} over the m sweep", bool(d.sweep))
        out["store"] = Claim(f"{d.rung} with X read from a store", _all(d.store_s, d.memory_s))
    return out


def steps(ladder: Ladder, rungs: Mapping[str, RungFacts], probe: RungFacts) -> None:
    """Sets each rung's ``claims``: what its step states (``steps.json``), in the order it states them."""

    def value(need: str):
        who, _, field = need.partition(".")
        rung = probe if who == "probe" else rungs.get(getattr(ladder, who) if who in ROLES else who)
        return None if rung is None else getattr(rung, field)

    for name, claims in json.loads(STEPS.read_text()).items():
        if name in rungs:
            rungs[name].claims = {
                key: Claim(c["topic"], all(value(need) is not None for need in c["needs"]))
                for key, c in claims.items()
            }
