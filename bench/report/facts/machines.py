"""Machines side by side: each run's rungs in reads of its own X, and what differs between them.

A rung's epoch in reads of X is the registry's side-by-side ratio, as on every page: its epoch over
the probe's read of X in the same rounds, at the reference rung's largest size. A rung leads where
it took the fewest; another is level with it where their own ratio's interval includes a tie. The
distributed rung is left out (it never runs side by side: its cluster would slow the others).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bench.report.facts.ratios import Stated
from bench.report.facts.select import last_level_cache
from bench.results.schema import ROOFLINE

if TYPE_CHECKING:
    from bench.report.facts import Facts


def cpu_model(machine: Mapping) -> str:
    """The CPU a run recorded: its brand, family and model."""
    cpu = machine.get("cpu") or {}
    brand = cpu.get("brand_raw") or machine.get("processor") or "unknown CPU"
    if "family" in cpu and "model" in cpu:
        brand += f", family {cpu['family']}, model {cpu['model']}"
    return brand


@dataclass
class Machine:
    """One run, as the comparison sees it."""

    label: str  # the folder's name, or "this run"
    lesson: str  # link to its lesson, relative to the comparison page
    facts: Facts
    size: tuple[int, int] | None  # where its reads are taken: the reference rung's largest size
    reads: dict[str, Stated]  # rung → its epoch in reads of X, side by side with the probe
    probe_gb_s: float | None  # the probe's best round there, as a rate

    @property
    def cpu(self) -> str:
        return cpu_model(self.facts.machine)

    @property
    def last_level_cache(self) -> int:
        return last_level_cache(self.facts.machine)

    @property
    def leader(self) -> str | None:
        """The rung whose epoch took the fewest reads of X among those that no other rung beat in the
        same rounds (their own ratio's interval), so that the words of its lead follow that ratio."""
        unbeaten = [
            r
            for r in self.reads
            if not any(self._against(r, other).verdict == "slower" for other in self.reads if other != r)
        ]
        return min(unbeaten or self.reads, key=lambda r: self.reads[r].ratio.estimate, default=None)

    def _against(self, rung: str, other: str) -> Stated:
        return self.facts.ratios(rung, other, self.size)

    @property
    def level_with_leader(self) -> list[Stated]:
        """Every other rung against the leader in the same rounds, where their ratio's interval
        includes a tie: level with it."""
        lead = self.leader
        out = []
        for rung in (r for r in self.reads if r != lead):
            stated = self._against(rung, lead)
            if stated.verdict == "level":
                out.append(stated)
        return out

    @property
    def leaders(self) -> list[str]:
        lead = self.leader
        return [] if lead is None else [lead, *(s.subject for s in self.level_with_leader)]

    @property
    def runner_up(self) -> Stated | None:
        """The leader against the next rung by reads of X, where no rung is level with it."""
        if self.level_with_leader or len(self.reads) < 2:
            return None
        lead = self.leader
        second = min((r for r in self.reads if r != lead), key=lambda r: self.reads[r].ratio.estimate)
        return self._against(lead, second)


def machine(facts: Facts, label: str, lesson: str) -> Machine:
    size = facts.sizes.big
    reads, probe_gb_s = {}, None
    if size:
        for rung in facts.order:
            stated = facts.ratios.reads(rung, size)
            if stated is not None and rung not in facts.ladder.distributed:
                reads[rung] = stated
        probe = facts.t_epoch(ROOFLINE, size)
        probe_gb_s = None if probe is None else size[0] * size[1] * 8 / probe / 1e9
    return Machine(label, lesson, facts, size, reads, probe_gb_s)


def rungs(machines: list[Machine]) -> list[str]:
    """Every rung any of the runs has, in the first run's order where it has them."""
    names: list[str] = []
    for m in machines:
        names += [r for r in m.facts.order if r not in names]
    return names


#: Probes whose rates differ by more than this share: the machines' memories differ, and the page says so.
PROBES_DIFFER = 0.05


def differences(machines: list[Machine]) -> dict:
    """What differs between the machines, for the page to word: each machine's leader with the ratios
    that make it so (``leaders``: the leader against the next rung, or the rungs level with it), and
    the rungs leading on every machine measured side by side (``common``); the rung whose reads
    of X move most (``moves_most``); the fastest and slowest probe where they differ by more than
    PROBES_DIFFER (``probes``); and the machines not measured side by side."""
    measured = [m for m in machines if m.reads]
    tops = {m.label: set(m.leaders) for m in measured}
    out: dict = {"common": [], "leaders": [], "moves_most": None, "probes": None}
    if measured and set.intersection(*tops.values()):
        out["common"] = sorted(set.intersection(*tops.values()), key=lambda r: rungs(measured).index(r))
    out["leaders"] = [
        {"label": m.label, "leader": m.leader, "next": m.runner_up, "level": m.level_with_leader}
        for m in measured
    ]
    common = [r for r in rungs(measured) if all(r in m.reads for m in measured)]
    spread = {r: [m.reads[r].ratio.estimate for m in measured] for r in common}
    if spread and len(measured) > 1:
        rung = max(spread, key=lambda r: max(spread[r]) / min(spread[r]))
        out["moves_most"] = {"rung": rung, "reads": [(m.label, m.reads[rung]) for m in measured]}
    rates = [m for m in machines if m.probe_gb_s]
    fast = max(rates, key=lambda m: m.probe_gb_s, default=None)
    slow = min(rates, key=lambda m: m.probe_gb_s, default=None)
    if fast and slow and fast.probe_gb_s > (1 + PROBES_DIFFER) * slow.probe_gb_s:
        out["probes"] = {
            "fast": fast.label,
            "fast_gb_s": fast.probe_gb_s,
            "slow": slow.label,
            "slow_gb_s": slow.probe_gb_s,
        }
    out["unmeasured"] = [m.label for m in machines if not m.reads]
    return out
