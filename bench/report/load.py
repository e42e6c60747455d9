"""Read a results file into a tidy table, through the schema the benchmarks wrote it with."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from bench.schema import KINDS, ROOFLINE, SchemaError, read
from impls import LABEL_ALIASES

#: Row fields too nested for the table (kept on Results where the report needs them).
NESTED = ("pairs_s", "landscape_best_s", "landscape_median_s")


class ResultsError(Exception):
    """The results file cannot be used; the message says why and what to do."""


@dataclass
class Results:
    table: pd.DataFrame  # one row per benchmark
    machine: dict
    datetime: str
    path: Path
    tuning: list[dict] = field(default_factory=list)  # the planned rung's tuning records, whole
    gaps: list[str] = field(default_factory=list)  # what the lesson could not say, and why

    @property
    def profile(self) -> dict:
        return self.machine.get("bench_profile") or {}

    @property
    def source_digest(self) -> str | None:
        return self.machine.get("impls_source_digest")

    def kind(self, *kinds: str) -> pd.DataFrame:
        return self.table[self.table["kind"].isin(kinds)]

    @property
    def descent(self) -> pd.DataFrame:
        """Rungs and the probe, timed at the same points."""
        return self.kind("descent", ROOFLINE)

    @property
    def jit(self) -> pd.DataFrame:
        return self.kind("jit")

    @property
    def paired(self) -> pd.DataFrame:
        return self.kind("paired")

    @property
    def memory(self) -> pd.DataFrame:
        return self.kind("memory")


def _read_json(path: Path) -> dict:
    if not path.exists():
        raise ResultsError(
            f"results file {path} does not exist. Make one with `tox -e bench` or "
            f"`pytest --benchmark-only --benchmark-json={path}`."
        )
    text = path.read_text()
    if not text.strip():
        raise ResultsError(f"results file {path} is empty: the benchmark run that wrote it did not finish.")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ResultsError(
            f"results file {path} is not valid JSON ({exc.msg} at line {exc.lineno})."
        ) from None
    if not isinstance(raw, dict) or not isinstance(raw.get("benchmarks"), list):
        raise ResultsError(
            f"results file {path} is not a pytest-benchmark results file: no 'benchmarks' list."
        )
    return raw


def load(path: str | Path) -> Results:
    """Read a pytest-benchmark JSON file of this suite; ResultsError naming the file if it cannot be used."""
    path = Path(path)
    raw = _read_json(path)
    if not any(isinstance(b, dict) and "kind" in (b.get("extra_info") or {}) for b in raw["benchmarks"]):
        raise ResultsError(
            f"results file {path} holds no benchmark of this suite (no 'extra_info' with a 'kind'); "
            "was it written by `pytest --benchmark-only` in this repository?"
        )
    try:
        rows = [read(bench, str(path), LABEL_ALIASES) for bench in raw["benchmarks"]]
    except SchemaError as exc:
        raise ResultsError(str(exc)) from None
    machine = raw.get("machine_info") if isinstance(raw.get("machine_info"), dict) else {}
    table = pd.DataFrame([{k: v for k, v in row.items() if k not in NESTED} for row in rows])
    # Kinds timed without a thread setting (compilation, a new process) ran with Numba's default: all.
    table["threads_setting"] = table["threads_setting"].fillna("all")
    per_epoch = table["epochs"].clip(lower=1)
    # The best round, not the median: on a shared machine other work only ever adds time.
    table["time_per_epoch_s"] = table["min_s"] / per_epoch
    table["median_per_epoch_s"] = table["median_s"] / per_epoch
    table["bandwidth_gb_s"] = table["bytes_x"] / table["time_per_epoch_s"] / 1e9
    for column in {f.name for fields in KINDS.values() for f in fields} - set(table) - set(NESTED):
        table[column] = None  # a kind this run did not have: its columns exist, empty
    return Results(
        table=table,
        machine=machine,
        datetime=str(raw.get("datetime", "unknown date")),
        path=path,
        tuning=[row for row in rows if row["kind"] == "tuning"],
    )
