"""The lesson's "try it yourself" command: it times the rung asked for, and refuses what it cannot time."""

from __future__ import annotations

import re

import pytest

from bench import time_one


def test_it_times_a_rung_beside_the_probe(capsys):
    assert time_one.main(["numba_fused", "3000", "7", "--threads", "one"]) == 0
    out = capsys.readouterr().out
    assert "numba_fused at m = 3,000, n = 7, float64, 1 thread(s)" in out
    assert len(re.findall(r" ms ", out)) == 2 and "share of probe" in out


def test_the_report_states_the_times_and_the_share():
    text = time_one.report("numba_fused", 1000, 100, "float32", 2, epoch=0.002, probe=0.0015)
    assert "numba_fused at m = 1,000, n = 100, float32, 2 thread(s)" in text
    assert "2 ms  (0.2 GB/s of X)" in text and "1.5 ms  (0.3 GB/s)" in text
    assert re.search(r"share of probe\s+75%", text)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["no_such_rung", "10", "3"], "no rung 'no_such_rung'"),
        (["numba_fused", "0", "3"], "m and n must be >= 1"),
        (["python_loops", "10", "3", "--dtype", "float32"], "python_loops does not run float32"),
    ],
)
def test_bad_arguments_are_one_line(capsys, argv, message):
    with pytest.raises(SystemExit) as stop:
        time_one.main(argv)
    assert stop.value.code == 2 and message in capsys.readouterr().err


def test_best_of_runs_at_least_the_rounds_asked_for_and_returns_the_shortest(monkeypatch):
    """On a clock that only the calls move: rounds of 5, 3, 7 and 4 ticks give 3."""
    now, calls = [0.0], []
    ticks = iter([5.0, 3.0, 7.0, 4.0])

    def call():
        calls.append(1)
        now[0] += next(ticks)

    monkeypatch.setattr(time_one.time, "perf_counter", lambda: now[0])
    assert time_one.best_of(call, seconds=0.0, least=4) == 3.0 and len(calls) == 4
