"""What every rung shares: input validation, the result type and the `Rung` wrapper.

Validation lives here once so that every rung rejects the same bad inputs with the
same messages, before any work and without touching the caller's arrays.
"""

from __future__ import annotations

import hashlib
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

FLOAT64 = np.dtype(np.float64)
FLOAT32 = np.dtype(np.float32)
ARRAY_DTYPES = (FLOAT64, FLOAT32)
_NUMERIC_KINDS = "biuf"


@dataclass(frozen=True)
class FitResult:
    """Trained parameters and the cost seen at the start of every epoch."""

    w: np.ndarray
    b: float
    costs: np.ndarray


@dataclass(frozen=True)
class Problem:
    """Validated inputs, converted to one working dtype.

    ``X`` and ``y`` may share memory with the caller's arrays and are never written;
    ``w0`` is always a private copy, so a rung may update it in place.
    """

    X: np.ndarray
    y: np.ndarray
    w0: np.ndarray
    b0: float
    lr: float
    epochs: int
    dtype: np.dtype


def _sparse_format(value: Any) -> str | None:
    """The sparse format of a SciPy (or pydata ``sparse``) matrix or array, else None; read without
    importing either library."""
    module = type(value).__module__ or ""
    if module.startswith(("scipy.sparse", "sparse")) and hasattr(value, "nnz"):
        return getattr(value, "format", None) or type(value).__name__
    return None


def _as_numeric_array(value: Any, name: str) -> np.ndarray:
    found = _sparse_format(value)
    if found is not None:
        raise TypeError(
            f"{name} is a sparse matrix ({found}): the rungs read a dense array; pass {name}.toarray() "
            "where it fits in memory (m x n x 8 bytes)"
        )
    try:
        array = np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{name} must be array-like of numbers: {exc}") from exc
    if array.dtype.kind not in _NUMERIC_KINDS:
        raise TypeError(f"{name} must hold real numbers, got dtype {array.dtype}")
    return array


#: The most epochs one call may run: its costs array alone would take 800 MB in float64.
MAX_EPOCHS = 10**8
#: Rows whose finiteness is checked at a time: the check's temporary stays a few MB, not the size of X.
_CHECK_ROWS = 1 << 15


def _real_scalar(value: Any, name: str, dtype: np.dtype) -> float:
    """A finite real number that stays finite in the working dtype."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    try:
        result = float(value)
    except OverflowError:
        raise ValueError(f"{name} must be finite, got a number too large for a float") from None
    if not np.isfinite(result):
        raise ValueError(f"{name} must be finite, got {result}")
    with np.errstate(over="ignore"):
        in_dtype = dtype.type(result)
    if not np.isfinite(in_dtype):
        raise ValueError(
            f"{name} = {result:g} is beyond the range of {dtype} (largest {np.finfo(dtype).max:g})"
        )
    return result


#: Numbers from which an array is checked by the compiled, parallel scan (``impls/_scan.py``), once
#: installed; below, NumPy's blocks (no compiling for small data).
PARALLEL_FROM = 1 << 20
_SCAN: Callable | None = None


def install_scan(scan: Callable) -> None:
    """``impls._scan`` hands its compiled check over here, as it is imported (by ``impls``)."""
    global _SCAN
    _SCAN = scan


def _check_finite(array: np.ndarray, name: str, dtype: np.dtype) -> None:
    """Every value finite, and still finite once converted to ``dtype`` (a block of rows at a time,
    or in one parallel pass for a large float array)."""
    top = float(np.finfo(dtype).max)
    narrowing = dtype.itemsize < array.dtype.itemsize
    if (
        _SCAN is not None
        and array.size >= PARALLEL_FROM
        and array.ndim == 2
        and array.dtype in (FLOAT32, FLOAT64)
        and array.flags.c_contiguous
    ):
        nonfinite, beyond = _SCAN(array, top, narrowing)
        if nonfinite:
            raise ValueError(f"{name} must be finite (it contains nan or inf)")
        if beyond:
            raise ValueError(
                f"{name} has values beyond the range of {dtype} (largest {top:g}): they would become inf"
            )
        return
    rows = array.reshape(len(array), -1) if array.ndim else array.reshape(1, 1)
    for start in range(0, len(rows), _CHECK_ROWS):
        block = rows[start : start + _CHECK_ROWS]
        if not np.isfinite(block).all():
            raise ValueError(f"{name} must be finite (it contains nan or inf)")
        if narrowing and np.abs(block).max(initial=0) > top:
            raise ValueError(
                f"{name} has values beyond the range of {dtype} (largest {top:g}): they would become inf"
            )


def resolve_dtype(dtype: Any) -> np.dtype:
    """``None`` means float64; anything else must name a NumPy dtype."""
    if dtype is None:
        return FLOAT64
    try:
        return np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"dtype must name a NumPy dtype, got {dtype!r}") from exc


def validate(
    X: Any,
    y: Any,
    *,
    lr: Any,
    epochs: Any,
    w0: Any = None,
    b0: Any = 0.0,
    dtype: Any = None,
    supported: tuple[np.dtype, ...] = ARRAY_DTYPES,
    rung: str = "this rung",
) -> Problem:
    """Check every argument of ``fit`` and convert them to the working dtype.

    Raises TypeError for a value of the wrong kind and ValueError for a value of the
    right kind but out of range; each message names the argument.
    """
    work_dtype = resolve_dtype(dtype)
    if work_dtype not in supported:
        names = ", ".join(str(d) for d in supported)
        raise ValueError(f"dtype {work_dtype} is not supported by {rung}; supported: {names}")

    X = _as_numeric_array(X, "X")
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (m examples, n features), got shape {X.shape}")
    m, n = X.shape
    if m == 0 or n == 0:
        raise ValueError(f"X must be non-empty, got shape {X.shape}")
    _check_finite(X, "X", work_dtype)

    y = _as_numeric_array(y, "y")
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D, got shape {y.shape}")
    if y.shape[0] != m:
        raise ValueError(f"y must have length m={m} (one label per row of X), got {y.shape[0]}")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("y must contain only 0/1 labels")

    lr = _real_scalar(lr, "lr", work_dtype)
    if lr <= 0:
        raise ValueError(f"lr must be > 0, got {lr}")

    if isinstance(epochs, bool | np.bool_) or not isinstance(epochs, numbers.Integral):
        raise TypeError(f"epochs must be an integer, got {type(epochs).__name__}")
    epochs = int(epochs)
    if epochs < 0:
        raise ValueError(f"epochs must be >= 0, got {epochs}")
    if epochs > MAX_EPOCHS:
        raise ValueError(
            f"epochs must be <= {MAX_EPOCHS:,} (its costs array alone would not fit), got {epochs:,}"
        )

    if w0 is None:
        w = np.zeros(n, dtype=work_dtype)
    else:
        w = _as_numeric_array(w0, "w0")
        if w.shape != (n,):
            raise ValueError(f"w0 must have shape (n,) = ({n},), got {w.shape}")
        _check_finite(w, "w0", work_dtype)
        w = w.astype(work_dtype, copy=True)

    b0 = _real_scalar(b0, "b0", work_dtype)

    return Problem(
        X=np.ascontiguousarray(X, dtype=work_dtype),
        y=np.ascontiguousarray(y, dtype=work_dtype),
        w0=w,
        b0=b0,
        lr=lr,
        epochs=epochs,
        dtype=work_dtype,
    )


@dataclass(frozen=True)
class Tolerance:
    """How far a rung may be from the float64 reference, and why.

    Errors are normwise: max |actual - expected| / max(1, max |expected|), taken over
    w, b and the costs (see :func:`relative_error`).
    """

    float64: float
    float32: float
    why: str

    def __call__(self, dtype: Any) -> float:
        return self.float32 if resolve_dtype(dtype) == FLOAT32 else self.float64


#: Rounding differs from the reference only in the order of sums (BLAS or plain loops).
#: A plain running sum over m examples can lose up to about m * 1e-16 in float64 (seen
#: here: 2e-15 at m = 600, 6e-12 at m = 1e6), so the bound allows m up to ~1e7.
#: float32 is about 6e-8 per operation, and BLAS sums a million float32 products in
#: float32: the bound leaves room for that.
REORDERED_SUMS = Tolerance(
    float64=1e-9,
    float32=1e-4,
    why="the same operations as the reference with sums in another order",
)


def relative_error(result: FitResult, w: Any, b: float, costs: Any) -> float:
    """Normwise distance of ``result`` from an expected (w, b, costs), scaled by max(1, |expected|)."""
    worst = 0.0
    for actual, expected in ((result.w, w), ([result.b], [b]), (result.costs, costs)):
        actual = np.asarray(actual, dtype=np.float64)
        expected = np.asarray(expected, dtype=np.float64)
        if expected.size:
            scale = max(1.0, float(np.max(np.abs(expected))))
            worst = max(worst, float(np.max(np.abs(actual - expected))) / scale)
    return worst


@dataclass(frozen=True)
class Rung:
    """One implementation of the descent, with the call every rung shares.

    ``prepare`` turns a validated :class:`Problem` into the rung's own form (lists for
    pure Python); ``descend`` runs the epochs and returns ``(w, b, costs)``. They are
    separate so the benchmark can time ``descend`` alone.
    """

    name: str
    summary: str
    descend: Callable[[Any, float, int], tuple[Any, float, Any]]
    prepare: Callable[[Problem], Any] = lambda problem: problem
    dtypes: tuple[np.dtype, ...] = ARRAY_DTYPES
    tolerance: Tolerance = REORDERED_SUMS
    uses_threads: str | None = None  # whose threads: "blas", "numba", "torch", "xla" or None
    rebuild: Callable[[], Rung] | None = None  # fresh, uncompiled copy (JIT rungs only)
    core: tuple[Callable, ...] = ()  # the functions that hold the algorithm, shown in the lesson
    kernels: tuple[Any, ...] = ()  # Numba dispatchers whose machine code the benchmark inspects

    @property
    def jit(self) -> bool:
        return self.rebuild is not None

    def supports(self, dtype: Any) -> bool:
        return resolve_dtype(dtype) in self.dtypes

    def validate(self, X: Any, y: Any, **kwargs: Any) -> Problem:
        return validate(X, y, supported=self.dtypes, rung=self.name, **kwargs)

    def fit(
        self,
        X: Any,
        y: Any,
        *,
        lr: float,
        epochs: int,
        w0: Any = None,
        b0: float = 0.0,
        dtype: Any = None,
    ) -> FitResult:
        """Train by batch gradient descent; see the package docstring for the contract."""
        problem = self.validate(X, y, lr=lr, epochs=epochs, w0=w0, b0=b0, dtype=dtype)
        return self.run(self.prepare(problem), problem)

    def run(self, state: Any, problem: Problem) -> FitResult:
        """Descend from an already prepared state (what the benchmark times).

        A descent that overflows (a step so large, or values so large, that the cost or the
        weights stop being finite) raises FloatingPointError on every rung alike, instead of
        returning inf or nan that differ from rung to rung.
        """
        try:
            with np.errstate(all="ignore"):  # judged once, below, the same way for every rung
                w, b, costs = self.descend(state, problem.lr, problem.epochs)
        except MemoryError as error:  # a compiled kernel's own allocation says nothing
            if str(error):
                raise
            m, n = problem.X.shape
            raise MemoryError(
                f"{self.name}: not enough memory for its working arrays beside X ({m:,} x {n:,} "
                f"{problem.dtype}): an allocation inside its compiled kernel failed; free memory, "
                "or fit a smaller X"
            ) from error
        _check_converging(w, b, costs, problem)
        return FitResult(
            w=np.asarray(w, dtype=problem.dtype),
            b=float(b),
            costs=np.asarray(costs, dtype=problem.dtype).reshape(problem.epochs),
        )


def _check_converging(w: Any, b: float, costs: Any, problem: Problem) -> None:
    costs = np.asarray(costs, dtype=np.float64)
    bad = ~np.isfinite(costs)
    if bad.any() or not np.isfinite(np.asarray(w, dtype=np.float64)).all() or not np.isfinite(b):
        epoch = int(np.argmax(bad)) if bad.any() else problem.epochs
        raise FloatingPointError(
            f"the descent diverged: the cost or the weights stopped being finite by epoch {epoch} "
            f"(lr = {problem.lr:g}); use a smaller lr, or scale X"
        )


def source_digest(root: Path | str | None = None) -> str:
    """A short hash of every source file of the ladder: ties a results file, the folder of compiled
    kernels and the planner's wisdom to the code they came from.

    Every ``.py`` file under ``root`` (default: this package's folder), subpackages included and
    ``__pycache__`` left out, by its path relative to ``root`` and its bytes, in sorted order.
    """
    base = Path(__file__).parent if root is None else Path(root)
    files = sorted(
        path.relative_to(base).as_posix()
        for path in base.rglob("*.py")
        if "__pycache__" not in path.relative_to(base).parts
    )
    digest = hashlib.sha256()
    for name in files:
        data = (base / name).read_bytes()
        digest.update(f"{name}\0{len(data)}\0".encode())  # where one file ends and the next begins
        digest.update(data)
    return digest.hexdigest()[:16]
