"""The facts: built once per results file, frozen, the only reader of the loaded run, and every
number and verdict they hold as the run's records say."""

from __future__ import annotations

import ast
import dataclasses
import json

import numpy as np
import pytest

from bench.report import fmt
from bench.report.facts import build, probe, select
from bench.results.load import load
from bench.suite.describe import parse_source as parse
from tests.bench.report.runs import REPORT, ROOT, race_at, race_records, reshape_race, set_rounds


def _takes_raw_results(node) -> bool:
    args = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
    return any(a.arg == "results" or "Results" in ast.unparse(a.annotation or ast.Constant("")) for a in args)


def test_only_the_loader_and_the_facts_builder_take_the_raw_results():
    """Tables, charts, pages and the command line read the run's facts, never the loaded table."""
    builder = {REPORT / "load.py", *(REPORT / "facts").glob("*.py")}
    for path in sorted(set(REPORT.rglob("*.py")) - builder):
        for node in ast.walk(parse(path)):
            if isinstance(node, ast.FunctionDef):
                where = f"{path.relative_to(ROOT)}:{node.name}"
                assert not _takes_raw_results(node), f"{where} takes the raw results"


def test_the_facts_are_frozen(results_file):

    facts = build(load(results_file))
    with pytest.raises(dataclasses.FrozenInstanceError):
        facts.order = ()
    with pytest.raises(TypeError):
        facts.sections["curve"] = None  # a read-only mapping


def test_hidden_arithmetic_comes_from_the_side_by_side_rounds(results_file, tmp_path):
    """The 'why below the probe' numbers: the one-process rung's median epoch per row where X fits in
    the cache, and the probe's read and its epoch at the largest size, in the same rounds."""
    raw = json.loads(results_file.read_text())
    raw["machine_info"]["last_level_cache_bytes"] = int(
        4 * select.m_sweep(load(results_file))["bytes_x"].min()
    )
    path = tmp_path / "small-cache.json"
    path.write_text(json.dumps(raw))
    results = load(path)
    hidden = probe.hidden_arithmetic(results, build(results).ratios, "numba_fused")
    assert hidden is not None
    (m_cache, n), (m_big, _) = hidden["cache_size"], hidden["big_size"]
    small, large = race_at(raw, (m_cache, n)), race_at(raw, (m_big, n))
    assert hidden["arithmetic_row_s"] == pytest.approx(np.median(small["times_s"]["numba_fused"]) / m_cache)
    assert hidden["memory_row_s"] == pytest.approx(np.median(large["probe_s"]) / m_big)
    assert hidden["epoch_row_s"] == pytest.approx(np.median(large["times_s"]["numba_fused"]) / m_big)
    memory, epoch = hidden["memory_row_s"], hidden["epoch_row_s"]
    assert hidden["in_range"] == (memory <= epoch <= memory + hidden["arithmetic_row_s"])


def test_the_probe_runs_in_every_round_of_the_races(results_file):
    import numpy as np

    for info in race_records(results_file):
        probe = np.array(info["probe_s"])
        assert len(probe) == info["race_rounds"]  # the probe ran once in every round
        for name, times in info["times_s"].items():
            share = float(np.median(probe / np.array(times)))
            assert share == pytest.approx(info["probe_share_median"][name], rel=1e-3)


def test_the_fastest_block_count_is_the_fastest_or_says_level():
    """4: one block per thread at 53.4 ms beats two at 57.4; where the spreads overlap, they are level."""
    from bench.report.facts.beyond import fastest_blocks

    def block(per_worker, epoch, spread):
        return {"per_worker": per_worker, "epoch": epoch, "epoch_q1": epoch, "epoch_q3": epoch + spread}

    apart = [block(2, 0.0574, 0.001), block(1, 0.0534, 0.001), block(4, 0.0611, 0.001)]
    assert [p["per_worker"] for p in fastest_blocks(apart)] == [1]
    close = [block(2, 0.0540, 0.004), block(1, 0.0534, 0.004)]
    assert [p["per_worker"] for p in fastest_blocks(close)] == [1, 2]


def test_a_rung_is_level_with_the_reference_where_the_interval_of_their_ratio_includes_1(
    results_file, tmp_path
):
    """Along the m sweep: below the reference's epoch in every round, level (the ratios either side of
    1), then above it; only the side-by-side rounds decide."""
    raw = json.loads(results_file.read_text())
    reference, other = "numpy_vectorized", "numba_fused"
    sizes = select.sweep_sizes(load(results_file))
    for k, size in enumerate(sizes):
        race = race_at(raw, size)
        reshape_race(race, [8, 8])
        factor = (0.5, 1.0, 2.0)[min(k, 2)]
        set_rounds(race, reference, lambda r: 1e-3 * (1 + 0.02 * (r % 4)))
        set_rounds(race, other, lambda r, f=factor: 1e-3 * (1 + 0.02 * (r % 4)) * f * (1 + 0.01 * (-1) ** r))
    path = tmp_path / "level.json"
    path.write_text(json.dumps(raw))
    facts = build(load(path))
    rows = {rung: {m: s.verdict for m, s in found} for rung, found in facts.crossovers}
    expected = {m: ("faster", "level", "slower")[min(k, 2)] for k, (m, _) in enumerate(sizes)}
    assert rows[other] == expected


def test_a_comparison_is_decided_once_and_kept(results_file):
    """Each comparison of two rungs is the registry's: the same object however it is reached; a pair
    the run did not time side by side gives none (the page then prints its gap)."""
    facts = build(load(results_file))
    fused, reference = facts.rungs[facts.ladder.one_process], facts.ladder.reference
    first = fused.vs[reference]["t_big"]
    assert first.canonical is fused.vs[reference]["t_big"].canonical
    assert first.canonical is facts.rungs[reference].vs[fused.name]["t_big"].canonical
    assert first.verdict in ("faster", "slower", "level")
    assert fused.reads["t_big"].other == "roofline" and fused.reads["t_big"].against_probe
    assert fmt.versus(None) == "n/a against"
    with pytest.raises(KeyError):
        fused.vs["no_such_rung"]


def test_a_step_that_names_a_rung_the_run_lacks_is_a_gap_of_the_facts(results_file, tmp_path):
    raw = json.loads(results_file.read_text())
    raw["benchmarks"] = [b for b in raw["benchmarks"] if b["extra_info"].get("rung") != "numba_tiled"]
    for race in (b["extra_info"] for b in raw["benchmarks"] if b["extra_info"]["kind"] == "head_to_head"):
        race["times_s"].pop("numba_tiled", None)  # nor side by side
        race["ladder"] = [name for name in race["ladder"] if name != "numba_tiled"]
    path = tmp_path / "results.json"
    path.write_text(json.dumps(raw))
    facts = build(load(path))
    blocked = facts.rungs["numba_blocked"].claims
    assert not blocked["big"] and not blocked["one"] and not blocked["float32"]
    assert blocked["big"].gap == (
        "numba_blocked against numba_tiled side by side at the largest size: not measured in this run"
    )
    assert facts.rungs["numba_fused"].claims["big"] and all(facts.claims.values())
