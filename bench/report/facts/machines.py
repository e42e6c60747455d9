"""Machines side by side: each run's shares of its own roofline, and what differs, in words from the data."""

from __future__ import annotations

from dataclasses import dataclass

from bench.report import select
from bench.report.fmt import fmt_pct, ratio
from bench.report.load import Results
from bench.schema import ROOFLINE


def cpu_model(results: Results) -> str:
    cpu = results.machine.get("cpu") or {}
    brand = cpu.get("brand_raw") or results.machine.get("processor") or "unknown CPU"
    if "family" in cpu and "model" in cpu:
        brand += f", family {cpu['family']}, model {cpu['model']}"
    return brand


@dataclass
class Machine:
    """One run, as the comparison sees it."""

    label: str  # the folder's name, or "this run"
    lesson: str  # link to its lesson, relative to the comparison page
    results: Results
    size: tuple[int, int] | None  # where its shares are taken: the reference rung's largest size
    shares: dict[str, float]  # rung → probe time ÷ rung time there
    probe_gb_s: float | None

    @property
    def fastest(self) -> str | None:
        return max(self.shares, key=self.shares.get) if self.shares else None


def machine(results: Results, label: str, lesson: str) -> Machine:
    size = select.big_size(results)
    shares, probe_gb_s = {}, None
    if size:
        probe = select.t_epoch(results, ROOFLINE, *size)
        for rung in select.rung_order(results):
            share = ratio(probe, select.t_epoch(results, rung, *size))
            if share is not None:
                shares[rung] = share
        probe_gb_s = None if probe is None else size[0] * size[1] * 8 / probe / 1e9
    return Machine(label, lesson, results, size, shares, probe_gb_s)


def rungs(machines: list[Machine]) -> list[str]:
    """Every rung any of the runs has, in the first run's order where it has them."""
    names: list[str] = []
    for m in machines:
        names += [r for r in select.rung_order(m.results) if r not in names]
    return names


def differences(machines: list[Machine]) -> list[str]:
    """What differs between the machines, as sentences chosen from the data."""
    out = []
    tops = {m.label: m.fastest for m in machines if m.fastest}
    if len(set(tops.values())) > 1:
        listed = "; ".join(
            f"on {m.label}, `{m.fastest}` ({fmt_pct(m.shares[m.fastest])})" for m in machines if m.fastest
        )
        out.append(f"The fastest rung is not the same everywhere: {listed}.")
    elif tops:
        rung = next(iter(tops.values()))
        out.append(f"`{rung}` is the fastest rung on every machine here.")
    common = [r for r in rungs(machines) if all(r in m.shares for m in machines)]
    orders = {m.label: sorted(common, key=lambda r, m=m: -m.shares[r]) for m in machines}
    if len({tuple(o) for o in orders.values()}) > 1:
        listed = "; ".join(
            f"{label}: " + " > ".join(f"`{r}`" for r in order) for label, order in orders.items()
        )
        out.append(f"The rungs every run has rank differently by share of the roofline — {listed}.")
    spread = {r: [m.shares[r] for m in machines] for r in common}
    if spread and len(machines) > 1:
        rung = max(spread, key=lambda r: max(spread[r]) - min(spread[r]))
        listed = ", ".join(f"{fmt_pct(m.shares[rung])} on {m.label}" for m in machines)
        out.append(f"The share that moves most between machines is `{rung}`'s: {listed}.")
    rates = [m for m in machines if m.probe_gb_s]
    fast = max(rates, key=lambda m: m.probe_gb_s, default=None)
    slow = min(rates, key=lambda m: m.probe_gb_s, default=None)
    if fast and slow and fast.probe_gb_s > 1.05 * slow.probe_gb_s:
        out.append(
            f"The probe read X at {fast.probe_gb_s:.1f} GB/s on {fast.label} and {slow.probe_gb_s:.1f} GB/s on "
            f"{slow.label}: shares of each machine's own roofline compare the code, not the memory."
        )
    return out
