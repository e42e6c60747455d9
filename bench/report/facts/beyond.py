"""Beyond one process: the distributed rung's numbers, and the model its epoch follows.

The model: an epoch on the cluster ≈ t0 + bytes of X ÷ bandwidth + tasks × cost per task,
fitted by least squares to the run's real epochs of the distributed rung (the m sweep with its
own block rows, and the block-size axis). The empty epochs (tasks that do no work) measure the
scheduling apart, with no model at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bench.report.facts import select
from bench.results.load import Results
from bench.results.schema import ROOFLINE


@dataclass
class Model:
    t0_s: float
    bandwidth_gb_s: float
    per_task_s: float
    points: int
    worst_error: float  # largest |fit - measured| / measured over the points


@dataclass
class Beyond:
    rung: str
    one_process: str  # the one-process rung whose kernel the distributed rung runs per block
    sweep: list[dict] = field(default_factory=list)  # per m: epoch, one-process epoch, empty epoch
    blocks: list[dict] = field(default_factory=list)  # the block-size axis
    model: Model | None = None
    axis: tuple[int, int] | None = None
    at_axis: dict | None = None  # the sweep's row at the axis size, if the sweep has it
    store_s: float | None = None  # an epoch with X read from a store, at the axis size
    memory_s: float | None = None  # the in-memory epoch at that size and block rows
    store_codecs: str | None = None
    tree_depth: int | None = None  # levels of the reduction tree at the axis size
    blocks_at_axis: int | None = None
    workers: int | None = None
    axis_bytes: int | None = None  # X's bytes at the axis size, float64
    probe_gb_s: float | None = None  # the probe's reading rate there
    processes_epoch_s: float | None = None  # at the axis size, on a cluster of worker processes
    processes_empty_s: float | None = None
    leaders: list[dict] = field(default_factory=list)  # the fastest block count, and those not told apart
    # "untold" (more than one leader), "one each" (one block per worker thread was fastest) or "more"
    blocks_verdict: str | None = None


def _rows(results: Results, way: str, processes: bool = False) -> pd.DataFrame:
    """The distributed rung's records of one way, on the rung's own cluster (or on worker processes)."""
    d = results.kind("distributed")
    if d.empty:
        return d
    return d[(d["way"] == way) & (d["processes"].fillna(False).astype(bool) == processes)]


def _epoch(results: Results, rung: str, m: int, n: int) -> float | None:
    return select.t_epoch(results, rung, m, n, "float64", "all")


def _sweep(results: Results, rung: str) -> list[dict]:
    """Per m of the sweep: the rung's epoch, the one-process rung's, and the empty epoch."""
    empty = _rows(results, "overhead")
    empty = empty[empty["default_blocks"] == True]  # noqa: E712 (a column of objects)
    out = []
    for row in empty.sort_values("m").itertuples():
        epoch = _epoch(results, rung, row.m, row.n)
        if epoch is None:
            continue
        one = _epoch(results, results.ladder.one_process, row.m, row.n)
        out.append(
            {
                "m": int(row.m),
                "n": int(row.n),
                "bytes": int(row.bytes_x),
                "epoch": epoch,
                "one_process": one,
                "empty": float(row.time_per_epoch_s),
                "blocks": int(row.blocks),
                "tasks": int(row.tasks),
                "tree_depth": int(row.tree_depth),
                "workers": int(row.threads),
            }
        )
    return out


def _blocks(results: Results) -> list[dict]:
    epochs, empty = _rows(results, "epoch"), _rows(results, "overhead")
    out = []
    for row in epochs.sort_values("blocks").itertuples():
        twin = empty[(empty["m"] == row.m) & (empty["n"] == row.n) & (empty["blocks"] == row.blocks)]
        out.append(
            {
                "m": int(row.m),
                "n": int(row.n),
                "bytes": int(row.bytes_x),
                "blocks": int(row.blocks),
                "per_worker": int(row.blocks) / int(row.threads),
                "block_bytes": int(row.bytes_x) / int(row.blocks),
                "tasks": int(row.tasks),
                "epoch": float(row.time_per_epoch_s),
                "epoch_q1": float(row.q1_s) / int(row.epochs),  # the middle half of its rounds
                "epoch_q3": float(row.q3_s) / int(row.epochs),
                "empty": float(twin["time_per_epoch_s"].iat[0]) if not twin.empty else None,
            }
        )
    return out


def _one_figure_per_blocks(results: Results, facts: Beyond) -> None:
    """The rung's own blocks at the block axis's size have one figure: the descent benchmark's, in
    both tables (where the block axis timed them again, and where it did not time them at all)."""
    for own in facts.sweep:
        row = select.at(results, facts.rung, own["m"], own["n"])
        same_size = [p for p in facts.blocks if (p["m"], p["n"]) == (own["m"], own["n"])]
        if row is None or not same_size:
            continue
        epochs = int(row["epochs"])
        figure = {
            "epoch": own["epoch"],
            "epoch_q1": float(row["q1_s"]) / epochs,
            "epoch_q3": float(row["q3_s"]) / epochs,
        }
        point = next((p for p in same_size if p["blocks"] == own["blocks"]), None)
        if point is None:
            point = {
                "m": own["m"],
                "n": own["n"],
                "bytes": own["bytes"],
                "blocks": own["blocks"],
                "per_worker": own["blocks"] / own["workers"],
                "block_bytes": own["bytes"] / own["blocks"],
                "tasks": own["tasks"],
                "empty": own["empty"],
            }
            facts.blocks.append(point)
        point.update(figure)
    facts.blocks.sort(key=lambda p: (p["m"], p["n"], p["blocks"]))


def fastest_blocks(blocks: list[dict]) -> list[dict]:
    """The block count with the shortest epoch (best round), and every other whose middle half of
    rounds reaches that one's: not told apart from it, within the measurement's own spread (these are
    benchmarks timed apart: no ratio is formed between them)."""
    if not blocks:
        return []
    best = min(blocks, key=lambda p: p["epoch"])
    best_median = (best["epoch_q1"] + best["epoch_q3"]) / 2
    level = [p for p in blocks if p is not best and p["epoch_q1"] <= best_median]
    return [best, *sorted(level, key=lambda p: p["epoch"])]


def fit_model(points: list[dict]) -> Model | None:
    """Least squares of epoch = t0 + bytes / bandwidth + tasks × per_task over the measured epochs."""
    if len(points) < 4 or len({p["bytes"] for p in points}) < 2 or len({p["tasks"] for p in points}) < 2:
        return None
    A = np.array([[1.0, p["bytes"], p["tasks"]] for p in points])
    t = np.array([p["epoch"] for p in points])
    # Relative errors: each point weighs the same whether it takes microseconds or seconds.
    coef, *_ = np.linalg.lstsq(A / t[:, None], np.ones_like(t), rcond=None)
    t0, per_byte, per_task = (float(c) for c in coef)
    if per_byte <= 0 or per_task <= 0:
        return None  # the run does not separate the two costs
    fitted = A @ coef
    return Model(
        t0_s=t0,
        bandwidth_gb_s=1 / per_byte / 1e9,
        per_task_s=per_task,
        points=len(points),
        worst_error=float(np.max(np.abs(fitted - t) / t)),
    )


def beyond(results: Results) -> Beyond | None:
    """Everything the "beyond one machine" section says, or None where the run has no distributed rung."""
    present = [name for name in results.ladder.distributed if name in select.rung_order(results)]
    if not present:
        return None
    rung = present[0]
    facts = Beyond(rung, results.ladder.one_process, sweep=_sweep(results, rung), blocks=_blocks(results))
    facts.model = fit_model(facts.sweep + facts.blocks)  # each measured epoch once
    _one_figure_per_blocks(results, facts)
    sizes = results.profile.get("axis_sizes") or []
    facts.axis = tuple(sizes[0]) if sizes else select.big_size(results)
    if facts.axis:
        m, n = facts.axis
        facts.axis_bytes = m * n * 8
        probe = select.t_epoch(results, ROOFLINE, m, n, "float64", "all")
        facts.probe_gb_s = facts.axis_bytes / probe / 1e9 if probe else None
        facts.at_axis = next((p for p in facts.sweep if (p["m"], p["n"]) == (m, n)), None)
        store = _rows(results, "store")
        store = store[(store["m"] == m) & (store["n"] == n)]
        if not store.empty:
            facts.store_s = float(store["time_per_epoch_s"].iat[0])
            facts.store_codecs = store["store_codecs"].iat[0]
            facts.blocks_at_axis, facts.tree_depth = (
                int(store["blocks"].iat[0]),
                int(store["tree_depth"].iat[0]),
            )
            facts.workers = int(store["threads"].iat[0])
        facts.memory_s = _epoch(results, rung, m, n)
        for way, key in (("epoch", "processes_epoch_s"), ("overhead", "processes_empty_s")):
            rows = _rows(results, way, processes=True)
            rows = rows[(rows["m"] == m) & (rows["n"] == n)]
            if not rows.empty:
                setattr(facts, key, float(rows["time_per_epoch_s"].iat[0]))
        if facts.at_axis:  # the rung's own blocks in memory: what the network model is about
            facts.blocks_at_axis, facts.workers = facts.at_axis["blocks"], facts.at_axis["workers"]
            facts.tree_depth = facts.at_axis["tree_depth"]
    _fastest(facts)
    return facts


def _fastest(facts: Beyond) -> None:
    """Which block count was fastest, and how the page says it."""
    facts.leaders = fastest_blocks(facts.blocks)
    if facts.leaders:
        level, best = len(facts.leaders) > 1, facts.leaders[0]
        facts.blocks_verdict = "untold" if level else "one each" if best["per_worker"] <= 1 else "more"
