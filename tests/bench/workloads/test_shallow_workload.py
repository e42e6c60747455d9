"""The shallow workload as a folder: found by the report, its records set aside by the loader and
read by its page, the turnover placed only where the intervals say, a malformed record named."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from bench.report.cli import main
from bench.results.load import load
from bench.workloads import discover
from bench.workloads.shallow import FIELDS, NAME, PRODUCT, READ, RecordError, check
from bench.workloads.shallow.page import FUSED, turnover, widths
from tests.bench.report.runs import FIXTURE

WORKLOADS = Path(__file__).resolve().parents[3] / "bench" / "workloads"


def test_every_workload_folder_is_found_with_its_page():
    folders = sorted(p.name for p in WORKLOADS.iterdir() if (p / "page.py").is_file())
    found = discover()
    assert [w.name for w in found] == folders == [NAME]
    assert found[0].page == "roofline.md"


def test_the_loader_sets_the_workloads_records_aside():
    run = load(FIXTURE)
    records = run.workloads[NAME]
    assert records and all(r["extra_info"]["workload"] == NAME for r in records)
    assert "numba_blas" not in set(run.table["rung"])  # a rung of the shallow ladder only
    assert not any(r.get("workload") for r in run.head_to_head)


def _record(h: int, side_pass: int, scales: dict[str, float], rounds: int = 8, seed: int = 0) -> dict:
    """A shallow record whose rungs' epochs are ``scales`` times a shared round time, with 2% noise
    of their own: a known ratio between any two rungs."""
    rng = np.random.default_rng([seed, h, side_pass])
    base = 0.01 * h * (1 + 0.2 * rng.random(rounds))
    times = {
        name: list(base * scale * (1 + 0.02 * rng.standard_normal(rounds))) for name, scale in scales.items()
    }
    info = {
        "workload": NAME,
        "kind": "side_by_side",
        "m": 1_000,
        "n": 100,
        "dtype": "float64",
        "hidden": h,
        "threads": 2,
        "side_pass": side_pass,
        "ladder": list(scales),
        "times_s": times,
        "probe_s": list(0.001 * (1 + 0.01 * rng.random(rounds))),
        "product_s": list(0.02 * (1 + 0.01 * rng.random(rounds))),
        "product_macs": 1 << 30,
        "macs_per_epoch": 2 * 1_000 * 100 * h,
        "bytes_x": 800_000,
        "errors": dict.fromkeys(scales, 0.0),
        "tolerance": dict.fromkeys(scales, 1e-9),
    }
    return {"name": f"test_shallow[h{h}-pass{side_pass + 1}]", "extra_info": check(info, "test")}


def _sweep(fused_over_blas: dict[int, float]) -> list[dict]:
    return [
        _record(h, k, {FUSED: ratio, "numba_blas": 1.0, "numpy_vectorized": 1.5})
        for h, ratio in fused_over_blas.items()
        for k in range(3)
    ]


def test_the_ladder_turns_over_between_the_widths_the_intervals_tell_apart():
    turn = turnover(widths(_sweep({1: 0.5, 2: 0.6, 4: 1.0, 8: 1.8, 16: 2.5})))
    verdicts = {h: s.verdict for h, s in turn["rows"]}
    assert verdicts == {1: "faster", 2: "faster", 4: "level", 8: "slower", 16: "slower"}
    assert (turn["fused_up_to"], turn["blas_from"]) == (2, 8)
    assert {s.b for _, s in turn["rows"]} == {"numba_blas"}  # the better BLAS rung at each h


def test_blas_leads_from_a_width_only_if_it_leads_at_every_wider_one():
    turn = turnover(widths(_sweep({1: 0.5, 8: 1.8, 16: 1.0})))
    assert (turn["fused_up_to"], turn["blas_from"]) == (1, None)


def test_a_record_without_a_field_or_of_the_wrong_type_is_named():
    info = dict(_record(4, 0, {FUSED: 1.0})["extra_info"])
    del info["probe_s"]
    with pytest.raises(RecordError, match="'probe_s'"):
        check(info, "h4")
    info = {**_record(4, 0, {FUSED: 1.0})["extra_info"], "hidden": "4"}
    with pytest.raises(RecordError, match="'hidden' must be int"):
        check(info, "h4")
    assert set(FIELDS) >= {"times_s", "probe_s", "product_s"} and {READ, PRODUCT}.isdisjoint(FIELDS)


def test_the_page_is_written_and_linked_only_where_the_run_has_the_workload(tmp_path):
    raw = json.loads(FIXTURE.read_text())
    assert main([str(FIXTURE), "--out", str(tmp_path / "with")]) == 0
    page = (tmp_path / "with" / "roofline.md").read_text()
    assert "(roofline.md)" in (tmp_path / "with" / "README.md").read_text()
    assert (tmp_path / "with" / "fig_roofline.png").stat().st_size > 0
    assert "surely" in page and "GB/s" in page
    raw["benchmarks"] = [b for b in raw["benchmarks"] if (b.get("extra_info") or {}).get("workload") != NAME]
    without = tmp_path / "without.json"
    without.write_text(json.dumps(raw))
    assert main([str(without), "--out", str(tmp_path / "without")]) == 0
    assert not (tmp_path / "without" / "roofline.md").exists()
    assert "roofline.md" not in (tmp_path / "without" / "README.md").read_text()


def test_a_pair_at_a_width_reads_the_same_in_the_list_and_in_the_table(tmp_path):
    """The turnover's list states the fused rung against the better BLAS rung at each h; the table
    states each rung against the fused one: one ratio, the same numbers in both places."""
    from bench.workloads.shallow.page import write

    records = _sweep({1: 0.5, 2: 0.6, 4: 1.0, 8: 1.8, 16: 2.5})
    write(records, {}, "2026-12-07", tmp_path)
    page = (tmp_path / "roofline.md").read_text()
    listed = re.findall(r"- \$h\$ = (\d+): `numba_fused` (.+?) (?:than|with) `(\w+)`", page)
    assert len(listed) == 5
    for h, words, other in listed:
        row = next(r for r in _rows(page) if r[0] == h and r[1] == f"`{other}`")
        numbers = re.findall(r"[\d.]+", words)
        assert re.findall(r"[\d.]+", row[-1]) == numbers, (h, words, row[-1])
        flipped = {"faster": "slower", "slower": "faster", "level": "level"}
        assert flipped[words.split()[-1] if "level" not in words else "level"] in row[-1]
    assert "turns over between $h$ = 2" in page and "and $h$ = 8" in page


def _rows(page: str) -> list[list[str]]:
    return [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in page.splitlines()
        if line.startswith("|") and not line.startswith("|--")
    ]
