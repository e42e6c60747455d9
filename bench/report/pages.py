"""The lesson's pages: numbers from facts and tables, words from templates (Jinja2, StrictUndefined).

``templates/lesson.md.j2`` holds the fixed sections; ``templates/rungs/<label>.md.j2`` one step
of the ladder per rung. A name a template uses that the context lacks fails loudly; a number
this run did not measure is None, and the template prints a labelled gap. Everything comes from
the results file: the report imports no code of the ladder and reads no other file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import jinja2
import matplotlib.pyplot as plt

from bench.report import select
from bench.report.charts import CHARTS
from bench.report.charts.machines import plot_machines
from bench.report.facts import beyond, machines, numerics, planner, rungs
from bench.report.fmt import FILTERS, change, cpu_name, machine_rows, ratio, table, versus
from bench.report.load import Results, ResultsError, load
from bench.report.tables import beyond as beyond_tables
from bench.report.tables import machines as machine_tables
from bench.report.tables import planner as planner_tables
from bench.report.tables import rungs as rung_tables

TEMPLATES = Path(__file__).with_name("templates")
RUNG_TEMPLATES = TEMPLATES / "rungs"
#: The investigation's notes, beside the report's package: linked from the lesson, never read.
FINDINGS = Path(__file__).resolve().parents[1] / "FINDINGS.md"


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


def _tables(results: Results, facts: dict) -> dict[str, str]:
    distributed = beyond.beyond(results)
    return {
        "ladder": rung_tables.ladder(results, facts),
        "crossovers": rung_tables.crossovers(results),
        "paired": rung_tables.paired(results),
        "tuning": planner_tables.tuning(results),
        "plans": planner_tables.plans(results),
        "races": planner_tables.races(results),
        "confirmed": planner_tables.confirmed(results),
        "instructions": rung_tables.instruction_counts(results),
        "memory": rung_tables.memory(results),
        "passes": rung_tables.epoch_passes(facts),
        "machine": table(machine_rows(results.machine), ["", ""]),
        "optimum": rung_tables.optimum_table(rungs.optimum(results)),
        "distributed_sweep": beyond_tables.sweep_table(distributed) if distributed else "",
        "distributed_blocks": beyond_tables.blocks_table(distributed) if distributed else "",
    }


#: The planner's settings the templates speak of (None where a run did not record one).
PLANNER_SETTINGS = (
    "candidates",
    "seconds",
    "significance",
    "test_rounds",
    "prefer_prefetch",
    "cache_share",
    "llc_span",
    "confirm_samples",
    "confirm_drop",
    "confirm_margin",
    "confirm_explore_every",
    "confirm_ratios",
    "confirm_min_epoch_s",
    "confirm_turn_s",
    "confirm_slow_every",
    "confirm_against",
    "confirm_stall",
    "confirm_record",
    "confirm_also",
    "confirm_chase_every",
    "confirm_same_rows",
    "confirm_keep",
    "confirm_chase_after",
    "confirm_fresh",
    "confirm_drop_by",
)
THREADS = (("float64", "one"), ("float64", "all"))  # one thread over all: the speedup of all
DTYPES = (("float64", "all"), ("float32", "all"))


def _steps(results: Results, facts: dict) -> dict:
    """The ladder's steps by page: the main page's up to the one-process rung, the rest past NumPy
    (the planned rung has a page of its own), and the peers."""
    ladder = results.ladder
    aside = (*ladder.peers, *ladder.distributed)
    steps = [
        f for f in facts.values() if f.present and f.name not in aside and rung_template(f.name).exists()
    ]
    names = [f.name for f in steps]
    split = names.index(ladder.one_process) + 1 if ladder.one_process in names else len(steps)
    return {
        "main_steps": rungs.teaching_code(steps[:split]),
        "deep_steps": rungs.teaching_code([f for f in steps[split:] if f.name != ladder.planned]),
        "peers": [
            f
            for f in facts.values()
            if f.present and f.name in ladder.peers and rung_template(f.name).exists()
        ],
    }


def _planning(results: Results) -> dict:
    """What the planner page says of the planned rung's plans, races and settings."""
    same, planned_points = planner.rule_of_thumb_plans(results)
    return {
        "planner": {key: results.ladder.planner.get(key) for key in PLANNER_SETTINGS},
        "tuning": planner.tuning_entries(results),
        "plans_same_as_rule_of_thumb": same,
        "planned_points": planned_points,
        "keeping_up": planner.keeping_up(results),
        "measuring_s": planner.measuring_seconds(results),
        **planner.settings(results),
    }


def _sections(results: Results) -> dict:
    """The numbers of the sections past the ladder's steps."""
    return {
        "optimum": rungs.optimum(results),
        "curve": rungs.curve(results),
        "distributed": beyond.beyond(results),
        "fastest_blocks": beyond.fastest_blocks,
        "probe": rungs.probe(results),
        "beats_probe": rungs.beats_probe(results),
        "probe_spread": rungs.probe_spread(results),
        "hidden": rungs.hidden_arithmetic(results, results.ladder.one_process),
        **rungs.rounds(results),
        "first_fit": rungs.first_fit(results),
        "thread_gains": rungs.gains(results, select.axis_size(results, "float64", "one"), *THREADS),
        "dtype_gains": rungs.gains(results, select.axis_size(results, "float32", "all"), *DTYPES),
        "compile_costs": rungs.compile_costs(results),
        "memory_size": rungs.memory_size(results),
        "errors": rungs.errors(results),
        "demo": numerics.numerics_demo(),
    }


def context(
    results: Results, figures: dict[str, str], links: dict[str, str] | None = None, page: str = "README.md"
) -> dict:
    """Everything the templates may use, computed from the run."""
    gaps = Gaps(results)
    if page == "README.md":  # gaps are recorded once, for the whole lesson
        for key, (caption, _) in CHARTS.items():
            if key not in figures:
                results.gaps.append(f"{caption}: not measured in this run")
    facts = rungs.rung_facts(results)
    ladder = results.ladder
    return {
        "run": results,
        "file_name": results.path.name,
        "profile": results.profile,
        "code_recorded": ladder.code_recorded,
        "cpu": f"{cpu_name(results.machine)} ({results.machine.get('cpu_count', '?')} cores)",
        "sizes": rungs.sizes(results),
        "rungs": facts,
        **_steps(results, facts),
        "one_process": ladder.one_process,
        "roles": {"baseline": ladder.baseline, "reference": ladder.reference, "planned": ladder.planned},
        "tables": _tables(results, facts),
        **_planning(results),
        **_sections(results),
        "figures": figure_markdown(figures),
        "links": {"machines": None, "machines_title": None, "findings": None, "large": None, **(links or {})},
        "pages": {name.removesuffix(".md").replace("-", "_"): name for name in PAGES},
        "page": page,
        "have": gaps.have,
        "gap": gaps.gap,
        "versus": versus,
        "change": change,
        "ratio": ratio,
        "rung_count": len(select.rung_order(results)),
        "redo_env": redo_env(results),
    }


def redo_env(results: Results) -> str:
    """The tox environment that redoes this run: its profile, with PyTorch and JAX where it timed them."""
    if results.profile.get("name") == "large":
        return "report-large"
    timed = set(select.rung_order(results))
    return "report-peers" if timed & set(results.ladder.peers) else "report"


#: The lesson's pages: the main page for a learner, and pages of depth it links.
PAGES = {
    "README.md": "main.md.j2",
    "past-numpy.md": "past_numpy.md.j2",
    "planner.md": "planner.md.j2",
    "beyond.md": "beyond.md.j2",
    "methods.md": "methods.md.j2",  # last: it lists what every page could not say
}


def render(results: Results, figures: dict[str, str], links: dict[str, str] | None = None) -> dict[str, str]:
    """Every page of the lesson: file name → Markdown."""
    env = environment()
    out = {}
    for name, template in PAGES.items():
        text = env.get_template(template).render(context(results, figures, links, page=name))
        out[name] = text.rstrip("\n") + "\n"
    return out


def links_from(out: Path, machines: Path | None, back: bool = False) -> dict[str, str]:
    """The lesson's links from its folder ``out``: the machines page, the investigation's notes, and
    a lesson of the large profile beside it (``out/large``), where there is one."""
    links = {"findings": Path(os.path.relpath(FINDINGS, out.absolute())).as_posix()}
    if (out / "large" / "results.json").is_file():
        links["large"] = "large/README.md"
    if back:
        links |= {"machines": "../README.md", "machines_title": "the machines compared"}
    elif machines:
        links |= {
            "machines": Path(os.path.relpath(machines.absolute() / "README.md", out.absolute())).as_posix(),
            "machines_title": "the machines compared",
        }
    return links


def write_report(results: Results, out: Path, links: dict[str, str] | None = None) -> list[Path]:
    """Write the figures, the CSV and every page into ``out``; return the paths written."""
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
    written.append(csv)
    for name, text in render(results, figures, links).items():
        (out / name).write_text(text)
        written.append(out / name)
    return written


# --- the machines page ------------------------------------------------------------------------


def load_machines(folder: Path) -> list[Results]:
    """Every ``<machine>/results.json`` below ``folder``, by folder name."""
    if not folder.is_dir():
        raise ResultsError(f"machines folder {folder} does not exist or is not a folder")
    runs = [load(path) for path in sorted(folder.glob("*/results.json"))]
    if not runs:
        raise ResultsError(f"machines folder {folder} holds no <machine>/results.json")
    return runs


def render_machines(compared: list[machines.Machine], chart: bool) -> str:
    page = (
        environment()
        .get_template("machines.md.j2")
        .render(
            machines=compared,
            overview=machine_tables.overview(compared),
            shares=machine_tables.shares(compared),
            differences=machines.differences(compared),
            chart=chart,
            reference=compared[0].results.ladder.reference,
        )
    )
    return page.rstrip("\n") + "\n"


def write_machines(
    main: Results, others: list[Results], lesson: str, folder: Path, final: Path
) -> list[Path]:
    """Each other machine's lesson in its folder, then ``folder/README.md`` comparing all of them.

    ``lesson`` is the main lesson's link from the page; ``final`` is where ``folder`` will be once
    written (links are computed from there).
    """
    written = []
    for run in others:
        name = run.path.parent.name
        written += write_report(run, folder / name, links_from(final / name, None, back=True))
    compared = [machines.machine(main, "this run", lesson)]
    compared += [
        machines.machine(run, run.path.parent.name, f"{run.path.parent.name}/README.md") for run in others
    ]
    fig = plot_machines(compared)
    folder.mkdir(parents=True, exist_ok=True)
    if fig is not None:
        fig.savefig(folder / "fig_machines.png")
        plt.close(fig)
        written.append(folder / "fig_machines.png")
    (folder / "README.md").write_text(render_machines(compared, fig is not None))
    return [*written, folder / "README.md"]
