"""Two sets of results, benchmark by benchmark: the statistics behind ``python -m bench.compare``.

One file a side: a benchmark's sample is the rounds each file kept, in the processes that ran them;
its columns are the medians of those rounds and its change their ratio. A verdict needs rounds from
several processes a side: the rounds of one process share its state of the machine and do not
cover the next process (two runs of one code move a one-process benchmark by far more than its
rounds' interval). The side-by-side points time every rung in several fresh processes, so each
rung's epoch there is a row of its own, with an interval over both runs' processes and rounds
(``ladderstats.between_runs``). Several runs a side: a benchmark's sample is each run's median; its
columns are the medians of those, its change their ratio, with a bootstrap over the runs and the p
of a Mann-Whitney U test (``ladderstats.rank_test``), as Go's benchstat does. Either way the columns
and the change come from one sample.

No verdict from fewer than ``ladderstats.least_rounds()`` rounds (6) or ``least_runs()`` runs (4)
a side, and none where the benchmark's definition changed between the files (other sizes, epochs,
threads, another plan: ``bench/results/definition.py``): that is a different benchmark, not a change
in speed.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field

import ladderstats as stats
from bench.results import definition, side
from bench.results.load import Results
from bench.results.schema import ROOFLINE

#: A change is called where the test's p is below this (several runs a side).
ALPHA = round(1 - stats.CONFIDENCE, 10)
#: The tests, as the header names them.
ONE_FILE_TEST = (
    "ratio of medians of each file's kept rounds, its 95% interval over the processes and rounds of "
    "both (ladderstats.between_runs); a change is called where the interval leaves out +0.0%, and only "
    "from rounds of several processes a side; an interval gives no p"
)
#: Why a benchmark timed in one process gets no verdict from one file a side.
ONE_PROCESS = "one process a side: its rounds cannot see the next process (the side-by-side epochs can)"
RUNS_TEST = (
    f"Mann-Whitney U of the runs' medians, as benchstat (ladderstats.rank_test); a change is called "
    f"where p < {ALPHA:g} and its 95% interval (a bootstrap over the runs) leaves out +0.0%"
)


def _count(k: int, unit: str) -> str:
    return f"{k} {unit if k == 1 else unit + 's'}"


@dataclass(frozen=True)
class Change:
    """One benchmark in both: the columns, and what may be said of their ratio."""

    benchmark: str
    base_s: float  # the median of base's sample (its kept rounds, or its runs' medians)
    new_s: float  # ... and of new's
    sizes: tuple[int, int]  # rounds (one file a side) or runs behind each column
    ratio: stats.Ratio | None = None  # new over base with its interval; None: no verdict
    p: float | None = None  # the rank test's two-sided p (several runs a side)
    why_not: str | None = None  # why no verdict, in words
    definition: tuple[str, ...] = ()  # what changed in what was timed ("epochs 56 → 60")

    @property
    def estimate(self) -> float:
        """new over base: the ratio of the columns, the same as the ratio's estimate."""
        return self.new_s / self.base_s

    def significant(self, threshold: float = 0.0) -> bool:
        """Called a change: an interval beyond ``threshold`` (e.g. 0.05: more than 5%), and where
        a test gives a p, p below ``ALPHA``."""
        if self.ratio is None or self.definition:
            return False
        if self.p is not None and not self.p < ALPHA:
            return False
        return self.ratio.verdict(threshold) != "level"


@dataclass
class Comparison:
    changes: list[Change]
    only_base: list[str]
    only_new: list[str]
    runs: bool  # several runs a side (else one file a side)
    # a defining field one side records and the other does not -> the benchmarks compared without it
    unrecorded: dict[str, int] = field(default_factory=dict)
    probes: frozenset[str] = frozenset()  # the probe's side-by-side epochs

    @property
    def test(self) -> str:
        return RUNS_TEST if self.runs else ONE_FILE_TEST

    @property
    def comparable(self) -> list[Change]:
        """The changes of benchmarks that timed the same thing in both."""
        return [c for c in self.changes if not c.definition]

    def probe_moved(self) -> float | None:
        """new over base for the probe's read of X, the median over the side-by-side points both
        files measured: how far the machine's memory speed moved between them (None: no probe)."""
        reads = [c.estimate for c in self.comparable if c.benchmark in self.probes]
        return statistics.median(reads) if reads else None

    def geometric_mean(self) -> float | None:
        ratios = [c.estimate for c in self.comparable]
        return math.exp(sum(map(math.log, ratios)) / len(ratios)) if ratios else None


@dataclass(frozen=True)
class _Samples:
    """One run's samples by benchmark name, made once: the per-rung benchmarks' medians and kept
    rounds (one process each), and every rung's epoch at every side-by-side point (its processes)."""

    medians: dict[str, float]
    processes: dict[str, list[list[float]]]
    definitions: dict[str, dict]

    @classmethod
    def of(cls, run: Results) -> _Samples:
        table = zip(run.table["benchmark"], run.table["median_s"], strict=True)
        medians = {name: float(t) for name, t in table}
        processes = {name: [rounds] for name, rounds in run.rounds.items() if rounds}
        definitions = dict(run.definitions)
        for name, (by_process, defined) in side.epochs(run).items():
            medians[name] = statistics.median(t for p in by_process for t in p)
            processes[name], definitions[name] = by_process, defined
        return cls(medians, processes, definitions)


def _definition(name: str, runs: list[_Samples], unrecorded: dict[str, int]) -> tuple[str, ...]:
    """What changed in the benchmark's definition between the first run and any other; fields one
    side does not record are counted in ``unrecorded``."""
    first, *others = [run.definitions.get(name, {}) for run in runs]
    missing: set[str] = set()
    changed: list[str] = []
    for other in others:
        missing |= set(definition.unknown(first, other))
        changed = changed or definition.differences(first, other)
    for name_ in missing:
        unrecorded[name_] = unrecorded.get(name_, 0) + 1
    return tuple(changed)


def _one_file(name: str, base: _Samples, new: _Samples, changed: tuple[str, ...]) -> Change:
    b, a = base.processes.get(name, []), new.processes.get(name, [])
    if not (a and b):
        sides = " and ".join(side_ for side_, kept in (("base", b), ("new", a)) if not kept)
        why = f"no rounds kept in {sides}"
        return Change(name, base.medians[name], new.medians[name], (0, 0), why_not=why, definition=changed)
    pooled_b, pooled_a = [t for p in b for t in p], [t for p in a for t in p]
    sizes = (len(pooled_b), len(pooled_a))
    b_s, a_s = statistics.median(pooled_b), statistics.median(pooled_a)
    least = stats.least_rounds()
    if changed:
        return Change(name, b_s, a_s, sizes, definition=changed)
    if min(sizes) < least:
        why = f"{_count(min(sizes), 'round')}: too few for a verdict ({least} needed)"
        return Change(name, b_s, a_s, sizes, why_not=why)
    if min(len(a), len(b)) < 2:
        alone = [side_ for side_, kept in (("base", b), ("new", a)) if len(kept) < 2]
        why = ONE_PROCESS if len(alone) == 2 else ONE_PROCESS.replace("a side", f"in {alone[0]}", 1)
        return Change(name, b_s, a_s, sizes, why_not=why)
    return Change(name, b_s, a_s, sizes, ratio=stats.between_runs(a, b))


def _runs(name: str, base: list[float], new: list[float], changed: tuple[str, ...]) -> Change:
    sizes = (len(base), len(new))
    b_s, a_s = statistics.median(base), statistics.median(new)
    least = stats.least_runs()
    if changed:
        return Change(name, b_s, a_s, sizes, definition=changed)
    if min(sizes) < least:
        why = f"{_count(min(sizes), 'run')}: too few for a verdict ({least} needed)"
        return Change(name, b_s, a_s, sizes, why_not=why)
    ratio = stats.replicated(new, base)
    return Change(name, b_s, a_s, sizes, ratio=ratio, p=stats.rank_test(new, base))


def compare(base: Results | list[Results], new: Results | list[Results]) -> Comparison:
    """Every benchmark found in all the files of both sides, and the names found on one side only."""
    base = base if isinstance(base, list) else [base]
    new = new if isinstance(new, list) else [new]
    before, after = [_Samples.of(run) for run in base], [_Samples.of(run) for run in new]
    names_before = [n for n in before[0].medians if all(n in s.medians for s in before)]
    names_after = [n for n in after[0].medians if all(n in s.medians for s in after)]
    runs = not len(base) == len(new) == 1
    out, unrecorded = [], {}
    for name in [n for n in names_before if n in names_after]:
        changed = _definition(name, before + after, unrecorded)
        if runs:
            b, a = [s.medians[name] for s in before], [s.medians[name] for s in after]
            out.append(_runs(name, b, a, changed))
        else:
            out.append(_one_file(name, before[0], after[0], changed))
    only_base = [n for n in names_before if n not in names_after]
    only_new = [n for n in names_after if n not in names_before]
    probes = frozenset(
        name
        for name, d in before[0].definitions.items()
        if d.get("kind") == "side_epoch" and d.get("rung") == ROOFLINE
    )
    return Comparison(out, only_base, only_new, runs, unrecorded, probes)
