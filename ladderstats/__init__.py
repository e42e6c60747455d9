"""Ratios of times with a 95% confidence interval, and the word an interval allows.

One module for every comparison the suite makes: the report's verdicts, the races of the
planned rung, and ``python -m bench.compare``. Two kinds of samples:

- *paired*: two things timed in the same rounds (a rung and the probe, two rungs in a race). The
  ratio is the median over rounds of a / b, and its interval the distribution-free one for a
  median: the order statistics that a binomial(n, 1/2) count puts around it (no assumption on
  the shape of the times, exact coverage of at least 95%).
- *independent*: two benchmarks timed apart (two runs of one benchmark, two rungs of separate
  benchmarks). The ratio is median(a) / median(b), and its interval a bootstrap over each sample's
  rounds (SciPy's ``stats.bootstrap``, BCa-free percentile method, a fixed seed so that a lesson
  regenerates byte for byte).

A ratio above 1 means ``a`` took longer. ``verdict`` gives "slower", "faster" or "level": a word
other than "level" only where the whole interval lies beyond 1 by more than the threshold.

A leaf of the house: it imports NumPy (and SciPy, only for the bootstrap and Student's t), so the
library's planner and the benchmarks both use it without either importing the other.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import cache

import numpy as np

CONFIDENCE = 0.95
#: Resamples of the bootstrap: enough for the 2.5% and 97.5% percentiles to settle to ~1%.
RESAMPLES = 2_000
SEED = 20261205


@dataclass(frozen=True)
class Ratio:
    """``a`` over ``b``: the estimate and its interval at ``confidence``; ``rounds`` behind it."""

    estimate: float
    low: float
    high: float
    rounds: int
    paired: bool
    confidence: float = CONFIDENCE
    processes: int = 1  # the fresh processes whose rounds the interval covers

    def excludes(self, value: float = 1.0) -> bool:
        return not (self.low <= value <= self.high)

    def verdict(self, threshold: float = 0.0) -> str:
        """ "slower" (a takes longer), "faster", or "level" when the interval reaches within
        ``threshold`` of 1 (e.g. 0.05: a difference under 5% is called level)."""
        if self.low > 1 + threshold:
            return "slower"
        if self.high < 1 / (1 + threshold):
            return "faster"
        return "level"


class StatsError(ValueError):
    """The samples cannot give a ratio (empty, not positive, not finite); the message says which."""


def _sample(values: Sequence[float], name: str) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim != 1 or array.size == 0:
        raise StatsError(f"{name} must be a non-empty list of times, got {array.size} values")
    if not np.all(np.isfinite(array)) or np.any(array <= 0):
        raise StatsError(f"{name} must hold positive, finite times")
    return array


@cache
def _order_statistic(n: int, confidence: float) -> int:
    """The largest k with P(Binomial(n, 1/2) < k) <= (1 - confidence) / 2 (0: none): the k-th
    smallest and k-th largest of n values then cover their median with ``confidence``."""
    # exact: tail * 2**n as a float overflows beyond 1,023 values (a side-by-side of 3,000 rounds)
    limit, k, below = Fraction((1 - confidence) / 2) * 2**n, 0, 0
    while k < n and below + math.comb(n, k) <= limit:
        below += math.comb(n, k)
        k += 1
    return k


def least_rounds(confidence: float = CONFIDENCE) -> int:
    """The fewest values whose order statistics give an interval of their median at ``confidence``
    (6 at 95%): before that, an interval is the whole range, and no race drops anyone on it."""
    n = 1
    while _order_statistic(n, confidence) < 1:
        n += 1
    return n


def median_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> tuple[float, float, float]:
    """(median, low, high): the distribution-free interval of a median, from order statistics.

    With fewer than ``least_rounds()`` values (6 at 95%) no two order statistics cover the median
    with that confidence: the interval is then the whole range (an honest 'cannot tell').
    """
    x = np.sort(_sample(values, "values"))
    n = x.size
    half = n // 2  # the median of sorted values, as np.median gives it (a race asks every round)
    median = float(x[half]) if n % 2 else float((x[half - 1] + x[half]) / 2)
    k = _order_statistic(n, confidence)
    if k < 1:
        return median, float(x[0]), float(x[-1])
    return median, float(x[k - 1]), float(x[n - k])


def paired(a: Sequence[float], b: Sequence[float], confidence: float = CONFIDENCE) -> Ratio:
    """The ratio of two things timed in the same rounds: median over rounds of a / b, with its interval."""
    a, b = _sample(a, "a"), _sample(b, "b")
    if a.size != b.size:
        raise StatsError(f"paired samples must be of one length, got {a.size} and {b.size}")
    estimate, low, high = median_interval(a / b, confidence)
    return Ratio(estimate, low, high, int(a.size), True, confidence)


def side_by_side(
    a: Sequence[Sequence[float]], b: Sequence[Sequence[float]], confidence: float = CONFIDENCE
) -> Ratio:
    """The ratio of two things timed in the same rounds of several processes, ``a[p][r]`` beside
    ``b[p][r]``: the median of every round's a / b, with an interval that covers the processes too.

    The rounds of one process share its state of the machine (where its memory landed, the
    neighbours of that minute), so an interval over them describes that process, not the next
    run. The interval reaches as far as either of two, on each side:

    - a two-stage bootstrap, as pyperf spreads values over worker processes: draw the processes
      with replacement, then each drawn process's rounds, take the median of the ratios drawn;
      the percentile interval of those medians;
    - Student's t over the processes: each process's median ratio is one value (in logs), and
      the interval reaches t(K − 1) standard errors of their mean either side of the estimate.
      A bootstrap over three processes cannot reach past the processes it has, which makes its
      interval too short for the next run; t is the textbook interval from few clusters.

    One process: ``paired``.
    """
    if len(a) != len(b) or not a:
        raise StatsError(f"side-by-side samples need the same processes, got {len(a)} and {len(b)}")
    ratios = []
    for k, (a_k, b_k) in enumerate(zip(a, b, strict=True)):
        a_k, b_k = _sample(a_k, f"a[{k}]"), _sample(b_k, f"b[{k}]")
        if a_k.size != b_k.size:
            raise StatsError(f"process {k}'s samples must be of one length, got {a_k.size} and {b_k.size}")
        ratios.append(a_k / b_k)
    if len(ratios) == 1:
        return paired(a[0], b[0], confidence)
    estimate = float(np.median(np.concatenate(ratios)))
    low, high = _two_stage(ratios, confidence)
    t_low, t_high = _across_processes(ratios, estimate, confidence)
    low, high = min(low, t_low, estimate), max(high, t_high, estimate)
    return Ratio(estimate, low, high, sum(r.size for r in ratios), True, confidence, len(ratios))


def _two_stage(ratios: list[np.ndarray], confidence: float) -> tuple[float, float]:
    """The percentile interval of the median over a bootstrap of processes, then their rounds."""
    medians = _two_stage_medians(ratios, np.random.default_rng(SEED))
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(medians, [tail, 100 - tail])
    return float(low), float(high)


def _two_stage_medians(samples: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """``RESAMPLES`` medians, each of the processes drawn with replacement, then their rounds."""
    sizes = np.array([r.size for r in samples])
    table = np.full((len(samples), sizes.max()), np.nan)
    for k, r in enumerate(samples):
        table[k, : r.size] = r
    processes = rng.integers(len(samples), size=(RESAMPLES, len(samples)))
    drawn_sizes = sizes[processes][..., None]
    rounds = np.floor(rng.random((*processes.shape, sizes.max())) * drawn_sizes).astype(np.intp)
    drawn = table[processes[..., None], rounds]
    drawn[np.arange(sizes.max()) >= drawn_sizes] = np.nan  # a shorter process draws its own count
    return np.nanmedian(drawn.reshape(RESAMPLES, -1), axis=1)


def _t_quantile(confidence: float, freedom: float) -> float:
    from scipy import stats  # only here: the planner uses this module without SciPy

    return float(stats.t.ppf(1 - (1 - confidence) / 2, freedom))


def _across_processes(ratios: list[np.ndarray], estimate: float, confidence: float) -> tuple[float, float]:
    """Student's t interval from the processes' median ratios (in logs), about the estimate."""
    logs = np.log([np.median(r) for r in ratios])
    reach = _t_quantile(confidence, logs.size - 1) * float(np.std(logs, ddof=1)) / math.sqrt(logs.size)
    return estimate * math.exp(-reach), estimate * math.exp(reach)


def between_runs(
    a: Sequence[Sequence[float]], b: Sequence[Sequence[float]], confidence: float = CONFIDENCE
) -> Ratio:
    """The ratio of one thing timed in two runs, each in several processes (``a[p]``: the rounds of
    run a's process p): median of a's rounds over median of b's, with an interval that covers the
    processes of both runs.

    The wider of a two-stage bootstrap (each run's processes drawn, then their rounds) and Welch's t
    over the processes' medians in logs, for the reason :func:`side_by_side` gives. With one process
    on a side there is no spread of processes to go by: the interval is unbounded.
    """
    a = [_sample(x, f"a[{k}]") for k, x in enumerate(a)]
    b = [_sample(x, f"b[{k}]") for k, x in enumerate(b)]
    if not (a and b):
        raise StatsError("each run needs at least one process of rounds")
    estimate = float(np.median(np.concatenate(a)) / np.median(np.concatenate(b)))
    rounds, processes = min(sum(x.size for x in a), sum(x.size for x in b)), min(len(a), len(b))
    if processes < 2:
        return Ratio(estimate, 0.0, math.inf, rounds, False, confidence, processes)
    rng = np.random.default_rng(SEED)
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(_two_stage_medians(a, rng) / _two_stage_medians(b, rng), [tail, 100 - tail])
    logs = [np.log([np.median(x) for x in side]) for side in (a, b)]
    parts = [float(np.var(x, ddof=1)) / x.size for x in logs]
    freedom = (
        sum(parts) ** 2 / sum(p**2 / (x.size - 1) for p, x in zip(parts, logs, strict=True) if p > 0)
        if sum(parts) > 0
        else 1.0
    )
    reach = _t_quantile(confidence, freedom) * math.sqrt(sum(parts))
    low = min(float(low), estimate * math.exp(-reach), estimate)
    high = max(float(high), estimate * math.exp(reach), estimate)
    return Ratio(estimate, low, high, rounds, False, confidence, processes)


def alternating(values: Sequence[float], confidence: float = CONFIDENCE) -> Ratio:
    """The effect of order in rounds that alternate it: ``values`` in time order, the even ones
    taken under one order (say, before the epoch) and the odd ones under the other (after it).

    Each odd value is divided by the geometric mean of its even neighbours, so a drift of the
    machine over the rounds cancels where a comparison of the two halves' medians would carry it;
    the ratio is the median of those, odd over even, with its interval.
    """
    x = _sample(values, "values")
    if x.size < 2:
        raise StatsError(f"values must alternate two orders, got {x.size} value")
    ratios = []
    for k in range(1, x.size, 2):
        neighbours = x[k - 1 : k + 2 : 2]  # the even values either side (one at the end)
        ratios.append(x[k] / math.exp(np.mean(np.log(neighbours))))
    estimate, low, high = median_interval(ratios, confidence)
    return Ratio(estimate, low, high, len(ratios), True, confidence)


def _ratio_of_medians(a, b, axis=-1):
    return np.median(a, axis=axis) / np.median(b, axis=axis)


def independent(a: Sequence[float], b: Sequence[float], confidence: float = CONFIDENCE) -> Ratio:
    """The ratio of two samples timed apart: median(a) / median(b), with a bootstrap interval.

    With a single round on either side there is nothing to resample: the interval is unbounded.
    """
    a, b = _sample(a, "a"), _sample(b, "b")
    estimate = float(np.median(a) / np.median(b))
    if min(a.size, b.size) < 2:
        return Ratio(estimate, 0.0, math.inf, int(min(a.size, b.size)), False, confidence)
    from scipy import stats  # only here: the planner uses this module without SciPy

    result = stats.bootstrap(
        (a, b),
        _ratio_of_medians,
        n_resamples=RESAMPLES,
        confidence_level=confidence,
        method="percentile",
        vectorized=True,
        rng=np.random.default_rng(SEED),
    )
    low, high = result.confidence_interval
    low, high = min(float(low), estimate), max(float(high), estimate)
    return Ratio(estimate, low, high, int(min(a.size, b.size)), False, confidence)


def least_runs(confidence: float = CONFIDENCE) -> int:
    """The fewest runs a side for which two sets of runs can differ at ``confidence``: a rank test
    (Mann-Whitney) of n runs against n reaches at best p = 2 / C(2n, n), so 4 at 95% (3 a side
    reach only p = 0.1)."""
    n = 1
    while 2 / math.comb(2 * n, n) > 1 - confidence + 1e-12:
        n += 1
    return n


def replicated(a_runs: Sequence[float], b_runs: Sequence[float], confidence: float = CONFIDENCE) -> Ratio:
    """The ratio of two sets of runs, one value a run (each run's median): median(a) / median(b), with
    a bootstrap over the runs; with fewer than ``least_runs()`` on a side the interval is unbounded
    (so few runs cannot tell a change from the machine's noise between runs)."""
    a, b = _sample(a_runs, "a"), _sample(b_runs, "b")
    if min(a.size, b.size) < least_runs(confidence):
        estimate = float(np.median(a) / np.median(b))
        return Ratio(estimate, 0.0, math.inf, int(min(a.size, b.size)), False, confidence)
    return independent(a, b, confidence)


#: Splits of the pooled runs up to which ``rank_test`` counts every one (C(20, 10) is 184,756).
EXACT_SPLITS = 200_000


def rank_test(a: Sequence[float], b: Sequence[float]) -> float:
    """The two-sided p of the Mann-Whitney U test that ``a`` and ``b`` come from one distribution:
    the test benchstat applies to two sets of runs.

    Exact, over every split of the pooled values into two groups of those sizes, where there are at
    most ``EXACT_SPLITS`` splits (tied values by their mid-ranks); beyond that SciPy's normal
    approximation. 4 runs against 4 reach p = 2 / 70 = 0.029 at best (``least_runs``).
    """
    a, b = _sample(a, "a"), _sample(b, "b")
    from scipy import stats  # only here: the planner uses this module without SciPy

    if math.comb(a.size + b.size, a.size) > EXACT_SPLITS:
        method = "asymptotic"
    elif np.unique(np.concatenate([a, b])).size == a.size + b.size:
        method = "exact"
    else:  # SciPy's "exact" assumes no ties; counting the splits handles them
        method = stats.PermutationMethod(n_resamples=EXACT_SPLITS, rng=np.random.default_rng(SEED))
    return float(stats.mannwhitneyu(a, b, alternative="two-sided", method=method).pvalue)


def replication_rate(confidence: float = CONFIDENCE) -> float:
    """The chance that a second, independent estimate falls inside the first's honest interval.

    Both estimates carry noise of one size s around the truth, so they differ by noise of size
    s·√2, while the interval reaches z·s either side of the first (z = 1.96 at 95%): the second
    lands inside with chance P(|N(0, 1)| < z/√2) = erf(z / 2), about 83% at 95%, not 95%.
    """
    from statistics import NormalDist

    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    return math.erf(z / 2)
