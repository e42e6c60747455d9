"""The results schema: what each benchmark writes in ``extra_info``, and what the report reads back.

One table of fields per kind of benchmark. The benchmarks build their ``extra_info`` with
:func:`record`, which refuses a missing, unknown or wrongly typed field; the report reads every
benchmark with :func:`read`, which raises :class:`SchemaError` naming the file, the benchmark
and the field. A renamed key therefore fails on both sides instead of dropping rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

ROOFLINE = "roofline"  # the read-only probe's label, in place of a rung's
#: The version of what the benchmarks write; the reader upgrades older files (bench/results/load.py).
RESULTS_VERSION = 2
RUN_KEY = "ladder_run"  # the results file's record of the run itself (bench/suite/runs.py)


class SchemaError(ValueError):
    """A benchmark's record does not match the schema; the message names where and what."""


@dataclass(frozen=True)
class Field:
    name: str
    kind: type  # int, float, str, list or dict
    required: bool = True


def _fields(*specs: tuple) -> tuple[Field, ...]:
    return tuple(Field(*spec) for spec in specs)


#: Every benchmark: what ran, at which size, in which dtype, for how many epochs per timed round.
POINT = _fields(("kind", str), ("rung", str), ("m", int), ("n", int), ("dtype", str), ("epochs", int))
#: Benchmarks that time the data at a thread setting: enough to turn a time into bytes per second.
SIZED = POINT + _fields(("threads", int), ("threads_setting", str), ("bytes_x", int))
CHECKED = _fields(("max_rel_error", float), ("tolerance", float))
#: Packed and scalar floating-point instructions in a rung's compiled kernels (older runs: descent)
SIMD = _fields(
    ("simd_packed_ops", int, False), ("simd_scalar_ops", int, False), ("simd_zmm_refs", int, False)
)

KINDS: dict[str, tuple[Field, ...]] = {
    # one rung's descent, timed
    "descent": SIZED
    + CHECKED
    + SIMD
    + _fields(
        ("plan", str, False),  # the planned rung: the candidate it ran
        ("plan_rule_of_thumb", str, False),  # ... and the one it runs without measuring
        ("plan_source", str, False),  # "wisdom", "measured" or "confirmed" (on the benchmark's data)
        ("plan_data", str, False),  # "cache", "llc" or "memory": the data class of the plan's key
        ("pinned_round_trip_s", float, False),  # a point run in a pinned process: its pipe's cost
        ("pinned_cpu_per_wall", float, False),  # and its CPU seconds per timed second (1.0: one core)
        # a peer's epoch as its framework reports it (bench/suite/passes.py)
        ("ops_per_epoch", float, False),
        ("x_reads", float, False),  # X-sized operands read per epoch
        ("x_writes", float, False),  # X-sized results written per epoch
        ("m_reads", float, False),  # m-long operands read per epoch
        ("ops_traced", str, False),
    ),
    # the probe: read X once with every thread of the setting
    ROOFLINE: SIZED + _fields(("numba_threading_layer", str, False)),
    # a JIT rung's first call on a fresh, uncached copy: compilation, and what it compiled to
    "jit": POINT + SIMD,
    # a new process: start Python, import, first fit (kernels from the disk cache)
    "first_fit": POINT,
    # the probe and one epoch, alternating round by round
    "paired": SIZED
    + CHECKED
    + _fields(
        ("probe_threads", int),
        ("pairs_s", list),
        ("probe_reads", int, False),  # reads of X the probe timed back to back per pair (older runs: 1)
        ("share_median", float),
        ("share_q25", float),
        ("share_q75", float),
        ("probe_best_s", float),
        ("epoch_best_s", float),
        ("pinned_round_trip_s", float, False),
    ),
    # the planned rung's measuring, and every candidate's time at this size
    "tuning": SIZED
    + _fields(
        ("tuning_choice", str),
        ("tuning_best_s", dict),  # every candidate's best epoch on the tuning data
        ("tuning_median_s", dict, False),  # ... and its median (the race's measure)
        ("tuning_rounds", int),
        ("tuning_finalists", list, False),  # the candidates that ran every round of the race
        ("tuning_rule_of_thumb", str, False),  # the rule of thumb (ran every round)
        ("tuning_fastest", str, False),  # the finalist with the lowest median (the choice may be a tie's)
        ("tuning_challenger", str, False),  # older runs: the race's choice before a sign test ...
        ("tuning_sign_test_p", float, False),  # ... against the rule of thumb
        ("tuning_data_bytes", int),
        ("tuning_data_s", float),
        ("tuning_warmup_s", float, False),
        ("tuning_measuring_s", float),
        ("tuning_ended", str, False),  # why the race ended (impls.planner.race.ENDINGS)
        ("tuning_gain", dict, False),  # where the choice is not the rule: rule / choice in the race
        ("landscape_best_s", dict),
        ("landscape_median_s", dict),
        ("landscape_rounds", int),
        ("plan", str),
    ),
    # the rungs at a point side by side: one epoch each and the probe's read per round, shuffled,
    # in one process (older runs: the compiled rungs) or several fresh ones (bench_side_by_side.py)
    "head_to_head": SIZED
    + CHECKED
    + _fields(
        ("ladder", list),  # the rungs that ran in every round
        ("plan", str, False),  # the candidate the planned rung ran (at the end of the race)
        ("race_rounds", int),
        ("times_s", dict),  # rung -> seconds of its epoch in each round
        ("ratio_median", dict),  # other rung -> median over rounds of its epoch / the planned rung's
        ("ratio_q25", dict),
        ("ratio_q75", dict),
        # the probe ran in the same rounds (runs from before it did not have these)
        ("probe_threads", int, False),
        ("probe_s", list, False),  # seconds of its read of X in each round
        ("probe_share_median", dict, False),  # rung -> median over rounds of probe time / its epoch
        ("probe_share_q25", dict, False),
        ("probe_share_q75", dict, False),
        ("process_rounds", list, False),  # rounds in each fresh process, in order (older runs: one)
        ("probe_reads", int, False),  # reads of X the probe timed back to back per turn (older: 1)
        ("errors", dict, False),  # rung -> its answer's distance from the float64 reference
        ("side_pass", int, False),  # which of the point's processes this is (joined when read: side.py)
        ("side_passes", int, False),  # a joined record: its processes ran as passes spread over the run
    ),
    # wall time to the optimum's cost within a tolerance: batch descent, or L-BFGS
    "optimum": SIZED
    + _fields(
        ("method", str),
        ("steps", int),  # epochs (descent) or iterations (L-BFGS) it needed
        ("evaluations", int, False),  # evaluations of the cost and gradient (each reads X twice)
        ("optimum", float),
        ("final_cost", float),
        ("tolerance", float),
        ("relative", bool, False),  # cost - optimum <= tolerance * optimum (else: * max(1, optimum))
    ),
    # the descent's cost at every epoch, and L-BFGS's cost and time at every iteration, at one size
    "curve": SIZED
    + _fields(
        ("descent_costs", list),
        ("lbfgs_costs", list),
        ("lbfgs_times_s", list),
        ("optimum", float),
        ("tolerance", float),
    ),
    # the distributed (dask) rung: an empty epoch (overhead), a real one at a block size, or X from a store
    "distributed": SIZED
    + _fields(
        ("way", str),  # "overhead", "epoch" or "store"
        ("blocks", int),
        ("rows_per_task", int),  # rows of X in one block (one task)
        ("tasks", int),  # per epoch: one per block, and the reduction tree's
        ("tree_depth", int),  # levels of the reduction tree
        ("default_blocks", bool, False),  # the rung's own choice of block rows
        ("processes", bool, False),  # on a cluster of worker processes, not the rung's default
        ("max_rel_error", float, False),
        ("tolerance", float, False),
        ("store_codecs", str, False),
    ),
    # bytes a rung allocates while it runs one epoch, beyond X and y (traced, in a fresh process)
    "memory": SIZED
    + _fields(
        ("peak_bytes", int),
        ("m_arrays", float),
        ("traced", str),
        ("own_allocator", bool, False),  # a framework allocating outside Python's view: not measured
    ),
}

#: pytest-benchmark's statistics the report uses (seconds per timed round).
STATS = ("min", "median", "q1", "q3", "rounds")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


#: What the lists and dicts of the schema hold, by field name: checked item by item.
ITEMS: dict[str, tuple[str, Any]] = {
    "numbers": ("a list of numbers", lambda v: isinstance(v, list | tuple) and all(map(_number, v))),
    "names": (
        "a list of names",
        lambda v: isinstance(v, list | tuple) and all(isinstance(x, str) for x in v),
    ),
    "pairs": (
        "a list of [number, number]",
        lambda v: (
            isinstance(v, list | tuple)
            and all(isinstance(p, list | tuple) and len(p) == 2 and all(map(_number, p)) for p in v)
        ),
    ),
    "number by name": (
        "an object of numbers",
        lambda v: isinstance(v, dict) and all(isinstance(k, str) and _number(x) for k, x in v.items()),
    ),
    "numbers by name": (
        "an object of lists of numbers",
        lambda v: (
            isinstance(v, dict) and all(isinstance(k, str) and ITEMS["numbers"][1](x) for k, x in v.items())
        ),
    ),
}
FIELD_ITEMS = {
    "pairs_s": "pairs",
    "tuning_best_s": "number by name",
    "tuning_median_s": "number by name",
    "tuning_finalists": "names",
    "landscape_best_s": "number by name",
    "landscape_median_s": "number by name",
    "ladder": "names",
    "times_s": "numbers by name",
    "ratio_median": "number by name",
    "ratio_q25": "number by name",
    "ratio_q75": "number by name",
    "probe_s": "numbers",
    "process_rounds": "numbers",
    "errors": "number by name",
    "probe_share_median": "number by name",
    "probe_share_q25": "number by name",
    "probe_share_q75": "number by name",
    "descent_costs": "numbers",
    "lbfgs_costs": "numbers",
    "lbfgs_times_s": "numbers",
}


def describe(field: Field) -> str:
    """What a field must hold, in words, for error messages."""
    items = FIELD_ITEMS.get(field.name)
    return ITEMS[items][0] if items else field.kind.__name__


def _check(value: Any, field: Field) -> Any:
    """The value if it has the field's type (an int passes as a float); else None."""
    if field.kind is float:
        return float(value) if _number(value) else None
    if field.kind is int:
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    items = FIELD_ITEMS.get(field.name)
    if items is not None:
        return value if ITEMS[items][1](value) else None
    return value if isinstance(value, field.kind) else None


def record(kind: str, **values: Any) -> dict:
    """A benchmark's ``extra_info`` for ``kind``, checked against the schema (SchemaError if not)."""
    if kind not in KINDS:
        raise SchemaError(f"unknown benchmark kind {kind!r}; known: {', '.join(KINDS)}")
    values = {"kind": kind, **values}
    fields = {f.name: f for f in KINDS[kind]}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise SchemaError(f"{kind} benchmark: fields not in the schema: {', '.join(unknown)}")
    for field in fields.values():
        if field.name not in values:
            if field.required:
                raise SchemaError(f"{kind} benchmark: missing field {field.name!r}")
            continue
        if _check(values[field.name], field) is None:
            raise SchemaError(
                f"{kind} benchmark: field {field.name!r} must be {describe(field)}, "
                f"got {values[field.name]!r:.200}"
            )
    return values


def read(bench: Any, source: str, aliases: dict[str, str] | None = None) -> dict:
    """One benchmark of a results file as a flat, typed row: its fields and its statistics.

    ``source`` names the file in error messages; ``aliases`` maps old rung labels to current ones.
    Optional fields a kind does not have come back as None.
    """
    name = bench.get("name", "?") if isinstance(bench, dict) else "?"
    where = f"{source}: benchmark {name!r}"
    info = bench.get("extra_info") if isinstance(bench, dict) else None
    if not isinstance(info, dict) or "kind" not in info:
        raise SchemaError(f"{where} has no 'kind' in its extra_info: it was not written by this suite")
    kind = info["kind"]
    if kind not in KINDS:
        raise SchemaError(f"{where}: unknown kind {kind!r} (known: {', '.join(KINDS)})")
    row: dict[str, Any] = {}
    for field in KINDS[kind]:
        if field.name not in info:
            if field.required:
                raise SchemaError(f"{where} ({kind}): extra_info has no {field.name!r}")
            row[field.name] = None
            continue
        value = _check(info[field.name], field)
        if value is None:
            raise SchemaError(
                f"{where} ({kind}): {field.name!r} must be {describe(field)}, got {info[field.name]!r:.200}"
            )
        row[field.name] = value
    if aliases and row["rung"] in aliases:
        row["rung"] = aliases[row["rung"]]
    if kind == ROOFLINE:
        row["rung"] = ROOFLINE
    stats = bench.get("stats")
    if not isinstance(stats, dict):
        raise SchemaError(f"{where}: no 'stats'")
    for key in STATS:
        value = _check(stats.get(key), Field(key, int if key == "rounds" else float))
        if value is None:
            raise SchemaError(f"{where}: stats has no numeric {key!r}")
        row[f"{key}_s" if key != "rounds" else key] = value
    row["benchmark"] = benchmark_name(bench.get("fullname") or name)
    row["rounds_s"] = _rounds(stats.get("data"), where)
    return row


def benchmark_name(fullname: str) -> str:
    """The name a benchmark goes by in every results file: its pytest id with its file as
    ``bench/<file>``, whichever folder of bench/ held the file (the suite now lives in bench/suite/),
    so that files written before and after the move still compare."""
    path, sep, test = fullname.partition("::")
    if sep and path.startswith("bench/"):
        return f"bench/{path.rsplit('/', 1)[-1]}{sep}{test}"
    return fullname


def _rounds(data: Any, where: str) -> list[float] | None:
    """The sample of rounds a results file keeps (``stats.data``), or None where it kept none."""
    if data is None or data == []:
        return None
    numbers = isinstance(data, list) and all(
        isinstance(x, int | float) and not isinstance(x, bool) for x in data
    )
    if not numbers or not all(math.isfinite(x) and x > 0 for x in data):
        raise SchemaError(f"{where}: stats 'data' must be a list of positive times in seconds")
    return [float(x) for x in data]
