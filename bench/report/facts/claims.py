"""What the lesson states that needs numbers of the run, each claim measured or not: a claim the run
cannot make is a gap, named by its topic, and listed on the methods page.

The sections' claims are here; each rung's step states its own, declared in ``steps.json`` by rung
label (the report's Python names no rung): its topic, and the numbers it needs, as
``<rung>.<field>`` (a time of its facts) or ``<rung> vs <other> at <slot>`` (the side-by-side ratio
of the two at a slot's point, ``facts/compare.py``), where a rung is a label, a role of the ladder
(``baseline``, ``reference``, ``one_process``, ``planned``) or ``probe``. A comparison the run did
not time side by side is unmeasured: its statement is a gap, never a ratio of separate benchmarks.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bench.report.facts.rungs import RungFacts, Sizes
from bench.results.ladder import Ladder
from bench.results.schema import ROOFLINE

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
    reference, fused, planned = rungs[ladder.reference], rungs[ladder.one_process], rungs[ladder.planned]
    ns, floor, _ = parts["ns_per_mac"]
    main = {ladder.baseline, ladder.reference, ladder.one_process}
    ends = (sizes.short, reference.t_short, reference.t_long, fused.t_short, fused.t_long)
    vs_loops = reference.vs[ladder.baseline]
    first_use = f"the cost of {ladder.planned}'s first use and of a later process"
    out = {
        "curve": Claim("the cost against time", parts["curve"] is not None),
        "ns_per_mac": Claim(
            "nanoseconds per multiply-add of the three main rungs",
            main <= {r for r, *_ in ns} and bool(floor),
        ),
        "small": Claim(
            f"{ladder.one_process} against {ladder.reference} side by side at the smallest size",
            fused.vs[ladder.reference]["t_small"] is not None,
        ),
        "own_compile": Claim("the one-pass rung's compile time", parts["first_run"] is not None),
        "n_ends": Claim(
            f"{ladder.reference} against {ladder.baseline} side by side at the n sweep's shortest rows",
            _all(*ends, vs_loops["t_short"], vs_loops["t_python"]),
        ),
        "threads": Claim("one thread against all, side by side with the probe", bool(parts["threads"])),
        "dtype": Claim("float32 against float64, side by side with the probe", bool(parts["dtypes"])),
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

    def label(who: str) -> str:
        return ROOFLINE if who == "probe" else getattr(ladder, who) if who in ROLES else who

    def value(need: str):
        if " vs " in need:  # "<rung> vs <other> at <slot>": their side-by-side ratio there
            who, _, rest = need.partition(" vs ")
            other, _, slot = rest.partition(" at ")
            rung, other = rungs.get(label(who)), label(other)
            if rung is None or rung.vs is None or (other not in rungs and other != ROOFLINE):
                return None
            return rung.vs[other][slot]
        who, _, field = need.partition(".")
        rung = probe if who == "probe" else rungs.get(label(who))
        return None if rung is None else getattr(rung, field)

    for name, claims in json.loads(STEPS.read_text()).items():
        if name in rungs:
            rungs[name].claims = {
                key: Claim(c["topic"], all(value(need) is not None for need in c["needs"]))
                for key, c in claims.items()
            }
