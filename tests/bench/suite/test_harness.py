"""The benchmark's budget predictor, on a stand-in clock: what it predicts, not how fast anything runs."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from bench.suite import harness, pinned
from impls import IMPLEMENTATIONS

PER_CALL_S = 50e-6
PER_ROW_S = 40e-9  # a fast rung: 1000 rows take 90 us, a million rows 40 ms


@pytest.fixture
def stand_in_clock(monkeypatch):
    """One epoch on r rows "takes" PER_CALL_S + PER_ROW_S * r; the samples asked for are recorded."""
    samples = []

    def epoch_seconds(rung, X, y, dtype):
        samples.append(X.shape[0])
        seconds = PER_CALL_S + PER_ROW_S * X.shape[0]
        if X.shape[0] == 1000:
            seconds += 1e-3  # one hiccup of a millisecond, on the 1000-row sample
        return seconds

    monkeypatch.setattr(harness, "_epoch_seconds", epoch_seconds)
    monkeypatch.setattr(harness, "get_data", lambda m, n, dtype: (np.zeros((m, n)), np.zeros(m)))
    return samples


def test_a_hiccup_on_a_short_sample_does_not_inflate_the_prediction(stand_in_clock):
    m, epochs = 4_000_000, 3
    predicted = harness.predicted_round_s(
        IMPLEMENTATIONS["numpy_vectorized"], m, 4, np.dtype("float64"), epochs
    )
    true = (PER_CALL_S + PER_ROW_S * m) * epochs
    # The slope over 100..1000 rows alone would predict ~14 s; the larger samples fix it.
    assert predicted == pytest.approx(true, rel=0.05)
    assert stand_in_clock == [100, 1000, 10_000, 100_000, 1_000_000]


def test_samples_never_exceed_the_data(stand_in_clock):
    harness.predicted_round_s(IMPLEMENTATIONS["numpy_vectorized"], 3000, 4, np.dtype("float64"), 1)
    assert max(stand_in_clock) == 3000
    stand_in_clock.clear()
    assert harness.predicted_round_s(
        IMPLEMENTATIONS["numpy_vectorized"], 50, 4, np.dtype("float64"), 2
    ) == pytest.approx(2 * (PER_CALL_S + PER_ROW_S * 50))
    assert stand_in_clock == [50]


def test_one_slow_call_does_not_make_the_sample(monkeypatch):
    """An epoch sample is the best of two calls at least, however long the first one took."""
    clock = [0.0]
    durations = iter([0.0, 0.126, 0.078, 0.078, 0.078, 0.078])  # the compile call, then a hiccup

    def run(state, problem):
        clock[0] += next(durations)

    rung = SimpleNamespace(validate=lambda *a, **k: None, prepare=lambda problem: None, run=run)
    monkeypatch.setattr(harness, "time", SimpleNamespace(perf_counter=lambda: clock[0]))
    X = np.zeros((10, 3))
    assert harness._epoch_seconds(rung, X, np.zeros(10), np.dtype("float64")) == pytest.approx(0.078)


needs_pinning = pytest.mark.skipif(pinned.available() is not None, reason=str(pinned.available()))


@needs_pinning
def test_a_pinned_rung_runs_on_one_cpu_and_gives_the_in_process_answer():
    from bench.suite.data import timed_problem

    m, n, epochs = 2000, 7, 6
    with pinned.PinnedRung("numpy_vectorized", m, n, "float64", epochs) as child:
        child.run()
        child.probe()
        result, cpu_per_wall, cpus = child.report()
        # The best of three round trips, on a clock that reads 0.3, 0.1 and 0.5 s for them.
        clock = iter([0.0, 0.3, 1.0, 1.1, 2.0, 2.5])
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(pinned.time, "perf_counter", lambda: next(clock))
            assert child.round_trip_s(repeats=3) == pytest.approx(0.1)
    rung = IMPLEMENTATIONS["numpy_vectorized"]
    problem = timed_problem(rung, m, n, "float64", epochs)  # the benchmarks' data and start
    expected = rung.run(rung.prepare(problem), problem)
    np.testing.assert_array_equal(result.w, expected.w)
    np.testing.assert_array_equal(result.costs, expected.costs)
    assert len(cpus) == 1
    assert 0 < cpu_per_wall <= 1.1  # pinned to one CPU: at most one core's worth of CPU time
    assert not child.process.is_alive()


@needs_pinning
def test_a_pinned_rung_that_fails_says_why_and_does_not_hang():
    with pytest.raises(RuntimeError, match="KeyError: 'no_such_rung'"):
        with pinned.PinnedRung("no_such_rung", 100, 3, "float64", 1):
            pass


@pytest.mark.parametrize(
    ("name", "threads", "own"),
    [
        ("jax", "one", True),
        ("jax", "all", False),
        ("numba_fused", "one", False),
        ("torch", "one", False),
    ],
)
def test_only_a_thread_pool_fixed_at_start_up_needs_its_own_process(monkeypatch, name, threads, own):
    kinds = {"jax": "xla", "numba_fused": "numba", "torch": "torch"}
    monkeypatch.setattr(harness, "uses_threads", lambda rung: kinds[rung])
    assert harness.needs_own_process(name, threads) is own
    if own:
        with pytest.raises(RuntimeError, match=r"bench\.suite\.pinned"):
            with harness.limited_threads(name, threads):
                pass


def test_timed_calls_start_from_weights_that_spread_the_logits():
    """Not from w = 0, where every logit is 0: from a fixed random w whose logits spread like N(0, 1)."""
    from bench.suite.data import get_data, reference_answer, start_weights, timed_problem

    m, n = 4000, 50
    w = start_weights(n)
    assert w is start_weights(n) and not w.flags.writeable  # the same w for every rung
    X, _ = get_data(m, n)
    logits = X @ w
    assert 0.8 < logits.std() < 1.2 and np.unique(logits).size == m
    problem = timed_problem(IMPLEMENTATIONS["numba_fused"], m, n, "float32", epochs=3)
    np.testing.assert_array_equal(problem.w0, w.astype(np.float32))
    assert problem.w0 is not w and problem.epochs == 3
    reference = IMPLEMENTATIONS["numpy_vectorized"]
    from_zero = reference.fit(*get_data(m, n), lr=problem.lr, epochs=3)
    assert not np.allclose(reference_answer(m, n, 3).w, from_zero.w)  # the reference starts there too


def _counted(name: str) -> dict:
    rung = IMPLEMENTATIONS[name].rebuild()  # fresh, uncached: its assembly is kept
    X = np.random.default_rng(0).standard_normal((64, 4))
    rung.fit(X, (X[:, 0] > 0).astype(float), lr=0.1, epochs=1)
    return harness.simd_counts(rung, "float64")


@pytest.mark.slow  # compiles fresh, uncached copies of two rungs (about 15 s)
def test_the_simd_count_sees_the_blocked_kernels_vectorized_more_than_the_loops():
    loops, blocked = _counted("numba_loops"), _counted("numba_blocked")
    assert set(loops) == {"simd_packed_ops", "simd_scalar_ops", "simd_zmm_refs"}
    # numba_loops is the plain triple loop: most of its arithmetic stays scalar; the blocked
    # kernel is written so that LLVM packs it, and its packed operations outnumber its scalar ones.
    assert loops["simd_packed_ops"] < loops["simd_scalar_ops"]
    assert blocked["simd_packed_ops"] > blocked["simd_scalar_ops"]
    assert blocked["simd_packed_ops"] > 10 * loops["simd_packed_ops"]


def test_a_parse_broken_by_the_ast_depth_race_is_tried_again_and_other_errors_are_not(monkeypatch, tmp_path):
    import ast

    from bench.suite import describe

    path = tmp_path / "m.py"
    path.write_text("x = 1\n")
    real, calls = ast.parse, []

    def racy(
        text, filename="<unknown>", message="AST constructor recursion depth mismatch (before=1, after=2)"
    ):
        calls.append(message)
        if len(calls) < 3:
            raise SystemError(message)
        return real(text, filename)

    monkeypatch.setattr(describe.ast, "parse", racy)
    assert isinstance(describe.parse_source(path), ast.Module) and len(calls) == 3
    monkeypatch.setattr(
        describe.ast, "parse", lambda text, filename: (_ for _ in ()).throw(SystemError("other"))
    )
    with pytest.raises(SystemError, match="other"):
        describe.parse_source(path)
