"""The command line: ``python -m bench.report RESULTS --out DIR [--machines FOLDER] [--partial]``.

All or nothing: every results file is read and checked first, everything is written into a
temporary folder beside ``--out``, and only then moved into place. A bad results file or a bad
``--out`` is one line on stderr naming it, exit code 2, and nothing written.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from bench.report.charts import CHARTS
from bench.report.facts import Facts, build
from bench.report.pages import Lesson, links_from, write_machines, write_report
from bench.results.load import ResultsError, load, load_machines


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Write the vectorization lesson from a benchmark results file."
    )
    parser.add_argument("results", type=Path, help="pytest-benchmark JSON (e.g. reports/results.json)")
    parser.add_argument("--out", type=str, default="reports", help="folder for README.md, figures, CSV")
    parser.add_argument(
        "--machines",
        type=Path,
        default=None,
        help="a folder of other machines' runs (<machine>/results.json): each gets its lesson, "
        "and <folder>/README.md compares them all with this run",
    )
    parser.add_argument(
        "--partial", action="store_true", help="report a run that did not complete (it says what is missing)"
    )
    return parser


def check_out(out: str) -> Path:
    """The output folder, or ResultsError if it cannot be one."""
    if not out.strip():
        raise ResultsError("--out is empty: name the folder for the lesson (e.g. --out reports)")
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise ResultsError(f"--out {path} is a file, not a folder")
    existing = next(p for p in (path, *path.absolute().parents) if p.exists())
    if not os.access(existing, os.W_OK):
        raise ResultsError(f"--out {path}: {existing} is not writable")
    return path


def _warn(run: Facts, lesson: Lesson) -> None:
    if not run.ladder.code_recorded:
        print(
            f"note: {run.path} is of format {run.version}, which did not record the code it timed: "
            "its lesson shows no code (regenerate the file with `tox -e bench` to have it)",
            file=sys.stderr,
        )
    for name, reason in run.failures:
        print(
            f"FAILED in {run.path}: {name}: {reason} (left out of every ranking and chart)", file=sys.stderr
        )
    for gap in lesson.gaps:
        print(f"gap: {run.path}: {gap.lower()}", file=sys.stderr)


def _move_into(staging: Path, target: Path) -> None:
    """Move every file written under ``staging`` to the same place under ``target``, and remove the
    charts a lesson folder had that this run did not draw (a lesson never links a chart of another run)."""
    written = sorted(p for p in staging.rglob("*") if p.is_file())
    for folder in {p.parent for p in written if p.name == "README.md"}:
        for key in CHARTS:
            chart = folder / f"fig_{key}.png"
            if not chart.exists():
                (target / chart.relative_to(staging)).unlink(missing_ok=True)
    for path in written:
        destination = target / path.relative_to(staging)
        destination.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, destination)


def _write_all(
    facts: Facts, others: list[Facts], out: Path, machines: Path | None
) -> tuple[int, dict[Path, Lesson]]:
    """Write into a temporary folder beside ``out``, then move everything into place."""
    root = Path(os.path.commonpath([out.absolute(), *([machines.absolute()] if machines else [])]))
    anchor = next(p for p in (root, *root.parents) if p.exists())
    staging = Path(tempfile.mkdtemp(prefix=".report-", dir=anchor))
    try:
        here = staging / out.absolute().relative_to(anchor)
        labelled = [(run.path.parent.name, run) for run in others]
        written, lesson = write_report(facts, here, links_from(out, machines), labelled)
        lessons = {facts.path: lesson}
        if machines:
            link = Path(os.path.relpath(out.absolute() / "README.md", machines.absolute())).as_posix()
            staged = staging / machines.absolute().relative_to(anchor)
            more, theirs = write_machines(facts, others, link, staged, machines)
            written, lessons = written + more, lessons | theirs
        _move_into(staging, anchor)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return len(written), lessons


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        out = check_out(args.out)
        facts = build(load(args.results, allow_partial=args.partial))
        others = [build(run) for run in load_machines(args.machines)] if args.machines else []
        count, lessons = _write_all(facts, others, out, args.machines)
    except ResultsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: cannot write the report: {exc.strerror}: {exc.filename}", file=sys.stderr)
        return 2
    for run in [facts, *others]:
        _warn(run, lessons[run.path])
    print(f"wrote {count} files from {1 + len(others)} results file(s)")
    return 0
