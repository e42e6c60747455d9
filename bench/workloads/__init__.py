"""Workloads beside the ladder's logistic regression: one folder each, found by :func:`discover`.

A workload's folder holds everything of it: its benchmarks (``bench_*.py``, collected by pytest
with the suite's and run by the same conftest, their records marked ``extra_info["workload"]``),
the code that times one point in a fresh process, and its page of the lesson (``page.py`` with
its template): what the page reads from a results file, its charts and its words. The report
writes every workload's page beside the lesson and links it from the main page, from the records
the loader set aside for it (``Results.workloads``); the ladder's own benchmarks never see them.
A new workload is a new folder here and nothing else.
"""

from __future__ import annotations

import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path


@dataclass(frozen=True)
class Workload:
    """What the report needs of a workload's page: where it goes and how the main page links it."""

    name: str  # the ``extra_info["workload"]`` of its records
    page: str  # the page's file name in the lesson's folder
    title: str  # the link's words on the main page
    blurb: str  # what the page shows, after the link
    # (its records, the run's machine_info, the run's date, the lesson's folder) -> the files written
    write: Callable[[list[dict], dict, str, Path], list[Path]]


def discover() -> list[Workload]:
    """Every workload folder's ``page.WORKLOAD``, in name order."""
    found = []
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if module.ispkg:
            found.append(import_module(f"{__name__}.{module.name}.page").WORKLOAD)
    return found
