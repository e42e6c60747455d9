"""A side-by-side point's processes as passes spread over the run, and joined again when read."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from bench.conftest import spread_passes
from bench.results import side
from bench.results.load import ResultsError, load
from impls import PLANNED
from tests.bench.report.runs import joined

FIXTURE = Path(__file__).resolve().parents[2] / "data" / "results.json"


def _item(path: str, side_pass: int | None = None):
    params = {} if side_pass is None else {"side_pass": side_pass}
    return SimpleNamespace(path=Path(path), callspec=SimpleNamespace(params=params), pass_=side_pass)


def test_passes_are_spread_over_the_run_at_file_boundaries():
    others = [_item("a.py")] * 2 + [_item("b.py")] * 10 + [_item("c.py")] * 2 + [_item("d.py")] * 6
    passes = [_item("side.py", k) for k in range(3) for _ in range(4)]
    order = spread_passes(passes + others)
    where = {k: [i for i, item in enumerate(order) if item.pass_ == k] for k in range(3)}
    assert where[0] == [0, 1, 2, 3]  # the first pass first
    assert where[2] == list(range(len(order) - 4, len(order)))  # the last pass last
    assert [item.path.name for item in order[where[1][0] - 1 : where[1][-1] + 2]] == [
        "b.py",
        *["side.py"] * 4,
        "c.py",
    ]  # the middle one between two files, the boundary nearest the middle
    assert sorted(map(id, order)) == sorted(map(id, passes + others))


def test_one_pass_or_no_other_benchmark_leaves_the_order_alone():
    items = [_item("side.py", 0), _item("a.py"), _item("side.py", 0)]
    assert spread_passes(items) == items
    only = [_item("side.py", k) for k in (1, 0)]
    assert spread_passes(only) == only


def _point(info: dict) -> tuple:
    return info["m"], info["n"], info["dtype"], info["threads_setting"]


def _passes(raw: dict) -> list[dict]:
    return [
        b["extra_info"]
        for b in raw["benchmarks"]
        if b["extra_info"].get("side_pass") is not None and "workload" not in b["extra_info"]
    ]


def _written(tmp_path: Path, raw: dict) -> Path:
    path = tmp_path / "results.json"
    path.write_text(json.dumps(raw))
    return path


def test_a_points_passes_are_read_as_one_record_their_rounds_in_pass_order(tmp_path):
    raw = json.loads(FIXTURE.read_text())
    passes = _passes(raw)
    assert len({info["side_pass"] for info in passes}) == 2  # the smoke profile's two processes
    run = load(FIXTURE)
    assert len(run.head_to_head) * 2 == len(passes)
    for race in run.head_to_head:
        mine = sorted((i for i in passes if _point(i) == _point(race)), key=lambda i: i["side_pass"])
        assert race["process_rounds"] == [r for info in mine for r in info["process_rounds"]]
        assert race["probe_s"] == [t for info in mine for t in info["probe_s"]]
        assert race["times_s"][PLANNED] == [t for info in mine for t in info["times_s"][PLANNED]]
        assert race["max_rel_error"] == max(info["max_rel_error"] for info in mine)
        assert "-pass" not in race["benchmark"] and race["side_pass"] is None
    # a file whose points are one record each (as older runs wrote them) reads the same
    assert load(_written(tmp_path, joined(raw))).head_to_head == run.head_to_head


def test_two_plans_in_one_points_passes_are_both_said(tmp_path):
    raw = json.loads(FIXTURE.read_text())
    point = _point(_passes(raw)[0])
    first, second = sorted((i for i in _passes(raw) if _point(i) == point), key=lambda i: i["side_pass"])
    first["plan"], second["plan"] = "fused", "blocked"
    race = next(r for r in load(_written(tmp_path, raw)).head_to_head if _point(r) == point)
    assert race["plan"] == "fused then blocked"  # another kernel in one pass: said, not hidden


def test_a_malformed_pass_is_named_not_joined(tmp_path):
    raw = json.loads(FIXTURE.read_text())
    bad = next(
        b
        for b in raw["benchmarks"]
        if b["extra_info"].get("side_pass") == 1 and "workload" not in b["extra_info"]
    )
    bad["extra_info"]["times_s"] = "soon"
    before = copy.deepcopy(raw)
    with pytest.raises(ResultsError, match="'times_s' must be an object of lists of numbers"):
        load(_written(tmp_path, raw))
    assert side.join_passes(raw["benchmarks"], PLANNED) and raw == before  # nothing changed in place


def test_a_points_rungs_are_decided_once_for_all_its_passes(monkeypatch):
    from bench.suite import bench_side_by_side as side_by_side
    from bench.suite.harness import Point

    answers = iter([["numpy_vectorized", PLANNED], [PLANNED]])  # a rung near the budget, then not
    monkeypatch.setattr(side_by_side, "_LADDERS", {})
    monkeypatch.setattr(side_by_side, "_within_budget", lambda point: next(answers))
    point = Point(10, 2, "float64", PLANNED, "all")
    assert side_by_side.rungs_at(point) == side_by_side.rungs_at(point) == ["numpy_vectorized", PLANNED]


def test_the_planned_rung_runs_at_its_points_whatever_its_prediction(monkeypatch):
    """A side-by-side point is the planned rung's: a prediction that timed its planning once left
    a default run without its float32 point; the other rungs still answer to the budget."""
    from bench.suite import bench_side_by_side as side_by_side
    from bench.suite.harness import Point

    monkeypatch.setattr(side_by_side, "predicted_round_s", lambda rung, *args: 1e9)
    names = side_by_side._within_budget(Point(10, 2, "float64", PLANNED, "all"))
    assert names == [PLANNED]


def test_each_process_meets_its_own_orders_of_the_rungs():
    """The rounds' orders are drawn afresh per call (per process): with one fixed seed, every process
    of a point met the same orders, and the rung that followed the slow pure-Python one in the first
    rounds followed it in every process, slower each time (a bias no number of processes removes)."""
    from bench.suite.side_by_side import Design, timed_rounds

    design = Design(min_rounds=4, max_rounds=4, seconds=0.0, probe_s=0.0)
    names = [f"rung{k}" for k in range(10)]
    orders = []
    for _ in range(2):
        ran: list[str] = []
        timed_rounds(names, ran.append, design)
        orders.append(ran)
    assert sorted(orders[0]) == sorted(orders[1]) == sorted(names * 4)
    assert orders[0] != orders[1]  # equal by chance once in (10!)^4
