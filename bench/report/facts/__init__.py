"""What the lesson states, computed once from one run: numbers, verdicts and gaps, no Markdown.

``build(results)`` is the one place that reads a loaded run; it returns a frozen :class:`Facts`
that the tables, the charts and the templates read and never change. One module per section
family computes its part: ``rungs`` (the ladder's speeds), ``probe`` (the bare read of X),
``optimum`` (the ways to a trained model), ``planner`` (the planned rung's plans and races),
``beyond`` (the cluster), ``machines`` (runs side by side), ``numerics``; ``select`` holds the
queries they share. Every ratio of two rungs, or of a rung and the probe, is the one ``ratios``
keeps for the pair at its point, from the side-by-side rounds (``compare`` names them by a rung's
slots). A fact the run did not measure is None; ``claims`` says which statements of the lesson
that leaves unmeasured (its gaps), so the pages only word what the facts decided.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import pandas as pd

from bench.report.facts import beyond, claims, numerics, optimum, planner, probe, rungs, select
from bench.report.facts.beyond import Beyond
from bench.report.facts.ratios import Ratios
from bench.report.facts.rungs import RungFacts, Sizes
from bench.results.ladder import Ladder
from bench.results.load import Results

THREADS = (("float64", "one"), ("float64", "all"))  # one thread, then all
DTYPES = (("float64", "all"), ("float32", "all"))  # float64, then float32

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
    ratios: Ratios  # every side-by-side ratio the lesson states, by pair and point, made once
    m_sweep: pd.DataFrame
    n_sweep: pd.DataFrame
    jit: pd.DataFrame
    memory: pd.DataFrame
    break_even: Mapping  # JIT rung -> epochs to repay its compilation, by m
    crossovers: tuple  # (rung, [(m, its ratio with the reference)]) over the m sweep
    instructions: tuple  # (rung, packed, scalar) floating-point instructions per epoch
    planned_points: tuple  # every point of the planned rung, with the fastest other rung there
    tuning: tuple  # the tuning records, largest size first
    races: tuple  # the planned rung's races against the ladder, with their verdicts
    plans: tuple
    curves: tuple
    # The numbers of each section.
    rungs: Mapping  # name -> RungFacts
    probe: RungFacts
    distributed: Beyond | None
    sections: Mapping
    planning: Mapping
    claims: Mapping  # key -> Claim: what the sections state, measured or not (each step's: RungFacts.claims)
    # other workloads' records, whole, by workload: their pages read them (bench/workloads)
    workloads: Mapping

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


def _sections(
    results: Results, ratios: Ratios, distributed: Beyond | None, s: Sizes, probe_facts: RungFacts, costs
) -> dict:
    """The numbers of the sections past the ladder's steps."""
    ladder = results.ladder
    order = select.rung_order(results)
    threads = rungs.settings(ratios, order, s.axis_one, *THREADS)
    dtypes = rungs.settings(ratios, order, s.axis32, *DTYPES)
    curve = optimum.curve(results, ratios)
    return {
        "ns_per_mac": rungs.ns_per_multiply_add(results),
        "optimum": optimum.optimum(results),
        "curve": curve,
        "first_run": optimum.first_run(ladder, costs, curve),
        "distributed": distributed,
        "probe": probe_facts,
        "below_one_read": probe.below_one_read(results, ratios),
        "side_design": ratios.design(),
        "slower_points": select.slower_points(results, ratios, ladder.one_process),
        "hidden": probe.hidden_arithmetic(results, ratios, ladder.one_process),
        "first_fit": optimum.first_fit(results),
        "threads": threads,
        "probe_times": probe.times(results, s),
        "threads_reading": rungs.thread_reading(threads, ladder.reference),
        "dtypes": dtypes,
        "dtype_beyond_bytes": rungs.beyond_the_bytes(dtypes),
        "compile_costs": costs,
        "memory_size": rungs.memory_size(results),
        "errors": rungs.errors(results),
        "demo": numerics.numerics_demo(),
    }


def _planning(results: Results, races: list[dict]) -> dict:
    """What the planner page says of the planned rung's plans, races and settings."""
    same, planned_points = planner.rule_of_thumb_plans(results)
    return {
        "tuning": planner.tuning_entries(results),
        "plans_same_as_rule_of_thumb": same,
        "planned_points": planned_points,
        "keeping_up": planner.keeping_up(races),
        "measuring_s": planner.measuring_seconds(results),
        **planner.settings(results),
    }


def _frozen(mapping: dict) -> Mapping:
    return MappingProxyType(mapping)


def build(results: Results) -> Facts:
    """The facts of one loaded run: every number, selection, verdict and gap the lesson uses."""
    BUILDS["count"] += 1
    s = rungs.sizes(results)
    distributed = beyond.beyond(results)
    order = tuple(select.rung_order(results))
    ratios = Ratios(results.head_to_head, results.ladder.order)
    costs, probe_facts = rungs.compile_costs(results, ratios), probe.probe(results)
    compile_s = {c["rung"]: c["seconds"] for c in costs}
    by_rung, races = rungs.rung_facts(results, ratios), planner.race_results(results, ratios)
    claims.steps(results.ladder, by_rung, probe_facts)
    sections = _sections(results, ratios, distributed, s, probe_facts, costs)
    planning = _planning(results, races)
    traced = any(r in set(results.memory["rung"]) for r in order)
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
        ratios=ratios,
        m_sweep=select.m_sweep(results),
        n_sweep=select.n_sweep(results),
        jit=results.jit,
        memory=results.memory,
        break_even=_frozen(
            {r: select.break_even_epochs(results, ratios, r, t) for r, t in compile_s.items()}
        ),
        crossovers=tuple(select.crossovers(results, ratios)),
        instructions=tuple(rungs.instruction_counts(results)),
        planned_points=tuple(planner.points(results, races)),
        tuning=tuple(planning["tuning"]),
        races=tuple(races),
        plans=tuple(planner.plans(results)),
        curves=tuple(results.curves),
        rungs=_frozen(by_rung),
        probe=probe_facts,
        distributed=distributed,
        sections=_frozen(sections),
        planning=_frozen(planning),
        claims=_frozen(
            claims.sections(results.ladder, by_rung, s, {**sections, **planning, "memory_traced": traced})
        ),
        workloads=_frozen({name: tuple(records) for name, records in results.workloads.items()}),
    )
