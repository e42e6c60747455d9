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
