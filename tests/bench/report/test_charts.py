"""The charts: each drawn from a run and left out without its data, and every one the lesson places."""

from __future__ import annotations

import pytest

from bench.report.charts import CHARTS
from bench.report.facts import build
from bench.results.load import load
from tests.bench.report.runs import lesson_of


def test_every_chart_is_written_and_referenced(generated):
    lesson = lesson_of(generated)
    for key in CHARTS:
        name = f"fig_{key}.png"
        assert (generated / name).stat().st_size > 10_000, name
        assert f"]({name})" in lesson, name
    assert "Not measured in this run" not in lesson and "Chart not drawn" not in lesson


@pytest.fixture(scope="module")
def full_and_empty(results_file):
    """The fixture's facts, and those of the same run left with nothing any chart draws from."""
    empty = load(results_file)
    empty.table = empty.table[empty.table["kind"] == "first_fit"]
    empty.tuning = []
    empty.curves = []
    return build(load(results_file)), build(empty)


@pytest.mark.parametrize("key", list(CHARTS))
def test_each_chart_draws_from_a_run_and_is_skipped_without_its_data(full_and_empty, key):
    import matplotlib.pyplot as plt

    full, empty = full_and_empty
    _, plot = CHARTS[key]
    fig = plot(full)
    assert fig is not None and fig.axes and any(ax.has_data() for ax in fig.axes)
    plt.close(fig)
    assert plot(empty) is None


def test_the_speedup_charts_draw_the_side_by_side_ratios_with_their_intervals(results_file):
    """Each point of the speedup chart is the registry's ratio at that m, its error bar the interval:
    never a ratio of two benchmarks' best rounds."""
    import matplotlib.pyplot as plt
    import numpy as np

    facts = build(load(results_file))
    _, plot = CHARTS["speedup_numpy"]
    fig = plot(facts)
    line = fig.axes[0].lines[0]
    found = dict(next(f for r, f in facts.crossovers if r == facts.ladder.one_process))
    ms = sorted(found)
    assert list(line.get_xdata()) == ms
    assert np.allclose(line.get_ydata(), [1 / found[m].ratio.estimate for m in ms])
    bars = [c for c in fig.axes[0].collections if c.get_segments()]
    assert bars, "no error bars drawn"
    ends = sorted(y for c in bars for segment in c.get_segments() for _, y in segment)
    for m in ms:  # each interval's ends are among the bars' ends
        r = found[m].ratio
        assert any(np.isclose(y, 1 / r.high) for y in ends) and any(np.isclose(y, 1 / r.low) for y in ends)
    plt.close(fig)
