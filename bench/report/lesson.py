"""The lesson: numbers from facts and tables, words from templates (Jinja2, StrictUndefined).

``templates/lesson.md.j2`` holds the fixed sections; ``templates/rungs/<label>.md.j2`` holds one
step of the ladder per registered rung. A name a template uses that the context lacks fails
loudly; a number this run did not measure is None, and the template prints a labelled gap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import jinja2
import matplotlib.pyplot as plt

from bench.report import beyond, facts, select, tables
from bench.report.charts import CHARTS
from bench.report.fmt import FILTERS, change, machine_rows, ratio, table, versus
from bench.report.load import Results
from bench.schema import ROOFLINE
from impls import BASELINE, DISTRIBUTED, PEERS, PLANNED, REFERENCE
from impls._common import source_digest

TEMPLATES = Path(__file__).with_name("templates")
RUNG_TEMPLATES = TEMPLATES / "rungs"


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # Markdown, not HTML
    )
    env.filters.update(FILTERS)
    env.tests["prefetched_fused"] = lambda name: name.startswith("fused-pf")  # a candidate's name
    return env


def rung_template(name: str) -> Path:
    return RUNG_TEMPLATES / f"{name}.md.j2"


@dataclass
class Gaps:
    """What a template could not say: ``have`` checks the numbers, ``gap`` records and prints the gap."""

    results: Results

    def have(self, *values) -> bool:
        for value in values:
            if isinstance(value, jinja2.Undefined):
                value._fail_with_undefined_error()  # a name the context lacks: fail, never a gap
        return all(value is not None for value in values)

    def gap(self, topic: str) -> str:
        self.results.gaps.append(f"{topic}: not measured in this run")
        return f"_(Not measured in this run: {topic}.)_"


def figure_markdown(figures: dict[str, str]) -> dict[str, str]:
    out = {}
    for key, (caption, _) in CHARTS.items():
        if key in figures:
            out[key] = f"![{caption}]({figures[key]})"
        else:
            out[key] = f"_Chart not drawn: {caption.lower()} was not measured in this run._"
    return out


def _tables(results: Results, rungs: dict) -> dict[str, str]:
    distributed = beyond.beyond(results)
    return {
        "ladder": tables.ladder(results, rungs),
        "crossovers": tables.crossovers(results),
        "memory_limit": tables.memory_limit(results),
        "paired": tables.paired(results),
        "same_rounds": tables.same_rounds(results),
        "tuning": tables.tuning(results),
        "plans": tables.plans(results),
        "instructions": tables.instruction_counts(results),
        "memory": tables.memory(results),
        "passes": tables.epoch_passes(rungs),
        "machine": table(machine_rows(results.machine), ["", ""]),
        "optimum": tables.optimum_table(tables.optimum(results)),
        "distributed_sweep": beyond.sweep_table(distributed) if distributed else "",
        "distributed_blocks": beyond.blocks_table(distributed) if distributed else "",
    }


def _planning(results: Results) -> dict:
    """The planned rung's plans by data class, and the planner's settings the run recorded."""
    return {
        "plan_classes": tables.plan_classes(results),
        "plan_cache_share": results.machine.get("plan_cache_share"),
        "plan_llc_span": results.machine.get("plan_llc_span"),
        "plan_llc_bytes": results.machine.get("last_level_cache_bytes"),
        "plan_prefer_prefetch": results.machine.get("plan_prefer_prefetch"),
        "plan_significance": results.machine.get("plan_significance"),
        "plan_test_rounds": results.machine.get("plan_test_rounds"),
        "plan_blind_rounds": _blind_rounds(results.machine.get("plan_significance")),
        "plan_kept": tables.rule_of_thumb_kept(results),
    }


def _blind_rounds(significance: float | None) -> int | None:
    """The fewest rounds in which a one-sided sign test can reach ``significance`` (its smallest
    p-value over r rounds is 1/2**r)."""
    return math.ceil(-math.log2(significance)) if significance and 0 < significance < 1 else None


def _rounds(results: Results) -> dict:
    """Rounds of the paired benchmarks (most), and of the races ("40", or "12 to 200")."""
    races = sorted({e["race_rounds"] for e in results.head_to_head})
    return {
        "paired_rounds": int(results.paired["rounds"].max()) if not results.paired.empty else None,
        "race_rounds": "" if not races else f"{races[0]}" + (f" to {races[-1]}" if len(races) > 1 else ""),
    }


def context(results: Results, figures: dict[str, str], links: dict[str, str] | None = None) -> dict:
    """Everything the templates may use, computed from the run."""
    gaps = Gaps(results)
    for key, (caption, _) in CHARTS.items():
        if key not in figures:
            results.gaps.append(f"{caption}: not measured in this run")
    rungs = facts.rung_facts(results)
    same, planned_points = tables.rule_of_thumb_plans(results)
    return {
        "run": results,
        "file_name": results.path.name,
        "profile": results.profile,
        "digest_changed": bool(results.source_digest) and results.source_digest != source_digest(),
        "today_digest": source_digest(),
        "sizes": facts.sizes(results),
        "rungs": rungs,
        "steps": [
            f
            for f in rungs.values()
            if f.present
            and f.name not in PEERS
            and f.name not in DISTRIBUTED
            and rung_template(f.name).exists()
        ],
        "peers": [
            f for f in rungs.values() if f.present and f.name in PEERS and rung_template(f.name).exists()
        ],
        "optimum": tables.optimum(results),
        "distributed": beyond.beyond(results),
        "one_process": beyond.ONE_PROCESS,
        "probe": facts.RungFacts(name=ROOFLINE, **_probe(results)),
        "roles": {"baseline": BASELINE, "reference": REFERENCE, "planned": PLANNED},
        "tables": _tables(results, rungs),
        "tuning": select.tuning_entries(results),
        "plans_same_as_estimate": same,
        **_planning(results),
        "planned_points": planned_points,
        "keeping_up": tables.keeping_up(results),
        "hidden": tables.hidden_arithmetic(results),
        "beats_probe": tables.beats_probe(results),
        **_rounds(results),
        "first_fit": _first_fit(results),
        "thread_gains": tables.gains(results, select.axis_size(results, "float64", "one"), *THREADS),
        "dtype_gains": tables.gains(results, select.axis_size(results, "float32", "all"), *DTYPES),
        "compile_costs": tables.compile_costs(results),
        "measuring_s": tables.measuring_seconds(results),
        "memory_size": _memory_size(results),
        "errors": tables.errors(results),
        "findings": tables.findings_text(),
        "demo": facts.numerics_demo(),
        "figures": figure_markdown(figures),
        "links": {"machines": None, "machines_title": None, **(links or {})},
        "have": gaps.have,
        "gap": gaps.gap,
        "versus": versus,
        "change": change,
        "ratio": ratio,
        "rung_count": len(select.rung_order(results)),
    }


def _probe(results: Results) -> dict:
    s = facts.sizes(results)

    def t(size, threads="all"):
        return select.t_epoch(results, ROOFLINE, *size, "float64", threads) if size else None

    return {"t_big": t(s.big), "t_big_one": t(s.big, "one"), "t64": t(s.axis32), "present": True}


THREADS = (("float64", "one"), ("float64", "all"))  # one thread over all: the speedup of all
DTYPES = (("float64", "all"), ("float32", "all"))


def _memory_size(results: Results) -> tuple[int, int] | None:
    mem = results.memory
    return None if mem.empty else (int(mem["m"].iat[0]), int(mem["n"].iat[0]))


def _first_fit(results: Results) -> dict | None:
    warm = results.kind("first_fit")
    if warm.empty:
        return None
    row = warm.iloc[0]
    return {"seconds": float(row["min_s"]), "size": (int(row["m"]), int(row["n"]))}


def render(results: Results, figures: dict[str, str], links: dict[str, str] | None = None) -> str:
    text = environment().get_template("lesson.md.j2").render(context(results, figures, links))
    return text.rstrip("\n") + "\n"


def write_report(results: Results, out: Path, links: dict[str, str] | None = None) -> list[Path]:
    """Write the figures, the CSV and README.md into ``out``; return the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    written, figures = [], {}
    for key, (_, plot) in CHARTS.items():
        fig = plot(results)
        if fig is None:
            continue  # context() records the gap, from the figures that exist
        figures[key] = f"fig_{key}.png"
        fig.savefig(out / figures[key])
        plt.close(fig)
        written.append(out / figures[key])
    csv = out / "results.csv"
    results.table.sort_values(["kind", "rung", "m", "n", "dtype", "threads_setting"]).to_csv(csv, index=False)
    readme = out / "README.md"
    readme.write_text(render(results, figures, links))
    return [*written, csv, readme]
