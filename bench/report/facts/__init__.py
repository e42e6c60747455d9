"""What the lesson states, computed once from one run: numbers and verdicts, no Markdown.

``build(results)`` is the one place that reads a loaded run; it returns a frozen :class:`Facts`
that the tables, the charts and the templates read and never change. One module per section
family computes its part: ``rungs`` (the ladder's speeds), ``planner`` (the planned rung's plans
and races), ``beyond`` (the cluster), ``machines`` (runs side by side), ``numerics``; ``select``
holds the queries they share. A fact the run did not measure is None; the templates then print
a labelled gap.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import pandas as pd

from bench.report.facts import beyond, numerics, planner, rungs, select
from bench.report.facts.beyond import Beyond
from bench.report.facts.rungs import RungFacts, Sizes
from bench.results.ladder import Ladder
from bench.results.load import Results

THREADS = (("float64", "one"), ("float64", "all"))  # one thread over all: the speedup of all
DTYPES = (("float64", "all"), ("float32", "all"))

#: Counts how many times a run's facts were built (a lesson builds them once per results file).
BUILDS = {"count": 0}


@dataclass(frozen=True)
class Facts:
    """Everything a lesson says of one run. Built once by :func:`build`; nothing writes to it after."""

    # The run: where it came from, the machine, the ladder it timed, what failed or did not run.
    path: Path
    datetime: str
    machine: Mapping
    ladder: Ladder
    failures: tuple[tuple[str, str], ...]
    partial: tuple[str, ...]
    table: pd.DataFrame  # one row per benchmark: the CSV beside the lesson
    # The selections the tables and charts draw from.
    order: tuple[str, ...]  # the rungs the run timed, in the ladder's order
    sizes: Sizes
    times: Mapping  # (rung, m, n, dtype, threads) -> seconds per epoch, best round
    m_sweep: pd.DataFrame
    n_sweep: pd.DataFrame
    paired: pd.DataFrame
    jit: pd.DataFrame
    memory: pd.DataFrame
    against_reference: Mapping  # rung -> (reference's, rung's) epochs over the m sweep, by m
    break_even: Mapping  # JIT rung -> epochs to repay its compilation, by m
    crossovers: tuple
    instructions: tuple  # (rung, packed, scalar) floating-point instructions per epoch
    planned_points: tuple  # every point of the planned rung, with the fastest other rung there
    tuning: tuple  # the tuning records, largest size first
    head_to_head: tuple
    plans: tuple
    curves: tuple
    # The numbers of each section.
    rungs: Mapping  # name -> RungFacts
    probe: RungFacts
    distributed: Beyond | None
    sections: Mapping
    planning: Mapping

    @property
    def profile(self) -> Mapping:
        return self.machine.get("bench_profile") or {}

    @property
    def source_digest(self) -> str | None:
        return self.machine.get("impls_source_digest")

    @property
    def version(self) -> int:
        return self.ladder.version

    def t_epoch(self, rung: str, size, dtype: str = "float64", threads: str = "all") -> float | None:
        """Seconds per epoch of one benchmark (best round), None if not measured."""
        return None if size is None else self.times.get((rung, *size, dtype, threads))


def _times(results: Results) -> dict:
    d = results.descent
    rows = zip(
        d["rung"], d["m"], d["n"], d["dtype"], d["threads_setting"], d["time_per_epoch_s"], strict=True
    )
    out: dict = {}
    for rung, m, n, dtype, threads, best in rows:
        out.setdefault((rung, int(m), int(n), dtype, threads), float(best))
    return out


def _sections(results: Results, distributed: Beyond | None, s: Sizes, probe: RungFacts, costs) -> dict:
    """The numbers of the sections past the ladder's steps."""
    return {
        "ns_per_mac": rungs.ns_per_multiply_add(results),
        "optimum": rungs.optimum(results),
        "curve": rungs.curve(results),
        "distributed": distributed,
        "fastest_blocks": beyond.fastest_blocks,
        "probe": probe,
        "beats_probe": rungs.beats_probe(results),
        "probe_spread": rungs.probe_spread(results),
        "probe_order": rungs.probe_order(results),
        "slower_points": select.slower_points(results, results.ladder.one_process),
        "hidden": rungs.hidden_arithmetic(results, results.ladder.one_process),
        **rungs.rounds(results),
        "first_fit": rungs.first_fit(results),
        "thread_gains": rungs.gains(results, s.axis_one, *THREADS),
        "dtype_gains": rungs.gains(results, s.axis32, *DTYPES),
        "compile_costs": costs,
        "memory_size": rungs.memory_size(results),
        "errors": rungs.errors(results),
        "demo": numerics.numerics_demo(),
    }


def _planning(results: Results) -> dict:
    """What the planner page says of the planned rung's plans, races and settings."""
    same, planned_points = planner.rule_of_thumb_plans(results)
    return {
        "tuning": planner.tuning_entries(results),
        "plans_same_as_rule_of_thumb": same,
        "planned_points": planned_points,
        "keeping_up": planner.keeping_up(results),
        "measuring_s": planner.measuring_seconds(results),
        **planner.settings(results),
    }


def _frozen(mapping: dict) -> Mapping:
    return MappingProxyType(mapping)


def build(results: Results) -> Facts:
    """The facts of one loaded run: every number, selection and verdict the lesson uses."""
    BUILDS["count"] += 1
    s = rungs.sizes(results)
    distributed = beyond.beyond(results)
    order = tuple(select.rung_order(results))
    costs, probe = rungs.compile_costs(results), rungs.probe(results)
    compile_s = {c["rung"]: c["seconds"] for c in costs}
    return Facts(
        path=results.path,
        datetime=results.datetime,
        machine=_frozen(results.machine),
        ladder=results.ladder,
        failures=tuple(results.failures),
        partial=tuple(results.partial),
        table=results.table,
        order=order,
        sizes=s,
        times=_frozen(_times(results)),
        m_sweep=select.m_sweep(results),
        n_sweep=select.n_sweep(results),
        paired=results.paired,
        jit=results.jit,
        memory=results.memory,
        against_reference=_frozen({r: select.against_reference(results, r) for r in order}),
        break_even=_frozen({r: select.break_even_epochs(results, r, t) for r, t in compile_s.items()}),
        crossovers=tuple(select.crossovers(results)),
        instructions=tuple(rungs.instruction_counts(results)),
        planned_points=tuple(planner.points(results)),
        tuning=tuple(planner.tuning_entries(results)),
        head_to_head=tuple(results.head_to_head),
        plans=tuple(results.plans),
        curves=tuple(results.curves),
        rungs=_frozen(rungs.rung_facts(results)),
        probe=probe,
        distributed=distributed,
        sections=_frozen(_sections(results, distributed, s, probe, costs)),
        planning=_frozen(_planning(results)),
    )
