"""Machines side by side: each run's shares of its own roofline, and what differs between them.

A share here is the side-by-side one, as on every page: the median over pairs of the probe's read
and one epoch timed back to back. Where the leaders' middle halves of pairs overlap, they are level.
Rungs on a cluster are left out: their probe ran beside the cluster's threads, which changes what
the probe measures.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

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
    size: tuple[int, int] | None  # where its shares are taken: the reference rung's largest size
    shares: dict[str, float]  # rung → median over side-by-side pairs of probe time ÷ epoch time
    spreads: dict[str, tuple[float, float]]  # rung → the middle half of those pairs
    probe_gb_s: float | None

    @property
    def cpu(self) -> str:
        return cpu_model(self.facts.machine)

    @property
    def last_level_cache(self) -> int:
        return last_level_cache(self.facts.machine)

    @property
    def leaders(self) -> list[str]:
        """The rung with the highest share, and every rung whose middle half reaches its median: level."""
        if not self.shares:
            return []
        best = max(self.shares, key=self.shares.get)
        level = [r for r in self.shares if r != best and self.spreads[r][1] >= self.shares[best]]
        return [best, *sorted(level, key=lambda r: -self.shares[r])]


def machine(facts: Facts, label: str, lesson: str) -> Machine:
    size = facts.sizes.big
    shares, spreads, probe_gb_s = {}, {}, None
    if size:
        p = facts.paired
        here = p[(p["m"] == size[0]) & (p["n"] == size[1]) & (p["dtype"] == "float64")]
        for row in here[here["threads_setting"] == "all"].itertuples():
            if row.rung in facts.ladder.distributed:
                continue
            shares[row.rung] = float(row.share_median)
            spreads[row.rung] = (float(row.share_q25), float(row.share_q75))
        probe = facts.t_epoch(ROOFLINE, size)
        probe_gb_s = None if probe is None else size[0] * size[1] * 8 / probe / 1e9
    order = [r for r in facts.order if r in shares]
    return Machine(label, lesson, facts, size, {r: shares[r] for r in order}, spreads, probe_gb_s)


def rungs(machines: list[Machine]) -> list[str]:
    """Every rung any of the runs has, in the first run's order where it has them."""
    names: list[str] = []
    for m in machines:
        names += [r for r in m.facts.order if r not in names]
    return names


#: Probes whose rates differ by more than this share: the machines' memories differ, and the page says so.
PROBES_DIFFER = 0.05


def differences(machines: list[Machine]) -> dict:
    """What differs between the machines, for the page to word: the rungs leading on every machine
    measured side by side (``common``), else each machine's leaders with their shares (``leaders``);
    the rung whose share moves most (``moves_most``); the fastest and slowest probe where they differ
    by more than PROBES_DIFFER (``probes``); and the machines not measured side by side."""
    measured = [m for m in machines if m.shares]
    tops = {m.label: set(m.leaders) for m in measured}
    out: dict = {"common": [], "leaders": [], "moves_most": None, "probes": None}
    if measured and set.intersection(*tops.values()):
        out["common"] = sorted(set.intersection(*tops.values()), key=lambda r: rungs(measured).index(r))
    elif measured:
        out["leaders"] = [(m.label, [(r, m.shares[r]) for r in m.leaders]) for m in measured]
    common = [r for r in rungs(measured) if all(r in m.shares for m in measured)]
    spread = {r: [m.shares[r] for m in measured] for r in common}
    if spread and len(measured) > 1:
        rung = max(spread, key=lambda r: max(spread[r]) - min(spread[r]))
        out["moves_most"] = {"rung": rung, "shares": [(m.label, m.shares[rung]) for m in measured]}
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
    out["unmeasured"] = [m.label for m in machines if not m.shares]
    return out
