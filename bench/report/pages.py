"""The lesson's pages: numbers from the run's facts and tables, words from templates (Jinja2, StrictUndefined).

``templates/<page>.md.j2`` holds each page (``PAGES``); ``templates/rungs/<label>.md.j2`` one step
of the ladder per rung. Every template reads one context made once from the run's facts; none
writes back. A name a template uses that the context lacks fails loudly; a claim the facts found
unmeasured the template words as a labelled gap. The facts decided every gap before any page is
rendered, so each page is rendered once, in any order, and the methods page lists them all.
Everything comes from the results file: the report imports no code of the ladder and reads no
other file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

import jinja2
import matplotlib.pyplot as plt

from bench.report import glossary
from bench.report.charts import CHARTS
from bench.report.charts.machines import plot_machines
from bench.report.code import teaching_code
from bench.report.facts import Facts, machines
from bench.report.facts.claims import Claim
from bench.report.fmt import FILTERS, cpu_name, machine_rows, table
from bench.report.tables import beyond as beyond_tables
from bench.report.tables import machines as machine_tables
from bench.report.tables import planner as planner_tables
from bench.report.tables import rungs as rung_tables
from bench.workloads import discover

#: Other machines' runs, each with its label (its folder's name).
Others = tuple[tuple[str, Facts], ...] | list[tuple[str, Facts]]

TEMPLATES = Path(__file__).with_name("templates")
RUNG_TEMPLATES = TEMPLATES / "rungs"
#: The investigation's notes, beside the report's package: linked from the lesson, never read.
FINDINGS = Path(__file__).resolve().parents[1] / "FINDINGS.md"


class WrappedLoader(jinja2.FileSystemLoader):
    """Templates whose long lines are wrapped: a line ending in a backslash goes on on the next one
    (the backslash and the line break dropped), so a paragraph of Markdown stays one line."""

    def get_source(self, environment, template):
        source, filename, uptodate = super().get_source(environment, template)
        return source.replace("\\\n", ""), filename, uptodate


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=WrappedLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # Markdown, not HTML
    )
    env.filters.update(FILTERS)
    env.tests["prefetched_fused"] = lambda name: name.startswith("fused-pf")  # a candidate's name
    env.tests["defining"] = lambda block, name: f"def {name}(" in block  # a block of source
    return env


def rung_template(name: str) -> Path:
    return RUNG_TEMPLATES / f"{name}.md.j2"


@dataclass
class Gaps:
    """What the pages cannot say: ``have`` checks the numbers of an optional sentence, ``gap`` words a
    claim the facts found unmeasured, one of the lesson's gaps (``known``, decided before rendering)."""

    known: tuple[str, ...] = ()

    def have(self, *values) -> bool:
        for value in values:
            if isinstance(value, jinja2.Undefined):
                value._fail_with_undefined_error()  # a name the context lacks: fail, never a gap
        return all(value is not None for value in values)

    def gap(self, claim: Claim) -> str:
        if isinstance(claim, jinja2.Undefined):
            claim._fail_with_undefined_error()
        if claim or claim.gap.lower() not in {known.lower() for known in self.known}:
            raise ValueError(f"a page calls {claim.topic!r} a gap, which the lesson's gaps do not list")
        return f"_(Not measured in this run: {claim.topic}.)_"


def figure_markdown(figures: dict[str, str]) -> dict[str, str]:
    out = {}
    for key, (caption, _) in CHARTS.items():
        if key in figures:
            out[key] = f"![{caption}]({figures[key]})"
        else:
            out[key] = f"_Chart not drawn: {caption.lower()} was not measured in this run._"
    return out


def _tables(facts: Facts) -> dict[str, str]:
    distributed = facts.distributed
    return {
        "ladder": rung_tables.ladder(facts),
        "crossovers": rung_tables.crossovers(facts),
        "side_by_side": rung_tables.side_by_side(facts),
        "threads": rung_tables.settings(facts.sections["threads"], "one thread", "all threads"),
        "dtypes": rung_tables.settings(facts.sections["dtypes"], "float64", "float32"),
        "tuning": planner_tables.tuning(facts),
        "plans": planner_tables.plans(facts),
        "races": planner_tables.races(facts),
        "confirmed": planner_tables.confirmed(facts),
        "planner_settings": planner_tables.settings(facts),
        "instructions": rung_tables.instruction_counts(facts),
        "memory": rung_tables.memory(facts),
        "passes": rung_tables.epoch_passes(facts.rungs),
        "machine": table(machine_rows(facts.machine), ["", ""]),
        "optimum": rung_tables.optimum_table(facts.sections["optimum"]),
        "distributed_sweep": beyond_tables.sweep_table(distributed) if distributed else "",
        "distributed_blocks": beyond_tables.blocks_table(distributed) if distributed else "",
    }


def _steps(facts: Facts) -> dict:
    """The ladder's steps by page: the main page's three (loops, NumPy, one compiled pass: the
    baseline, reference and one-process rungs), the others below the one-process rung on the page
    of more steps, the rest past NumPy (the planned rung has a page of its own), and the peers."""
    ladder = facts.ladder
    aside = (*ladder.peers, *ladder.distributed)
    steps = [
        f
        for f in facts.rungs.values()
        if f.present and f.name not in aside and rung_template(f.name).exists()
    ]
    names = [f.name for f in steps]
    split = names.index(ladder.one_process) + 1 if ladder.one_process in names else len(steps)
    three = (ladder.baseline, ladder.reference, ladder.one_process)
    return {
        # Runs recorded before the one-process rung had a driver of its own showed the shared one;
        # the main page leaves it out for them (its text says what it does).
        # numbered as the page's own steps, 1 to 3 (their places on the ladder are on more-steps)
        "main_steps": [
            replace(f, step=i)
            for i, f in enumerate(
                teaching_code([f for f in steps[:split] if f.name in three], ("descend_chunked",)), 1
            )
        ],
        "between_steps": teaching_code([f for f in steps[:split] if f.name not in three]),
        "deep_steps": teaching_code([f for f in steps[split:] if f.name != ladder.planned]),
        "peers": [
            f
            for f in facts.rungs.values()
            if f.present and f.name in ladder.peers and rung_template(f.name).exists()
        ],
    }


def chart_gaps(figures: dict[str, str]) -> list[str]:
    """The charts a run could not draw, as gaps of the lesson."""
    return [
        f"{caption}: not measured in this run" for key, (caption, _) in CHARTS.items() if key not in figures
    ]


def context(
    facts: Facts,
    figures: dict[str, str],
    links: dict[str, str] | None = None,
    page: str = "README.md",
    gaps: Gaps | None = None,
) -> dict:
    """Everything the templates may use on ``page``, from the run's facts."""
    gaps = gaps or Gaps()
    return {**shared(facts, figures, links), **_page(page, gaps)}


def _page(page: str, gaps: Gaps) -> dict:
    """What a page's context holds of its own: its name, and the lesson's gaps."""
    return {
        "page": page,
        "gaps": gaps.known,
        "have": gaps.have,
        "gap": gaps.gap,
        "glossary": glossary.terms(),
    }


def shared(
    facts: Facts, figures: dict[str, str], links: dict[str, str] | None = None, others: Others = ()
) -> dict:
    """What every page's context holds: the same for all pages of a lesson (``others``: the other
    machines' runs, by label, that the planner page sets beside this one)."""
    ladder = facts.ladder
    return {
        "run": facts,
        "file_name": facts.path.name,
        "profile": facts.profile,
        "code_recorded": ladder.code_recorded,
        "cpu": f"{cpu_name(facts.machine)} ({facts.machine.get('cpu_count', '?')} cores)",
        "sizes": facts.sizes,
        "rungs": facts.rungs,
        **_steps(facts),
        "one_process": ladder.one_process,
        "roles": {"baseline": ladder.baseline, "reference": ladder.reference, "planned": ladder.planned},
        "tables": _tables(facts)
        | {"planning_per_cpu": planner_tables.per_cpu([("this run", facts), *others])},
        "planning_per_cpu_runs": 1 + len(others),
        **facts.planning,
        **facts.sections,
        "claims": facts.claims,
        "figures": figure_markdown(figures),
        "links": {
            "machines": None,
            "machines_title": None,
            "findings": None,
            "compare": None,
            "large": None,
            **(links or {}),
        },
        "pages": {name.removesuffix(".md").replace("-", "_"): name for name in PAGES},
        # the other workloads this run timed: each one's page, linked from the main page
        "workloads": [w for w in discover() if facts.workloads.get(w.name)],
        "rung_count": len(facts.order),
        "redo_env": redo_env(facts),
    }


def redo_env(facts: Facts) -> str:
    """The tox environment that redoes this run: its profile, with PyTorch and JAX where it timed them."""
    if facts.profile.get("name") in ("large", "quick"):
        return f"report-{facts.profile['name']}"
    return "report-peers" if set(facts.order) & set(facts.ladder.peers) else "report"


#: The lesson's pages: the main page for a learner, and pages of depth it links.
PAGES = {
    "README.md": "main.md.j2",
    "more-steps.md": "more_steps.md.j2",
    "past-numpy.md": "past_numpy.md.j2",
    "planner.md": "planner.md.j2",
    "beyond.md": "beyond.md.j2",
    "methods.md": "methods.md.j2",  # it lists what every page could not say
    glossary.PAGE: "glossary.md.j2",
}


@dataclass(frozen=True)
class Lesson:
    pages: dict[str, str]  # file name -> Markdown
    gaps: tuple[str, ...]  # what the lesson could not say, once each


def _render_pages(common: dict, gaps: Gaps) -> dict[str, str]:
    """Every page, each rendered once."""
    env = environment()
    out = {}
    for name, template in PAGES.items():
        text = env.get_template(template).render({**common, **_page(name, gaps)})
        if name not in ("README.md", glossary.PAGE):  # the main page defines its terms in its text
            text = _with_terms_line(text)
        out[name] = text.rstrip("\n") + "\n"
    return out


def _with_terms_line(text: str, glossary_page: str = glossary.PAGE) -> str:
    """The page with a line under its title linking the terms it uses without defining them."""
    line = glossary.terms_line(text, glossary_page)
    if not line:
        return text
    title, _, rest = text.partition("\n")
    return f"{title}\n\n{line}\n{rest}"


def claims_in_order(facts: Facts, steps: dict) -> list[Claim]:
    """Every claim of the lesson in the order its pages state them (each page's sections and steps,
    ``steps`` as :func:`_steps` gives them, as its template has them): the order the methods page
    lists the gaps in, whatever the order the pages are rendered in."""
    c, planned, d = facts.claims, facts.rungs[facts.ladder.planned], facts.distributed

    def of(rungs) -> list[Claim]:
        return [claim for rung in rungs for claim in rung.claims.values()]

    by_page = {
        "README.md": [c["curve"], c["ns_per_mac"], *of(steps["main_steps"]), c["small"], c["own_compile"]],
        "more-steps.md": [
            *of(steps["between_steps"]),
            *(c["n_ends"], c["threads"], c["dtype"], c["memory"]),
            *of(steps["peers"]),
        ],
        "past-numpy.md": [*of(steps["deep_steps"]), c["compile"]],
        "planner.md": [*of([planned] if planned.present else []), c["tuning"], c["first_use"]],
        "beyond.md": [*of([facts.rungs[d.rung]]), c["distributed_sweep"], c["store"]]
        if d
        else [c["distributed"]],
    }
    return [claim for claims in by_page.values() for claim in claims]


def lesson(
    facts: Facts, figures: dict[str, str], links: dict[str, str] | None = None, others: Others = ()
) -> Lesson:
    """Every page of the lesson, each rendered once, and its gaps: the charts not drawn and the claims
    the facts found unmeasured, once each as the pages name them (a chart's gap and a section's may
    differ only in case), decided before any page is rendered."""
    common = shared(facts, figures, links, others)
    known: dict[str, str] = {}
    unmeasured = [claim.gap for claim in claims_in_order(facts, common) if not claim]
    for gap in [*chart_gaps(figures), *unmeasured]:
        known.setdefault(gap.lower(), gap)
    gaps = Gaps(tuple(known.values()))
    return Lesson(_render_pages(common, gaps), gaps.known)


def render(
    facts: Facts, figures: dict[str, str], links: dict[str, str] | None = None, others: Others = ()
) -> dict[str, str]:
    """Every page of the lesson: file name → Markdown."""
    return lesson(facts, figures, links, others).pages


def links_from(out: Path, machines: Path | None, back: bool = False) -> dict[str, str]:
    """The lesson's links from its folder ``out``: the machines page, the investigation's notes, and
    a lesson of the large profile beside it (``out/large``), where there is one."""
    links = {
        "findings": Path(os.path.relpath(FINDINGS, out.absolute())).as_posix(),
        "compare": Path(os.path.relpath(FINDINGS.parent / "README.md", out.absolute())).as_posix(),
    }
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


def write_report(
    facts: Facts, out: Path, links: dict[str, str] | None = None, others: Others = ()
) -> tuple[list[Path], Lesson]:
    """Write the figures, the CSV and every page into ``out``; return the paths written and the lesson
    (``others``: the other machines' runs, by label, for the pages that set them beside this one)."""
    out.mkdir(parents=True, exist_ok=True)
    written, figures = [], {}
    for key, (_, plot) in CHARTS.items():
        fig = plot(facts)
        if fig is None:
            continue  # the lesson lists it as a gap, from the figures that exist
        figures[key] = f"fig_{key}.png"
        fig.savefig(out / figures[key])
        plt.close(fig)
        written.append(out / figures[key])
    csv = out / "results.csv"
    facts.table.sort_values(["kind", "rung", "m", "n", "dtype", "threads_setting"]).to_csv(csv, index=False)
    written.append(csv)
    made = lesson(facts, figures, links, others)
    for name, text in made.pages.items():
        (out / name).write_text(text)
        written.append(out / name)
    for workload in discover():
        if facts.workloads.get(workload.name):
            written += workload.write(
                list(facts.workloads[workload.name]), dict(facts.machine), facts.datetime, out
            )
    return written, made


# --- the machines page ------------------------------------------------------------------------


def render_machines(compared: list[machines.Machine], chart: bool) -> str:
    page = (
        environment()
        .get_template("machines.md.j2")
        .render(
            machines=compared,
            overview=machine_tables.overview(compared),
            reads=machine_tables.reads(compared),
            differences=machines.differences(compared),
            chart=chart,
            reference=compared[0].facts.ladder.reference,
        )
    )
    return _with_terms_line(page, "../" + glossary.PAGE).rstrip("\n") + "\n"


def write_machines(
    main: Facts, others: list[Facts], lesson: str, folder: Path, final: Path
) -> tuple[list[Path], dict[Path, Lesson]]:
    """Each other machine's lesson in its folder, then ``folder/README.md`` comparing all of them.

    ``lesson`` is the main lesson's link from the page; ``final`` is where ``folder`` will be once
    written (links are computed from there). Returns the paths written and each run's lesson.
    """
    written, lessons = [], {}
    for run in others:
        name = run.path.parent.name
        paths, lessons[run.path] = write_report(run, folder / name, links_from(final / name, None, back=True))
        written += paths
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
    return [*written, folder / "README.md"], lessons
