"""The statistics every comparison uses: ratios of times with 95% intervals, and the words they allow."""

from __future__ import annotations

import numpy as np
import pytest

import ladderstats as stats


def test_the_interval_of_a_median_is_the_order_statistics_of_the_binomial_table():
    # For 20 values the 95% interval of the median runs from the 6th to the 15th smallest
    # (coverage 95.9%), and for 10 from the 2nd to the 9th (97.9%): the textbook table.
    values = np.arange(1.0, 21.0)
    assert stats.median_interval(values) == (10.5, 6.0, 15.0)
    assert stats.median_interval(np.arange(1.0, 11.0)) == (5.5, 2.0, 9.0)


def test_thousands_of_rounds_give_an_interval_of_their_median():
    """A side-by-side point may run 3,000 rounds: the binomial table's tail is summed exactly there
    (as a float, 2**n overflows beyond 1,023 values)."""
    values = np.linspace(1.0, 2.0, 3001)
    median, low, high = stats.median_interval(values)
    assert median == 1.5 and low < median < high and high - low < 0.04
    assert stats.paired(values, values / 2).estimate == 2.0


def test_too_few_values_give_the_whole_range():
    assert stats.median_interval([3.0, 1.0, 2.0, 5.0, 4.0]) == (3.0, 1.0, 5.0)


def test_paired_times_that_differ_by_a_constant_factor_give_that_factor_exactly():
    rng = np.random.default_rng(1)
    b = rng.lognormal(0, 0.3, 40)
    r = stats.paired(1.25 * b, b)
    assert r.estimate == r.low == r.high == pytest.approx(1.25)
    assert (
        r.verdict() == "slower"
        and r.verdict(0.3) == "level"
        and stats.paired(b, 1.25 * b).verdict() == "faster"
    )


def test_a_sample_against_itself_is_level_both_ways():
    rng = np.random.default_rng(2)
    a = rng.lognormal(0, 0.2, 30)
    for r in (stats.paired(a, a), stats.independent(a, a)):
        assert r.estimate == 1.0 and r.low <= 1.0 <= r.high and r.verdict() == "level"


def _coverage(make, trials: int) -> float:
    hits = 0
    for seed in range(trials):
        r, truth = make(np.random.default_rng(seed))
        hits += r.low <= truth <= r.high
    return hits / trials


def test_the_independent_interval_covers_the_true_ratio_about_95_percent_of_the_time():
    # Two benchmarks' rounds: lognormal, medians 1.0 and 1.3, 20 rounds each. The true ratio of
    # medians is 1/1.3; an honest 95% interval holds it in at least ~90% of runs.
    def make(rng):
        a, b = rng.lognormal(0, 0.1, 20), rng.lognormal(np.log(1.3), 0.1, 20)
        return stats.independent(a, b), 1 / 1.3

    assert _coverage(make, 150) >= 0.9


def test_the_paired_interval_covers_the_true_median_ratio_at_least_95_percent_of_the_time():
    def make(rng):
        b = rng.lognormal(0, 0.3, 25)  # the round's state of the machine, shared by both
        a = 1.1 * b * rng.lognormal(0, 0.05, 25)  # ratio's median: 1.1
        return stats.paired(a, b), 1.1

    assert _coverage(make, 300) >= 0.93


def test_a_clear_difference_is_not_level_and_a_small_one_below_the_threshold_is():
    rng = np.random.default_rng(3)
    a, b = rng.lognormal(np.log(1.5), 0.05, 15), rng.lognormal(0, 0.05, 15)
    r = stats.independent(a, b)
    assert r.low > 1.3 and r.verdict(0.05) == "slower" and r.excludes(1.0)
    c = rng.lognormal(np.log(1.02), 0.05, 15)
    assert stats.independent(c, b).verdict(0.05) == "level"


def test_one_round_cannot_tell_anything():
    r = stats.independent([2.0], [1.0, 1.1, 0.9])
    assert r.estimate == 2.0 and r.verdict() == "level" and np.isinf(r.high)


@pytest.mark.parametrize(
    ("a", "b", "message"),
    [
        ([], [1.0], "a must be a non-empty list"),
        ([1.0], [0.0], "b must hold positive, finite times"),
        ([1.0, float("nan")], [1.0, 1.0], "a must hold positive, finite times"),
    ],
)
def test_samples_that_are_not_times_are_refused_by_name(a, b, message):
    with pytest.raises(stats.StatsError, match=message):
        stats.independent(a, b)
    with pytest.raises(stats.StatsError, match="one length"):
        stats.paired([1.0, 2.0], [1.0])


def test_the_inputs_are_left_as_they_were():
    a, b = np.array([3.0, 1.0, 2.0, 4.0]), [2.0, 2.5, 1.5, 2.2]
    before = (a.copy(), list(b))
    stats.independent(a, b), stats.paired(a, b)
    assert np.array_equal(a, before[0]) and b == before[1]


def test_an_order_effect_is_found_under_a_drift_that_halves_would_carry():
    drift = [1.0 + 0.05 * k for k in range(20)]  # the machine slows 5% a round
    level = stats.alternating(drift)  # no order effect: the neighbours take the drift out
    assert 0.99 < level.low <= level.estimate <= level.high < 1.01
    late = stats.alternating([t * (1.2 if k % 2 else 1.0) for k, t in enumerate(drift)])
    assert 1.19 < late.low <= late.estimate <= late.high < 1.21
    with pytest.raises(stats.StatsError, match="alternate"):
        stats.alternating([1.0])


def test_side_by_side_in_one_process_is_the_paired_ratio():
    a, b = [1.1, 1.2, 1.15, 1.3, 1.12, 1.18, 1.2], [1.0, 1.1, 1.0, 1.2, 1.0, 1.05, 1.1]
    assert stats.side_by_side([a], [b]) == stats.paired(a, b)


def test_side_by_side_interval_covers_the_processes_not_only_the_rounds():
    """Three processes whose ratios sit at 1.00, 1.06 and 1.12 with little spread within each: the
    rounds pooled as one process give an interval too narrow to hold a fourth process at either end;
    drawing the processes too gives one that reaches across them."""
    rng = np.random.default_rng(3)
    b = [rng.uniform(1.0, 1.01, 20) for _ in range(3)]
    a = [r * level * rng.uniform(0.99, 1.01, 20) for r, level in zip(b, (1.00, 1.06, 1.12), strict=True)]
    across = stats.side_by_side(a, b)
    pooled = stats.paired(np.concatenate(a), np.concatenate(b))
    assert across.processes == 3 and across.rounds == 60
    assert across.estimate == pytest.approx(pooled.estimate)
    assert across.low < 1.01 and across.high > 1.11  # the processes' spread
    assert pooled.low > 1.02 and pooled.high < 1.10  # the rounds' alone
    assert pooled.high - pooled.low < across.high - across.low
    assert stats.side_by_side(a, b) == across  # seeded: a lesson regenerates byte for byte


def test_side_by_side_intervals_from_three_processes_hold_the_next_run():
    """Runs of three processes, each process off by its own few percent (where its X landed), each
    round by less: one run's interval must hold the next run's estimate about as often as honest
    intervals do (83% at 95%: ``replication_rate``). The bootstrap over processes alone holds it
    far less often, since with three processes it cannot reach past the three it has."""
    rng = np.random.default_rng(11)

    def run():
        b = [rng.uniform(1.0, 1.01, 3) for _ in range(3)]
        a = [r * np.exp(rng.normal(0, 0.03) + rng.normal(0, 0.01, 3)) for r in b]
        return a, b

    held = bootstrap_held = 0
    trials = 300
    for _ in range(trials):
        first, second = stats.side_by_side(*run()), stats.side_by_side(*run())
        held += first.low <= second.estimate <= first.high
        a, b = run()
        low, high = stats._two_stage([x / y for x, y in zip(a, b, strict=True)], stats.CONFIDENCE)
        bootstrap_held += low <= stats.side_by_side(*run()).estimate <= high
    assert held / trials >= 0.8
    assert bootstrap_held / trials < 0.7


def test_side_by_side_samples_must_pair_up():
    with pytest.raises(stats.StatsError, match="same processes"):
        stats.side_by_side([[1.0]], [[1.0], [1.0]])
    with pytest.raises(stats.StatsError, match="process 1's samples"):
        stats.side_by_side([[1.0], [1.0, 2.0]], [[1.0], [1.0]])
