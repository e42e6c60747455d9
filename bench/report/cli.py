"""The command line: ``python -m bench.report RESULTS --out DIR [--machines FOLDER]``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from bench.report import compare
from bench.report.lesson import write_report
from bench.report.load import Results, ResultsError, load
from impls._common import source_digest


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Write the vectorization lesson from a benchmark results file."
    )
    parser.add_argument("results", type=Path, help="pytest-benchmark JSON (e.g. reports/results.json)")
    parser.add_argument(
        "--out", type=Path, default=Path("reports"), help="folder for README.md, figures, CSV"
    )
    parser.add_argument(
        "--machines",
        type=Path,
        default=None,
        help="a folder of other machines' runs (<machine>/results.json): each gets its lesson, "
        "and <folder>/README.md compares them all with this run",
    )
    return parser


def _warn_digest(results: Results) -> None:
    if results.source_digest and results.source_digest != source_digest():
        print(
            f"warning: impls/ has changed since {results.path} was written; the code shown in the lesson "
            "is today's, the timings are not (the lesson says so).",
            file=sys.stderr,
        )


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        results = load(args.results)
        others = compare.load_machines(args.machines) if args.machines else []
    except ResultsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    links = {}
    if args.machines:
        links = {
            "machines": Path(os.path.relpath(args.machines / "README.md", args.out)).as_posix(),
            "machines_title": "the machines compared",
        }
    written = []
    for run in [results, *others]:
        _warn_digest(run)
    written += write_report(results, args.out, links)
    if args.machines:
        written += compare.write_machines(results, others, args.out, args.machines)
    for run in [results, *others]:
        for gap in dict.fromkeys(run.gaps):
            print(f"gap: {run.path}: {gap}", file=sys.stderr)
    print(f"wrote {len(written)} files from {1 + len(others)} results file(s)")
    return 0
