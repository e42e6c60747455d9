"""Out of memory inside a fit: one clear error before any work, never a hang or an abort."""

from __future__ import annotations

import dataclasses
import threading

import numpy as np
import pytest

from impls import IMPLEMENTATIONS, _jit

X = np.random.default_rng(3).standard_normal((500, 4))
Y = (np.arange(500) % 2).astype(np.float64)


def test_threads_that_cannot_start_are_one_error_before_the_kernel_runs(monkeypatch, recwarn):
    def no_room(self):
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(_jit, "_THREADS_STARTED", False)
    monkeypatch.setattr(threading.Thread, "start", no_room)
    w0 = np.full(4, 0.25)
    for name in ("numba_fused", "numba_tiled", "numba_blocked", "numba_tuned"):
        with pytest.raises(_jit.ThreadsError, match=r"threads cannot start.*NUMBA_NUM_THREADS lower"):
            IMPLEMENTATIONS[name].fit(X, Y, lr=0.1, epochs=2, w0=w0)
        assert (w0 == 0.25).all()
    assert not [w for w in recwarn if "tuning data" in str(w.message)]  # not taken for a lack of data
    monkeypatch.undo()
    assert IMPLEMENTATIONS["numba_fused"].fit(X, Y, lr=0.1, epochs=2).costs.shape == (2,)


def test_a_kernel_allocation_that_fails_is_named_with_the_rung_and_the_size():
    def allocation_fails(problem, lr, epochs):
        raise MemoryError()  # what a compiled kernel's failed allocation raises: no message

    rung = dataclasses.replace(IMPLEMENTATIONS["numba_loops"], descend=allocation_fails)
    with pytest.raises(MemoryError, match=r"numba_loops: not enough memory .* \(500 x 4 float64\)"):
        rung.fit(X, Y, lr=0.1, epochs=2)


def test_a_memory_error_that_says_what_failed_is_left_as_it_is():
    def numpy_says(problem, lr, epochs):
        raise MemoryError("Unable to allocate 8 GiB")

    rung = dataclasses.replace(IMPLEMENTATIONS["numpy_vectorized"], descend=numpy_says)
    with pytest.raises(MemoryError, match=r"^Unable to allocate 8 GiB$"):
        rung.fit(X, Y, lr=0.1, epochs=2)
