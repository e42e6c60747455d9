"""The facts: built once per results file, frozen, the only reader of the loaded run, and every
number and verdict they hold as the run's records say."""

from __future__ import annotations

import ast
import copy
import dataclasses
import json

import pytest

from bench.report import fmt
from bench.report.facts import build, probe, select
from bench.report.facts.compare import Timing, compare
from bench.results.load import load
from tests.bench.report.runs import REPORT, ROOT, committed_pairs, race_records


def _takes_raw_results(node) -> bool:
    args = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
    return any(a.arg == "results" or "Results" in ast.unparse(a.annotation or ast.Constant("")) for a in args)


def test_only_the_loader_and_the_facts_builder_take_the_raw_results():
    """Tables, charts, pages and the command line read the run's facts, never the loaded table."""
    builder = {REPORT / "load.py", *(REPORT / "facts").glob("*.py")}
    for path in sorted(set(REPORT.rglob("*.py")) - builder):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef):
                where = f"{path.relative_to(ROOT)}:{node.name}"
                assert not _takes_raw_results(node), f"{where} takes the raw results"


def test_the_facts_are_frozen(results_file):

    facts = build(load(results_file))
    with pytest.raises(dataclasses.FrozenInstanceError):
        facts.order = ()
    with pytest.raises(TypeError):
        facts.sections["curve"] = None  # a read-only mapping


def test_hidden_arithmetic_comes_from_the_committed_runs_records():
    """The 'why below the probe' numbers: the in-cache epoch, the side-by-side pair at the largest size,
    of the one-process rung, which runs the same kernel at both sizes."""
    path = ROOT / "reports" / "results.json"
    raw = json.loads(path.read_text())
    hidden = probe.hidden_arithmetic(load(path), "numba_fused")
    assert hidden is not None
    (m_cache, n), (m_big, _) = hidden["cache_size"], hidden["big_size"]
    assert m_cache * n * 8 <= select.last_level_cache(raw["machine_info"]) / 2 < m_big * n * 8
    infos = [(b["extra_info"], b["stats"]) for b in raw["benchmarks"]]
    pair = next(
        i
        for i, _ in infos
        if i["kind"] == "paired" and i["rung"] == "numba_fused" and (i["m"], i["n"]) == (m_big, n)
        if i["dtype"] == "float64" and i["threads_setting"] == "all"
    )
    descent = next(
        (i, s)
        for i, s in infos
        if i["kind"] == "descent" and i["rung"] == "numba_fused" and (i["m"], i["n"]) == (m_cache, n)
        if i["dtype"] == "float64" and i["threads_setting"] == "all"
    )
    arithmetic = descent[1]["min"] / descent[0]["epochs"] / m_cache
    memory, epoch = pair["probe_best_s"] / m_big, pair["epoch_best_s"] / m_big
    assert hidden["arithmetic_row_s"] == pytest.approx(arithmetic)
    assert hidden["memory_row_s"] == pytest.approx(memory) and hidden["epoch_row_s"] == pytest.approx(epoch)
    assert hidden["hidden"] == pytest.approx((arithmetic + memory - epoch) / arithmetic)
    assert hidden["rung"] == "numba_fused"  # one kernel at both sizes: a rung without a plan
    text = (ROOT / "reports" / "past-numpy.md").read_text()
    assert "an epoch of `numba_fused` took" in text
    overlapped = f"it overlapped {fmt.fmt_pct(hidden['hidden'])} of its in-cache time with the reads"
    if arithmetic < epoch:  # the in-cache epoch is the faster: the overlap can be read off
        assert overlapped in text
    else:  # fixed costs per epoch outweigh the rows in the cache: the page says it cannot tell
        assert overlapped not in text and "cannot tell the arithmetic's time from the memory's" in text


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


def test_the_probes_rates_across_side_by_side_benchmarks_are_stated_from_the_pairs():
    """Where shares of two benchmarks sit side by side, the page gives how fast the probe read X in each."""
    path = ROOT / "reports" / "results.json"
    raw = json.loads(path.read_text())
    results = load(path)
    spread = probe.probe_spread(results)
    assert spread is not None
    rates = {r: i["bytes_x"] / i["probe_best_s"] for r, i in committed_pairs(raw, spread["size"]).items()}
    slow, fast = min(rates, key=rates.get), max(rates, key=rates.get)
    assert (spread["slow_rung"], spread["fast_rung"]) == (slow, fast)
    assert spread["slow"] == pytest.approx(rates[slow]) and spread["fast"] == pytest.approx(rates[fast])
    said = f"read $X$ at {rates[slow] / 1e9:.0f} GB/s beside `{slow}` and at {rates[fast] / 1e9:.0f} GB/s"
    depth_page = (ROOT / "reports" / "past-numpy.md").read_text()  # with the roofline's definition
    assert (said in depth_page) == (rates[fast] / rates[slow] >= 1.2)


def test_a_rung_is_level_with_the_reference_where_the_interval_of_their_ratio_includes_1(
    results_file, tmp_path
):
    raw = json.loads(results_file.read_text())
    out = copy.deepcopy(raw)
    reference, other = "numpy_vectorized", "numba_fused"
    sweep = select.m_sweep(load(results_file))
    n_fixed, m_values = int(sweep["n"].iat[0]), sorted(int(m) for m in set(sweep["m"]))
    # At the first m the other rung's band lies below the reference's; at the second they overlap;
    # at any further m it lies above.
    for bench in out["benchmarks"]:
        info = bench["extra_info"]
        if info["kind"] != "descent" or info["rung"] not in (reference, other):
            continue
        if (info["n"], info["dtype"], info["threads_setting"]) != (n_fixed, "float64", "all"):
            continue
        k = m_values.index(info["m"])
        lo = 1.0 if info["rung"] == reference else (0.5, 1.05, 2.0)[min(k, 2)]
        rounds = [lo * info["epochs"] * (1 + 0.02 * i) for i in range(10)]  # 1.0 to 1.18 times lo
        bench["stats"].update(min=rounds[0], median=rounds[5], q1=rounds[2], q3=rounds[7], data=rounds)
    path = tmp_path / "level.json"
    path.write_text(json.dumps(out))
    rows = {rung: (wins, level, loses) for rung, wins, level, loses in select.crossovers(load(path))}
    wins, level, loses = rows[other]
    assert wins == m_values[:1] and level == m_values[1:2] and loses == m_values[2:]


def test_a_comparison_says_so_when_best_and_median_rounds_disagree():
    """A learner reads the best-round times shown beside the words: where the medians point the other
    way, the words say both rather than call the faster-looking time slower."""
    fast_best = Timing(8.8e-6, [8.8e-6, 16e-6, 15.5e-6, 15.8e-6, 16.2e-6, 15.9e-6, 16.1e-6])
    steady = Timing(13.1e-6, [13.1e-6, 13.2e-6, 13.3e-6, 13.2e-6, 13.4e-6, 13.3e-6, 13.2e-6])
    said = fmt.versus(compare(fast_best, steady))
    assert said.startswith("faster in its best round but ") and said.endswith(
        " slower in its median round than"
    )
    assert fmt.versus(compare(steady, steady * 2)).endswith("faster than") and "round" not in fmt.versus(
        compare(steady, steady * 2)
    )


def test_a_comparison_is_decided_once_and_kept(results_file):
    """Each comparison of two rungs is computed the first time it is read and the same one after;
    a time the run did not measure gives none (the page then says n/a, or prints its gap)."""
    facts = build(load(results_file))
    fused, reference = facts.rungs[facts.ladder.one_process], facts.ladder.reference
    first = fused.vs[reference]["t_big"]
    assert first is fused.vs[reference]["t_big"] and first.verdict in ("faster", "slower", "level")
    assert first.interval is not None and first.tied == (first.verdict == "level")
    assert first.ratio == pytest.approx(fused.t_big / facts.rungs[reference].t_big)
    assert compare(None, fused.t_big) is None and fmt.versus(None) == "n/a against"
    with pytest.raises(KeyError):
        fused.vs["no_such_rung"]


def test_a_step_that_names_a_rung_the_run_lacks_is_a_gap_of_the_facts(results_file, tmp_path):
    raw = json.loads(results_file.read_text())
    raw["benchmarks"] = [b for b in raw["benchmarks"] if b["extra_info"].get("rung") != "numba_tiled"]
    path = tmp_path / "results.json"
    path.write_text(json.dumps(raw))
    facts = build(load(path))
    blocked = facts.rungs["numba_blocked"].claims
    assert not blocked["big"] and not blocked["one"] and not blocked["float32"]
    assert blocked["big"].gap == (
        "numba_blocked against numba_tiled and numpy_vectorized at the largest size: not measured in this run"
    )
    assert facts.rungs["numba_fused"].claims["big"] and all(facts.claims.values())
