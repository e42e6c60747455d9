"""Bad input gets a clear error naming the argument; good input is never modified."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from tests.reference import make_problem

GOOD = {"X": [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], "y": [0, 1, 1], "lr": 0.1, "epochs": 3}

BAD = [
    # (name, override, exception, message pattern)
    ("X-1d", {"X": [1.0, 2.0, 3.0]}, ValueError, r"X must be 2-D"),
    ("X-3d", {"X": np.zeros((3, 2, 1))}, ValueError, r"X must be 2-D"),
    ("X-empty-rows", {"X": np.zeros((0, 2)), "y": []}, ValueError, r"X must be non-empty"),
    ("X-empty-cols", {"X": np.zeros((3, 0))}, ValueError, r"X must be non-empty"),
    ("X-strings", {"X": [["a", "b"]] * 3}, TypeError, r"X must hold real numbers"),
    ("X-complex", {"X": np.ones((3, 2), dtype=complex)}, TypeError, r"X must hold real numbers"),
    (
        "X-sparse",
        {"X": sparse.csr_matrix(np.eye(3, 2))},
        TypeError,
        r"X is a sparse matrix \(csr\).*X\.toarray\(\)",
    ),
    ("X-ragged", {"X": [[1.0], [2.0, 3.0], [4.0]]}, TypeError, r"X must be array-like"),
    ("X-nan", {"X": [[1.0, np.nan], [3.0, 4.0], [5.0, 6.0]]}, ValueError, r"X must be finite"),
    ("X-inf", {"X": [[1.0, np.inf], [3.0, 4.0], [5.0, 6.0]]}, ValueError, r"X must be finite"),
    ("y-2d", {"y": [[0], [1], [1]]}, ValueError, r"y must be 1-D"),
    ("y-short", {"y": [0, 1]}, ValueError, r"y must have length m=3"),
    ("y-not-binary", {"y": [0, 2, 1]}, ValueError, r"y must contain only 0/1"),
    ("y-half", {"y": [0, 0.5, 1]}, ValueError, r"y must contain only 0/1"),
    ("y-nan", {"y": [0, np.nan, 1]}, ValueError, r"y must contain only 0/1"),
    ("y-strings", {"y": ["0", "1", "1"]}, TypeError, r"y must hold real numbers"),
    ("lr-zero", {"lr": 0.0}, ValueError, r"lr must be > 0"),
    ("lr-negative", {"lr": -1.0}, ValueError, r"lr must be > 0"),
    ("lr-nan", {"lr": float("nan")}, ValueError, r"lr must be finite"),
    ("lr-inf", {"lr": float("inf")}, ValueError, r"lr must be finite"),
    ("lr-string", {"lr": "0.1"}, TypeError, r"lr must be a real number"),
    ("lr-bool", {"lr": True}, TypeError, r"lr must be a real number"),
    ("epochs-negative", {"epochs": -1}, ValueError, r"epochs must be >= 0"),
    ("epochs-float", {"epochs": 2.0}, TypeError, r"epochs must be an integer"),
    ("epochs-bool", {"epochs": True}, TypeError, r"epochs must be an integer"),
    ("w0-shape", {"w0": [0.0, 0.0, 0.0]}, ValueError, r"w0 must have shape \(n,\) = \(2,\)"),
    ("w0-2d", {"w0": [[0.0, 0.0]]}, ValueError, r"w0 must have shape"),
    ("w0-nan", {"w0": [0.0, np.nan]}, ValueError, r"w0 must be finite"),
    ("w0-strings", {"w0": ["a", "b"]}, TypeError, r"w0 must hold real numbers"),
    ("b0-inf", {"b0": float("inf")}, ValueError, r"b0 must be finite"),
    ("b0-array", {"b0": np.array([1.0])}, TypeError, r"b0 must be a real number"),
    ("dtype-int", {"dtype": np.int64}, ValueError, r"dtype int64 is not supported"),
    ("dtype-float16", {"dtype": "float16"}, ValueError, r"dtype float16 is not supported"),
    ("dtype-nonsense", {"dtype": "not-a-dtype"}, TypeError, r"dtype must name a NumPy dtype"),
]


@pytest.mark.parametrize(("override", "error", "message"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_input_is_rejected_with_a_clear_message(rung, override, error, message):
    kwargs = {**GOOD, **override}
    with pytest.raises(error, match=message):
        rung.fit(kwargs.pop("X"), kwargs.pop("y"), **kwargs)


def test_validation_runs_before_any_work(rung, monkeypatch):
    def must_not_run(*args, **kwargs):
        raise AssertionError("descend ran before validation rejected the input")

    monkeypatch.setattr(type(rung), "run", must_not_run)
    with pytest.raises(ValueError, match="epochs"):
        rung.fit(GOOD["X"], GOOD["y"], lr=0.1, epochs=-5)


def test_inputs_are_unchanged(rung):
    X, y = make_problem(20, 3, seed=9)
    w0 = np.array([0.1, -0.2, 0.3])
    copies = X.copy(), y.copy(), w0.copy()
    for array in (X, y, w0):
        array.flags.writeable = False  # any write by the rung would raise
    result = rung.fit(X, y, lr=0.5, epochs=5, w0=w0, b0=0.1)
    for array, copy in zip((X, y, w0), copies, strict=True):
        np.testing.assert_array_equal(array, copy)
    assert not np.shares_memory(result.w, w0)
    # A second fit from the same inputs gives the same answer: no state leaks between calls.
    again = rung.fit(X, y, lr=0.5, epochs=5, w0=w0, b0=0.1)
    np.testing.assert_array_equal(result.w, again.w)


@pytest.mark.parametrize(
    "labels",
    [[False, True, True], [0, 1, 1], [0.0, 1.0, 1.0], np.array([0, 1, 1], dtype=np.uint8)],
    ids=["bool", "int", "float", "uint8"],
)
def test_label_types_accepted(rung, labels):
    expected = rung.fit(GOOD["X"], [0.0, 1.0, 1.0], lr=0.1, epochs=3)
    result = rung.fit(GOOD["X"], labels, lr=0.1, epochs=3)
    np.testing.assert_array_equal(result.w, expected.w)


def test_integer_features_and_fortran_order_accepted(rung):
    X = np.asfortranarray(np.array(GOOD["X"], dtype=np.int32))
    expected = rung.fit(np.array(GOOD["X"], dtype=np.float64), GOOD["y"], lr=0.1, epochs=3)
    result = rung.fit(X, GOOD["y"], lr=0.1, epochs=3)
    np.testing.assert_array_equal(result.w, expected.w)


@pytest.mark.parametrize(
    ("value", "dtype", "message"),
    [
        (np.nan, "float64", r"X must be finite \(it contains nan or inf\)"),
        (-np.inf, "float32", r"X must be finite \(it contains nan or inf\)"),
        (1e300, "float32", r"X has values beyond the range of float32"),
        (None, "float32", None),
    ],
    ids=["nan", "inf", "beyond-float32", "fine"],
)
def test_a_large_x_is_checked_in_one_parallel_pass_with_the_same_errors(monkeypatch, value, dtype, message):
    """From ``PARALLEL_FROM`` numbers X is scanned by a compiled kernel on every thread (NumPy's
    check runs on one core): the same answers as NumPy's blocks, the bad value anywhere."""
    from impls import _common

    assert _common._SCAN is not None  # installed by importing impls
    monkeypatch.setattr(_common, "PARALLEL_FROM", 16)
    X, y = make_problem(300, 4, seed=1)
    if value is not None:
        X[211, 2] = value
    scanned = []
    real = _common._SCAN
    monkeypatch.setattr(_common, "_SCAN", lambda *args: scanned.append(1) or real(*args))
    for scan in (True, False):
        if not scan:
            monkeypatch.setattr(_common, "_SCAN", None)
        if message is None:
            _common.validate(X, y, lr=0.1, epochs=1, dtype=dtype)
        else:
            with pytest.raises(ValueError, match=message):
                _common.validate(X, y, lr=0.1, epochs=1, dtype=dtype)
    assert scanned == [1]
