"""Machines side by side: each run's shares of its own roofline, and what differs, in words from the data.

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
from bench.report.fmt import fmt_pct
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


def _leaders(m: Machine) -> str:
    first, *level = m.leaders
    text = f"`{first}` ({fmt_pct(m.shares[first])})"
    return text + (
        " level with " + ", ".join(f"`{r}` ({fmt_pct(m.shares[r])})" for r in level) if level else ""
    )


def differences(machines: list[Machine]) -> list[str]:
    """What differs between the machines, as sentences chosen from the data."""
    out = []
    measured = [m for m in machines if m.shares]
    tops = {m.label: set(m.leaders) for m in measured}
    if measured and set.intersection(*tops.values()):
        common = sorted(set.intersection(*tops.values()), key=lambda r: rungs(measured).index(r))
        out.append(
            "Leading on every machine measured side by side: " + ", ".join(f"`{r}`" for r in common) + "."
        )
    elif measured:
        listed = "; ".join(f"on {m.label}, {_leaders(m)}" for m in measured)
        out.append(f"The leading rung is not the same everywhere: {listed}.")
    common = [r for r in rungs(measured) if all(r in m.shares for m in measured)]
    spread = {r: [m.shares[r] for m in measured] for r in common}
    if spread and len(measured) > 1:
        rung = max(spread, key=lambda r: max(spread[r]) - min(spread[r]))
        listed = ", ".join(f"{fmt_pct(m.shares[rung])} on {m.label}" for m in measured)
        out.append(f"The share that moves most between machines is `{rung}`'s: {listed}.")
    rates = [m for m in machines if m.probe_gb_s]
    fast = max(rates, key=lambda m: m.probe_gb_s, default=None)
    slow = min(rates, key=lambda m: m.probe_gb_s, default=None)
    if fast and slow and fast.probe_gb_s > 1.05 * slow.probe_gb_s:
        out.append(
            f"The probe read X at {fast.probe_gb_s:.1f} GB/s on {fast.label} and {slow.probe_gb_s:.1f} GB/s on "
            f"{slow.label}: a share of each machine's own roofline takes that difference out, as far as a kernel "
            "keeps pace with its memory (where the memory's rate changes from minute to minute, as on some "
            "of these machines, the shares move with it)."
        )
    unmeasured = [m.label for m in machines if not m.shares]
    if unmeasured:
        out.append(f"Not measured side by side (an earlier version of the suite): {', '.join(unmeasured)}.")
    return out
