"""Machines side by side: each machine's lesson, and one page comparing them, in words from the data."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from bench.report import select
from bench.report.charts import OKABE_ITO, legend, new_figure
from bench.report.fmt import fmt_bytes, fmt_pct, fmt_size, fmt_x, ratio, table
from bench.report.lesson import environment, write_report
from bench.report.load import Results, ResultsError, load
from bench.schema import ROOFLINE
from impls import REFERENCE


def load_machines(folder: Path) -> list[Results]:
    """Every ``<machine>/results.json`` below ``folder``, by folder name."""
    if not folder.is_dir():
        raise ResultsError(f"machines folder {folder} does not exist or is not a folder")
    runs = [load(path) for path in sorted(folder.glob("*/results.json"))]
    if not runs:
        raise ResultsError(f"machines folder {folder} holds no <machine>/results.json")
    return runs


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


def _rungs(machines: list[Machine]) -> list[str]:
    names: list[str] = []
    for m in machines:
        names += [r for r in select.rung_order(m.results) if r not in names]
    return names


def overview_rows(machines: list[Machine]) -> list[list[str]]:
    rows = [
        ["CPU", *[cpu_model(m.results) for m in machines]],
        ["cores", *[str(m.results.machine.get("cpu_count", "?")) for m in machines]],
        ["last-level cache", *[fmt_bytes(select.last_level_cache(m.results.machine)) for m in machines]],
        ["run of", *[m.results.datetime[:10] for m in machines]],
        ["ladder source digest", *[f"`{m.results.source_digest}`" for m in machines]],
        ["size compared", *[fmt_size(m.size) if m.size else "n/a" for m in machines]],
        ["probe reads X at", *[f"{m.probe_gb_s:.1f} GB/s" if m.probe_gb_s else "n/a" for m in machines]],
    ]
    return rows


def share_rows(machines: list[Machine]) -> list[list[str]]:
    """Each rung's share of the roofline and speedup over the reference rung, per machine."""
    rows = []
    for rung in _rungs(machines):
        cells = []
        for m in machines:
            share, base = m.shares.get(rung), m.shares.get(REFERENCE)
            cells.append("—" if share is None else f"{fmt_pct(share)} ({fmt_x(ratio(share, base))})")
        rows.append([f"`{rung}`", *cells])
    return rows


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
    common = [r for r in _rungs(machines) if all(r in m.shares for m in machines)]
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


def plot_machines(machines: list[Machine]):
    """Grouped bars: each rung's share of its machine's roofline, one bar per machine."""
    rungs = [r for r in _rungs(machines) if any(r in m.shares for m in machines)]
    if not rungs:
        return None
    footer = " · ".join(f"{m.label}: {cpu_model(m.results)}" for m in machines)
    fig, ax = new_figure(
        footer, "Share of the roofline at each machine's largest size (float64)", "", "share of the probe"
    )
    width = 0.8 / len(machines)
    for k, m in enumerate(machines):
        xs = np.arange(len(rungs)) + (k - (len(machines) - 1) / 2) * width
        values = [m.shares.get(r, 0.0) for r in rungs]
        ax.bar(xs, values, width, color=OKABE_ITO[k % len(OKABE_ITO)], label=m.label)
    ax.set_xticks(np.arange(len(rungs)), rungs, rotation=30, ha="right")
    fig.subplots_adjust(bottom=0.3)
    legend(ax)
    return fig


def write_machines(main: Results, others: list[Results], out: Path, folder: Path) -> list[Path]:
    """Each other machine's lesson in its folder, then ``folder/README.md`` comparing all of them."""
    written = []
    back = {"machines": "../README.md", "machines_title": "the machines compared"}
    for run in others:
        written += write_report(run, folder / run.path.parent.name, back)
    machines = [machine(main, "this run", Path(os.path.relpath(out / "README.md", folder)).as_posix())]
    machines += [machine(run, run.path.parent.name, f"{run.path.parent.name}/README.md") for run in others]
    fig = plot_machines(machines)
    folder.mkdir(parents=True, exist_ok=True)
    if fig is not None:
        fig.savefig(folder / "fig_machines.png")
        plt.close(fig)
        written.append(folder / "fig_machines.png")
    page = (
        environment()
        .get_template("machines.md.j2")
        .render(
            machines=machines,
            overview=table(overview_rows(machines), ["", *[m.label for m in machines]]),
            shares=table(share_rows(machines), ["rung", *[m.label for m in machines]]),
            differences=differences(machines),
            chart=fig is not None,
            reference=REFERENCE,
        )
    )
    (folder / "README.md").write_text(page.rstrip("\n") + "\n")
    return [*written, folder / "README.md"]
