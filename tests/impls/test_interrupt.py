"""Ctrl-C stops a fit on every rung within about a second, and leaves the ladder fit to use.

A compiled descent returns to Python between batches of epochs (``impls._jit.epoch_batches``):
Python runs its SIGINT handler only there. One child process fits each rung in turn for 10**7
epochs; the test interrupts each fit once it has begun and times how long the rung takes to stop.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from impls import DISTRIBUTED, IMPLEMENTATIONS
from impls.shallow import IMPLEMENTATIONS as SHALLOW

ROOT = Path(__file__).resolve().parents[2]
RUNGS = [name for name in IMPLEMENTATIONS if name not in DISTRIBUTED]
#: From the signal to the KeyboardInterrupt caught: a batch lasts about 0.2 s; the rest is margin
#: for a loaded 2-core test machine.
STOPS_WITHIN_S = 1.5

CHILD = """
import sys, time
import numpy as np
from impls import IMPLEMENTATIONS, REFERENCE, relative_error

rng = np.random.default_rng(7)
X = rng.standard_normal((2_000, 10))
y = (rng.random(2_000) < 0.5).astype(np.float64)
X_before, y_before = X.copy(), y.copy()
reference = IMPLEMENTATIONS[REFERENCE].fit(X, y, lr=0.1, epochs=3)
for name in sys.argv[1:]:
    rung = IMPLEMENTATIONS[name]
    rung.fit(X, y, lr=0.1, epochs=3)  # compiled or loaded, planned: what a long fit does first
    print("fitting", name, flush=True)
    try:
        rung.fit(X, y, lr=0.1, epochs=10**7)
        print("finished", name, flush=True)  # not interrupted: the test fails
    except KeyboardInterrupt:
        stopped = time.time()
        again = rung.fit(X, y, lr=0.1, epochs=3)  # the ladder still works, with the same answer
        error = relative_error(again, reference.w, reference.b, reference.costs)
        same = bool(np.array_equal(X, X_before) and np.array_equal(y, y_before))
        print("stopped", name, repr(stopped), repr(error), same, flush=True)
"""


#: The same for the shallow network's rungs, h = 4.
SHALLOW_CHILD = """
import sys, time
import numpy as np
from impls.shallow import IMPLEMENTATIONS, REFERENCE, relative_error

rng = np.random.default_rng(7)
X = rng.standard_normal((2_000, 10))
y = (rng.random(2_000) < 0.5).astype(np.float64)
X_before, y_before = X.copy(), y.copy()
reference = IMPLEMENTATIONS[REFERENCE].fit(X, y, hidden=4, lr=0.1, epochs=3)
for name in sys.argv[1:]:
    rung = IMPLEMENTATIONS[name]
    rung.fit(X, y, hidden=4, lr=0.1, epochs=3)
    print("fitting", name, flush=True)
    try:
        rung.fit(X, y, hidden=4, lr=0.1, epochs=10**7)
        print("finished", name, flush=True)
    except KeyboardInterrupt:
        stopped = time.time()
        again = rung.fit(X, y, hidden=4, lr=0.1, epochs=3)
        same = bool(np.array_equal(X, X_before) and np.array_equal(y, y_before))
        print("stopped", name, repr(stopped), repr(relative_error(again, reference)), same, flush=True)
"""


def test_ctrl_c_stops_a_long_fit_on_every_rung_and_the_next_fit_is_right():
    _interrupt_each(CHILD, RUNGS, IMPLEMENTATIONS)


def test_ctrl_c_stops_a_long_fit_of_the_shallow_network_on_every_rung():
    _interrupt_each(SHALLOW_CHILD, list(SHALLOW), SHALLOW)


def _interrupt_each(source: str, rungs: list[str], registry) -> None:
    """One child fits each of ``rungs`` for 10**7 epochs; SIGINT 0.5 s into each fit must stop it
    within STOPS_WITHIN_S, X and y unchanged and the next fit as the reference's."""
    child = subprocess.Popen(
        [sys.executable, "-c", source, *rungs],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line.split()) for line in child.stdout], daemon=True).start()

    def next_line(within_s: float) -> list[str]:
        try:
            return lines.get(timeout=within_s)
        except queue.Empty:
            return ["nothing", f"in {within_s:g} s"]

    stopped = {}
    try:
        for name in rungs:
            line = next_line(120)  # loading its kernels and a first plan come first
            assert line == ["fitting", name], line
            time.sleep(0.5)  # into the fit's epochs
            sent = time.time()
            os.kill(child.pid, signal.SIGINT)
            line = next_line(30)
            assert line[:2] == ["stopped", name], f"{name} did not stop on Ctrl-C: {line}"
            _, _, when, error, same = line
            stopped[name] = float(when) - sent
            assert float(error) <= registry[name].tolerance("float64"), name
            assert same == "True", f"{name} changed X or y"
        assert child.wait(timeout=60) == 0
    finally:
        if child.poll() is None:
            child.kill()
    slow = {name: round(s, 2) for name, s in stopped.items() if s > STOPS_WITHIN_S}
    assert not slow, f"seconds from Ctrl-C to KeyboardInterrupt beyond {STOPS_WITHIN_S}: {slow}"
