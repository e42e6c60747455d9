"""Read a results file into a tidy table, through the schema the benchmarks wrote it with.

Everything the report knows comes from this file: the timings, the machine, and the ladder it
timed (``bench/results/ladder.py``). A file of an older format is upgraded as it is read; a file
that cannot be read, however it is malformed, is one ``ResultsError`` naming it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from bench.results import definition, side
from bench.results import ladder as ladders
from bench.results.ladder import Ladder, LadderError
from bench.results.schema import KINDS, ROOFLINE, RUN_KEY, SchemaError, read

#: Row fields too nested for the table (kept on Results where the report needs them).
NESTED = (
    "pairs_s",
    "landscape_best_s",
    "landscape_median_s",
    "ladder",
    "times_s",
    "ratio_median",
    "ratio_q25",
    "ratio_q75",
    "probe_s",
    "probe_share_median",
    "probe_share_q25",
    "probe_share_q75",
    "process_rounds",
    "side_pass",  # a side-by-side point's passes are one record here (side.join_passes)
    "side_passes",
    "errors",
    "descent_costs",
    "lbfgs_costs",
    "lbfgs_times_s",
    "rounds_s",
)


class ResultsError(Exception):
    """The results file cannot be used; the message says why and what to do."""


@dataclass
class Results:
    table: pd.DataFrame  # one row per benchmark
    machine: dict
    datetime: str
    path: Path
    ladder: Ladder  # the rungs the run timed, their roles and code
    tuning: list[dict] = field(default_factory=list)  # the planned rung's tuning records, whole
    # the rungs and the probe side by side at each point, whole: every ratio comes from these
    head_to_head: list[dict] = field(default_factory=list)
    curves: list[dict] = field(default_factory=list)  # the cost at every epoch and L-BFGS iteration, whole
    plans: list[dict] = field(default_factory=list)  # the planner's wisdom at the end of the run
    gaps: list[str] = field(default_factory=list)  # what the lesson could not say, and why
    failures: list[tuple[str, str]] = field(default_factory=list)  # (benchmark, why): never ranked
    partial: list[str] = field(default_factory=list)  # benchmarks an incomplete run did not run
    rounds: dict[str, list[float]] = field(default_factory=dict)  # benchmark -> its kept rounds (seconds)
    # benchmark -> what it timed (bench/results/definition.py): read from its fields, old files too
    definitions: dict[str, dict] = field(default_factory=dict)
    # another workload's benchmarks (``extra_info["workload"]``), whole, by workload: each folder of
    # ``bench/workloads`` reads its own
    workloads: dict[str, list[dict]] = field(default_factory=dict)

    @property
    def profile(self) -> dict:
        return self.machine.get("bench_profile") or {}

    @property
    def source_digest(self) -> str | None:
        return self.machine.get("impls_source_digest")

    @property
    def version(self) -> int:
        return self.ladder.version

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
    def optimum(self) -> pd.DataFrame:
        return self.kind("optimum")

    @property
    def memory(self) -> pd.DataFrame:
        return self.kind("memory")


def _read_json(path: Path) -> dict:
    if not path.exists():
        raise ResultsError(
            f"results file {path} does not exist. Make one with `tox -e bench` or "
            f"`pytest --benchmark-only --benchmark-json={path}`."
        )
    if path.is_dir():
        raise ResultsError(f"results file {path} is a folder, not a file.")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ResultsError(
            f"results file {path} is not UTF-8 text: not a pytest-benchmark JSON file."
        ) from None
    except OSError as exc:
        raise ResultsError(f"results file {path} cannot be read: {exc.strerror}.") from None
    if not text.strip():
        raise ResultsError(f"results file {path} is empty: the benchmark run that wrote it did not finish.")
    try:
        raw = json.loads(text, parse_int=_bounded_int)
    except json.JSONDecodeError as exc:
        raise ResultsError(
            f"results file {path} is not valid JSON ({exc.msg} at line {exc.lineno})."
        ) from None
    except RecursionError:
        raise ResultsError(f"results file {path} nests its values too deeply to be a results file.") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("benchmarks"), list):
        raise ResultsError(
            f"results file {path} is not a pytest-benchmark results file: no 'benchmarks' list."
        )
    return raw


def _bounded_int(text: str) -> int:
    """A JSON integer, refused beyond 64 bits: no count, size or byte total of a run is that large."""
    value = int(text)
    if abs(value) >= 2**63:
        raise ValueError(f"an integer of {len(text.lstrip('-'))} digits, beyond 64 bits")
    return value


def load(path: str | Path, allow_partial: bool = False) -> Results:
    """Read a pytest-benchmark JSON file of this suite; ResultsError naming the file if it cannot be used.

    Any other error while reading the file is a ResultsError too: a malformed file is refused
    with one line, however it is malformed.
    """
    try:
        return _load(Path(path), allow_partial)
    except ResultsError:
        raise
    except (
        ValueError,
        TypeError,
        KeyError,
        AttributeError,
        IndexError,
        RecursionError,
        OverflowError,
    ) as exc:
        raise ResultsError(f"results file {path} is malformed: {type(exc).__name__}: {exc}"[:400]) from None


def _load(path: Path, allow_partial: bool) -> Results:
    """:func:`load`, for a file whose errors may still be unexpected ones.

    The whole file is checked before anything is drawn: the schema of every benchmark, finite
    positive timings, one benchmark per point, the machine information the lesson uses. A run
    that did not complete is refused unless ``allow_partial``. A benchmark that failed (its
    timed answer outside its tolerance, or any other failure) is kept out of the table and
    listed in ``failures``.
    """
    raw = _read_json(path)
    if not any(isinstance(b, dict) and "kind" in (b.get("extra_info") or {}) for b in raw["benchmarks"]):
        raise ResultsError(
            f"results file {path} holds no benchmark of this suite (no 'extra_info' with a 'kind'); "
            "was it written by `pytest --benchmark-only` in this repository?"
        )
    ladder = _ladder(raw, path)
    run = _run_record(raw, path, allow_partial)
    failed = run.get("failed") or {}
    rows, failures = [], [(name, reason) for name, reason in failed.items()]
    benchmarks = [b for b in raw["benchmarks"] if not (isinstance(b, dict) and b.get("fullname") in failed)]
    benchmarks, workloads = _split_workloads(benchmarks)
    for bench in side.join_passes(benchmarks, ladder.planned):  # failed: listed above, never a timing
        row = _read_row(bench, path, ladder)
        if _wrong(row):
            failures.append(
                (bench.get("name", "?"), f"answer off by {row['max_rel_error']:.3g} > {row['tolerance']:g}")
            )
        else:
            rows.append(row)
    if not rows:
        raise ResultsError(f"results file {path}: no benchmark of the run passed; nothing to report")
    _check_duplicates(rows, raw, path)
    machine = _machine(raw, path)
    return Results(
        table=_table(rows),
        machine=machine,
        datetime=str(raw.get("datetime", "unknown date")),
        path=path,
        ladder=ladder,
        tuning=[row for row in rows if row["kind"] == "tuning"],
        head_to_head=[row for row in rows if row["kind"] == "head_to_head"],
        curves=[row for row in rows if row["kind"] == "curve"],
        plans=_plans(raw.get("wisdom"), path),
        rounds={row["benchmark"]: row["rounds_s"] for row in rows if row["rounds_s"]},
        definitions={row["benchmark"]: definition.of(row, ladder.aliases) for row in rows},
        failures=failures,
        partial=list(run.get("not_run") or []) if not run.get("complete", True) else [],
        workloads=workloads,
    )


def _split_workloads(benchmarks: list) -> tuple[list, dict[str, list[dict]]]:
    """The ladder's benchmarks, and the others by the workload their ``extra_info`` names."""
    ladder, others = [], {}
    for bench in benchmarks:
        info = bench.get("extra_info") if isinstance(bench, dict) else None
        name = info.get("workload") if isinstance(info, dict) else None
        if isinstance(name, str):
            others.setdefault(name, []).append(bench)
        else:
            ladder.append(bench)
    return ladder, others


def _plans(wisdom, path: Path) -> list[dict]:
    """The planner's wisdom the run ended with (format 2): each entry's key, choices and confirmation."""
    if wisdom is None:
        return []
    if not isinstance(wisdom, list) or not all(isinstance(e, dict) for e in wisdom):
        raise ResultsError(f"results file {path}: 'wisdom' must be a list of objects")
    plans = []
    for entry in wisdom:
        key, confirmed = entry.get("key"), entry.get("confirmed")
        if not isinstance(key, dict) or not isinstance(entry.get("choice"), str):
            raise ResultsError(f"results file {path}: a 'wisdom' entry has no key or no choice")
        plan = {
            "n": key.get("n"),
            "dtype": key.get("dtype"),
            "threads": key.get("threads"),
            "data": key.get("data"),
            "race_choice": entry["choice"],
            "rule_of_thumb": entry.get("rule_of_thumb"),
            "confirmed": confirmed.get("choice") if isinstance(confirmed, dict) else None,
            "measuring_s": entry.get("measuring_s"),
        }
        if not all(isinstance(plan[k], int) for k in ("n", "threads")) or not isinstance(plan["dtype"], str):
            raise ResultsError(f"results file {path}: a 'wisdom' entry's key has no n, dtype or threads")
        plans.append(plan)
    return plans


def _run_record(raw: dict, path: Path, allow_partial: bool) -> dict:
    run = raw.get(RUN_KEY) or {}
    if not isinstance(run, dict):
        raise ResultsError(f"results file {path}: {RUN_KEY!r} must be an object")
    if run.get("complete", True) is False and not allow_partial:
        missing = len(run.get("not_run") or [])
        raise ResultsError(
            f"results file {path} is from a run that did not complete ({missing} benchmark(s) not run); "
            "re-run the benchmarks, or pass --partial to report what it has"
        )
    return run


def _ladder(raw: dict, path: Path) -> Ladder:
    """The ladder the run timed: recorded (format 2), or format 1's registry."""
    version = raw.get("results_version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ResultsError(
            f"results file {path}: 'results_version' must be a positive integer, got {version!r}"
        )
    if version > ladders.NEWEST:
        raise ResultsError(
            f"results file {path} is of format {version}, newer than this report reads ({ladders.NEWEST}): "
            "update the report (git pull), or regenerate the file with this version (tox -e bench)"
        )
    try:
        if version == 1:
            return ladders.legacy(
                raw.get("machine_info") if isinstance(raw.get("machine_info"), dict) else {}
            )
        return ladders.from_record(raw.get("ladder"), version)
    except LadderError as exc:
        raise ResultsError(f"results file {path} (format {version}): {exc}") from None


def _read_row(bench, path: Path, ladder: Ladder) -> dict:
    if ladder.version == 1 and isinstance(bench, dict) and isinstance(bench.get("extra_info"), dict):
        info = bench["extra_info"]
        for old, new in ladders.renamed_fields().items():
            if old in info and new not in info:
                info[new] = info.pop(old)
    try:
        row = read(bench, str(path), ladder.aliases)
    except SchemaError as exc:
        raise ResultsError(str(exc)) from None
    if ladder.version == 1 and row.get("rung") == ladder.planned and row.get("plan"):
        row["plan_rule_of_thumb"] = ladder.rule_of_thumb(row["n"], 4 if row["dtype"] == "float32" else 8)
    for key in ("min_s", "median_s", "q1_s", "q3_s"):
        if not (math.isfinite(row[key]) and row[key] > 0):
            raise ResultsError(
                f"{path}: benchmark {bench.get('name', '?')!r}: "
                f"{key[:-2]} time is {row[key]!r}, not a positive number"
            )
    if row["epochs"] < 1 or row["m"] < 1 or row["n"] < 1:
        raise ResultsError(f"{path}: benchmark {bench.get('name', '?')!r}: m, n and epochs must be >= 1")
    return row


def _wrong(row: dict) -> bool:
    """A timed answer outside its stated tolerance (files written before failures were recorded)."""
    error, tolerance = row.get("max_rel_error"), row.get("tolerance")
    return error is not None and tolerance is not None and not error <= tolerance


#: Fields that tell apart two benchmarks of one kind at the same size (the distributed rung's ways
#: and blocks).
POINT_DETAIL = ("way", "blocks", "processes")


def _check_duplicates(rows: list[dict], raw: dict, path: Path) -> None:
    seen: dict[tuple, int] = {}
    for k, row in enumerate(rows):
        key = (row["kind"], row["rung"], row["m"], row["n"], row["dtype"], row.get("threads_setting"))
        key += tuple(
            row[f] for f in POINT_DETAIL if row.get(f) is not None
        )  # e.g. the distributed rung's blocks
        if key in seen:
            raise ResultsError(
                f"{path}: two benchmarks measure the same point {key}: remove one (a file merged twice?)"
            )
        seen[key] = k


#: Machine information the lesson reads, and the type each must have when present.
MACHINE_FIELDS = {
    "cpu": dict,
    "cpu_count": int,
    "numba": dict,
    "bench_profile": dict,
    "last_level_cache_bytes": int,
    "plan_cache_share": int,
    "plan_llc_span": int,
    "plan_prefer_prefetch": float,
    "plan_significance": float,
    "plan_test_rounds": int,
    "threadpoolctl": list,
    "packages": dict,
    "thread_env": dict,
    "impls_source_digest": str,
}


def _machine(raw: dict, path: Path) -> dict:
    machine = raw.get("machine_info", {})
    if not isinstance(machine, dict):
        raise ResultsError(f"{path}: 'machine_info' must be an object")
    for key, kind in MACHINE_FIELDS.items():
        if machine.get(key) is not None and not isinstance(machine[key], kind):
            raise ResultsError(
                f"{path}: machine_info {key!r} must be {kind.__name__}, got {machine[key]!r:.80}"
            )
    if not all(isinstance(pool, dict) for pool in machine.get("threadpoolctl") or []):
        raise ResultsError(f"{path}: machine_info 'threadpoolctl' must be a list of objects")
    return machine


def _table(rows: list[dict]) -> pd.DataFrame:
    table = pd.DataFrame([{k: v for k, v in row.items() if k not in NESTED} for row in rows])
    if table.empty:
        table = pd.DataFrame(columns=sorted({f.name for fields in KINDS.values() for f in fields}))
    # Kinds timed without a thread setting (compilation, a new process) ran with Numba's default: all.
    table["threads_setting"] = table["threads_setting"].fillna("all")
    per_epoch = table["epochs"].clip(lower=1)
    # The best round, not the median: on a shared machine other work only ever adds time.
    table["time_per_epoch_s"] = table["min_s"] / per_epoch
    table["median_per_epoch_s"] = table["median_s"] / per_epoch
    table["bandwidth_gb_s"] = table["bytes_x"] / table["time_per_epoch_s"] / 1e9
    for column in sorted({f.name for fields in KINDS.values() for f in fields} - set(table) - set(NESTED)):
        table[column] = None  # a kind this run did not have: its columns exist, empty
    return table


def load_machines(folder: Path) -> list[Results]:
    """Every ``<machine>/results.json`` below ``folder``, by folder name, loaded."""
    if not folder.is_dir():
        raise ResultsError(f"machines folder {folder} does not exist or is not a folder")
    runs = [load(path) for path in sorted(folder.glob("*/results.json"))]
    if not runs:
        raise ResultsError(f"machines folder {folder} holds no <machine>/results.json")
    return runs
