"""Check your own descent: ``python -m bench.yours PATH.py`` (or ``check(fit)`` from a notebook).

PATH.py defines ``fit(X, y, lr, epochs)`` returning ``(w, b, costs)``: X has one example per row
(m rows, n features; the course stacks examples as columns, its X is this X.T), w starts at zeros
and b at 0, and ``costs[k]`` is the cost before epoch k's update, as the ladder's rungs do.

The checker compares your answers with the ladder's float64 reference (``numpy_vectorized``) and
says what is wrong in the course's terms: the cost J at the start, then dw and db (read from your
first step: w = -lr * dw), then the whole descent, each at the smallest size where it goes wrong,
by how much, with a hint. When every answer is right, it times your fit at three sizes beside the
ladder's rungs and draws your nanoseconds per multiply-add on the ladder's chart.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

import ladderstats as stats

SIZES = ((4, 3), (200, 10), (2_000, 50))  # (m, n) of the answers checked: small, loops run in time
TIMED = ((1_000, 10), (10_000, 100), (100_000, 100))  # (m, n) timed when the answers are right
LR, EPOCHS = 0.5, 5
TOLERANCE = 1e-6  # relative: float64 sums in another order stay far inside it
LADDER = ("python_loops", "numpy_vectorized", "numba_fused")  # the rungs timed beside yours
ROUNDS = stats.least_rounds()  # timed rounds per fit and size: the fewest that give a 95% interval
ROUND_S = 0.06  # about how long each round runs
TIMEOUT_S = 300.0  # the whole check, timing included; a right fit in loops takes about a minute


class CheckError(Exception):
    """Your module or your fit cannot be checked; the message is one line saying why."""


@dataclass
class Verdict:
    """What the checker found: right or not, and the lines it says."""

    right: bool
    lines: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(self.lines)


def problem(m: int, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng([seed, m, n])
    X = rng.standard_normal((m, n))
    y = (rng.random(m) < 1 / (1 + np.exp(-X @ rng.standard_normal(n) / math.sqrt(n)))).astype(float)
    return X, y


def reference(X: np.ndarray, y: np.ndarray, lr: float, epochs: int):
    from impls import IMPLEMENTATIONS

    return IMPLEMENTATIONS["numpy_vectorized"].fit(X, y, lr=lr, epochs=epochs)


def load(path: str | Path) -> Callable:
    """The ``fit`` of the module at ``path``; ``CheckError`` with one line if there is none to call."""
    path = Path(path)
    if not path.is_file():
        raise CheckError(f"{path}: no such file (give the path of a .py file that defines fit)")
    spec = importlib.util.spec_from_file_location(f"yours_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:  # the learner's line, not the import machinery's
        where = f"line {exc.lineno} of {Path(exc.filename or path).name}"
        raise CheckError(f"{path} has a {type(exc).__name__} at {where}: {exc.msg}") from None
    except SystemExit as exc:
        raise CheckError(
            f"{path} called sys.exit({exc.code!r}) as it loaded ({_where(exc)}): a module to check defines "
            "fit and returns; put a script's own run under if __name__ == '__main__':"
        ) from None
    except Exception as exc:  # whatever the learner's module raises as it loads
        raise CheckError(f"{path} raised {type(exc).__name__} as it loaded: {exc} ({_where(exc)})") from None
    fit = getattr(module, "fit", None)
    if not callable(fit):
        raise CheckError(f"{path} defines no function fit(X, y, lr, epochs)")
    return fit


def _where(exc: BaseException) -> str:
    frame = traceback.extract_tb(exc.__traceback__)[-1]
    return f"line {frame.lineno} of {Path(frame.filename).name}"


def _call(fit: Callable, X, y, lr: float, epochs: int):
    """(w, b, costs) as float64 arrays from your fit, or ``CheckError`` saying what came back."""
    size = f"m = {X.shape[0]}, n = {X.shape[1]}"
    X_in, y_in = X.copy(), y.copy()
    try:
        out = fit(X_in, y_in, lr, epochs)
    except SystemExit as exc:
        raise CheckError(
            f"your fit called sys.exit({exc.code!r}) at {size} ({_where(exc)}): fit must return (w, b, costs)"
        ) from None
    except Exception as exc:
        hint = ""
        if isinstance(exc, ValueError) and any(
            w in str(exc) for w in ("matmul", "shape", "broadcast", "align")
        ):
            hint = (
                ". Hint: here X has one example per row (m x n, the course's X.T), so z = X @ w + b "
                "and dw = X.T @ (a - y) / m, with w and dw of n numbers"
            )
        raise CheckError(
            f"your fit raised {type(exc).__name__} at {size}: {exc} ({_where(exc)}){hint}"
        ) from None
    if not (np.array_equal(X_in, X) and np.array_equal(y_in, y)):
        raise CheckError(
            f"your fit changed X or y in place at {size}: the caller's data must stay as it was; work on "
            "X.copy() (or y.copy()) where you change them, or write X = X - ... rather than X -= ..."
        )
    if not (isinstance(out, tuple | list) and len(out) == 3):
        raise CheckError(f"fit must return (w, b, costs); yours returned {type(out).__name__} at {size}")
    n = X.shape[1]
    w = _numbers(out[0], "w", f"an array of n = {n} numbers", size)
    b = _numbers(out[1], "b", "one number", size)
    costs = _numbers(out[2], "costs", f"a list or array of {epochs} numbers, one per epoch", size)
    if w.size != n:
        hint = ""
        if w.ndim == 2 and w.shape[0] == n:
            hint = (
                ". Hint: with w an (n, 1) column, as in the course, X @ w is an (m, 1) column, and (m, 1) "
                "minus y's (m,) broadcasts to (m, m); keep w flat (np.zeros(n)), or make y a column "
                "(y.reshape(-1, 1)) and return w.ravel()"
            )
        raise CheckError(
            f"w must hold n = {n} numbers, one per feature; yours has shape {w.shape} at {size}{hint}"
        )
    if b.size != 1:
        raise CheckError(f"b must be one number; yours has shape {b.shape} at {size}")
    if costs.size != epochs:
        raise CheckError(f"costs must hold one cost per epoch ({epochs}); yours has {costs.size} at {size}")
    return w.reshape(n), float(b.reshape(())), costs.reshape(epochs)


def _numbers(value, name: str, wanted: str, size: str) -> np.ndarray:
    """``value`` as float64 numbers, all finite; ``CheckError`` naming ``name`` and what came back."""
    kind = type(value).__name__
    if value is None or isinstance(value, str | bytes):
        raise CheckError(f"{name} must be {wanted}; yours is {value!r} at {size}")
    if isinstance(value, Iterator):  # a generator or map: read once, gone
        raise CheckError(f"{name} must be {wanted}; yours is a {kind}: return list(...) of it, at {size}")
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise CheckError(f"{name} must be {wanted}; yours ({kind}) is not: {exc}, at {size}") from None
    if not np.all(np.isfinite(array)):
        raise CheckError(
            f"{name} holds nan or inf at {size}: here nothing overflows, so look for a log of 0, a 0 / 0, "
            "or a value never set"
        )
    return array


def _off(yours, expected) -> float:
    yours, expected = np.asarray(yours, dtype=float), np.asarray(expected, dtype=float)
    return float(np.max(np.abs(yours - expected)) / max(1e-12, float(np.max(np.abs(expected)))))


def _gradient_hint(name: str, yours, expected, m: int) -> str:
    """What a wrong dw or db most likely misses, from how it relates to the right one."""
    yours, expected = np.ravel(yours), np.ravel(expected)
    formula = "dw = (1/m) X.T @ (a - y)" if name == "dw" else "db = (1/m) * sum(a - y)"
    if np.allclose(yours, -expected, rtol=1e-6, atol=1e-12):
        if name == "db":  # dw, checked first, is right: so is the error a - y it was made from
            return (
                "the sign is flipped, though dw (made from the same error a - y) is right: look at "
                f"b's step, b = b - lr * db, or an error of y - a in db alone. {formula}"
            )
        return (
            "the sign is flipped: the error is a - y (prediction minus label), the step "
            f"w = w - lr * dw. {formula}"
        )
    if np.allclose(yours, m * expected, rtol=1e-6, atol=1e-12):
        return f"it is m times too large: divide the sum by m. {formula}"
    if np.allclose(yours * m, expected, rtol=1e-6, atol=1e-12):
        return f"it is divided by m twice. {formula}"
    return f"{formula}, with a = sigmoid(X @ w + b) for every example"


def check(fit: Callable, doing: Callable[[str], None] = lambda text: None) -> Verdict:
    """Your answers against the reference at each size of ``SIZES``; the first thing wrong, named.
    ``doing`` hears what is being checked, as it starts (the judge's progress line)."""
    lines = []
    try:
        for m, n in SIZES:
            X, y = problem(m, n)
            size = f"m = {m}, n = {n}"
            doing(f"checking your answers at {size}")
            w1, b1, c1 = _call(fit, X, y, LR, 1)
            ref = reference(X, y, LR, 1)
            j0 = float(ref.costs[0])
            if _off(c1[0], j0) > TOLERANCE:
                return Verdict(False, [
                    f"cost: wrong at {size}. At the start (w = 0, b = 0) every a is 0.5 and J = log 2 = "
                    f"{j0:.6f}; yours is {c1[0]:.6f} ({_off(c1[0], j0):.1%} off). Hint: J = -(1/m) * "
                    "sum(y * log(a) + (1 - y) * log(1 - a)), with the minus sign and the 1/m; and costs[0] "
                    "is the cost before the first update."
                ])  # fmt: skip
            dw, db = -w1 / LR, -b1 / LR  # from w = 0 and b = 0, one step: w = -lr * dw
            ref_dw, ref_db = -ref.w / LR, -ref.b / LR
            for name, yours, expected in (("dw", dw, ref_dw), ("db", db, ref_db)):
                if _off(yours, expected) > TOLERANCE:
                    hint = _gradient_hint(name, yours, expected, m)
                    return Verdict(False, [
                        f"{name}: wrong at {size} (read from your first step, "
                        f"{'w = -lr * dw' if name == 'dw' else 'b = -lr * db'}): "
                        f"{_off(yours, expected):.1%} off the reference. Hint: {hint}."
                    ])  # fmt: skip
            w, b, costs = _call(fit, X, y, LR, EPOCHS)
            ref = reference(X, y, LR, EPOCHS)
            worst = max(_off(w, ref.w), _off(b, ref.b), _off(costs, ref.costs))
            if worst > TOLERANCE:
                k = int(np.argmax(np.abs(costs - ref.costs) > TOLERANCE * np.abs(ref.costs)))
                return Verdict(False, [
                    f"the descent: wrong at {size} from epoch {k} on ({worst:.1%} off), though J, dw and db "
                    "of the first step are right. Hint: each epoch computes a, J, dw and db at the current "
                    "w and b, records J, then updates w = w - lr * dw and b = b - lr * db."
                ])  # fmt: skip
            lines.append(f"right at {size}: J, dw, db and {EPOCHS} epochs agree with the reference")
    except CheckError as exc:
        return Verdict(False, [str(exc)])
    return Verdict(True, [*lines, "All right."])


def seconds_per_epoch_by_round(
    fits: dict[str, Callable], X: np.ndarray, y: np.ndarray, rounds: int = ROUNDS
) -> dict[str, list[float]]:
    """Seconds per epoch of each fit on X, y in each of ``rounds`` rounds taken in turns (each fit
    once a round, the order rotating), so that fits compared round by round met the same machine.
    Before them, one untimed epoch each (a compile, a first touch) sets how many epochs fill a
    round."""
    epochs = {}
    for name, fit in fits.items():
        start = time.perf_counter()
        fit(X, y, LR, 1)
        first = time.perf_counter() - start
        epochs[name] = max(1, min(50, int(ROUND_S / max(first, 1e-6))))
    out: dict[str, list[float]] = {name: [] for name in fits}
    names = list(fits)
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            start = time.perf_counter()
            fits[name](X, y, LR, epochs[name])
            out[name].append((time.perf_counter() - start) / epochs[name])
    return out


def ns_per_multiply_add(seconds: float, m: int, n: int) -> float:
    """An epoch does 2 m n multiply-adds (X @ w, then X.T @ error): nanoseconds per one."""
    return seconds / (2 * m * n) * 1e9


def _descent_only(rung, X: np.ndarray, y: np.ndarray) -> Callable:
    """A rung's descent on X, y as the benchmarks time it: checking the inputs and converting them
    (lists, for pure Python) done once here, outside the timing."""
    checked = rung.validate(X, y, lr=LR, epochs=1)
    state = rung.prepare(checked)
    return lambda X, y, lr, epochs: rung.run(state, replace(checked, lr=lr, epochs=epochs))


def timings(
    fit: Callable, sizes=TIMED, loops_up_to: int = 10**6, doing: Callable[[str], None] = lambda text: None
) -> dict[str, dict[tuple, list[float]]]:
    """Nanoseconds per multiply-add of yours and of the ladder's rungs at each size, round by round
    (pure Python only where m n is small enough to time in a second)."""
    from impls import IMPLEMENTATIONS

    out: dict[str, dict[tuple, list[float]]] = {}
    for m, n in sizes:
        doing(f"timing your fit beside the ladder at m = {m:,}, n = {n}")
        X, y = problem(m, n)
        fits = {"yours": fit}
        for name in LADDER:
            if name == "python_loops" and m * n > loops_up_to:
                continue
            fits[name] = _descent_only(IMPLEMENTATIONS[name], X, y)
        for name, seconds in seconds_per_epoch_by_round(fits, X, y).items():
            out.setdefault(name, {})[m, n] = [ns_per_multiply_add(t, m, n) for t in seconds]
    return out


def best_rounds(found: dict[str, dict[tuple, list[float]]]) -> dict[str, dict[tuple, float]]:
    """Each fit's best round at each size: other work on the machine can only add time."""
    return {name: {size: min(rounds) for size, rounds in points.items()} for name, points in found.items()}


def faster_sizes(found: dict[str, dict[tuple, list[float]]], of: str, than: str) -> list[tuple]:
    """The sizes where ``of`` is faster than ``than`` by the 95% interval of their ratio over the
    same rounds (``ladderstats.paired``): a tie, or noise, leaves the interval across 1."""
    return [
        size
        for size, rounds in found.get(of, {}).items()
        if size in found.get(than, {}) and stats.paired(rounds, found[than][size]).verdict() == "faster"
    ]


def draw(found: dict[str, dict[tuple, float]], path: Path) -> Path:
    """Your line on the ladder's chart: nanoseconds per multiply-add against the size of X."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for k, (name, points) in enumerate(found.items()):
        sizes = sorted(points, key=lambda s: s[0] * s[1])
        mn = [m * n for m, n in sizes]
        style = {"color": "black", "linewidth": 3, "marker": "o"} if name == "yours" else {"marker": "."}
        ax.plot(mn, [points[s] for s in sizes], label=name, color=style.pop("color", f"C{k}"), **style)
    ax.set(xscale="log", yscale="log", xlabel="m × n (elements of X)", ylabel="ns per multiply-add")
    ax.set_title("Your fit on the ladder")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def parser() -> argparse.ArgumentParser:
    out = argparse.ArgumentParser(prog="python -m bench.yours", description=__doc__.splitlines()[0])
    out.add_argument("path", type=Path, help="your module: a .py file that defines fit(X, y, lr, epochs)")
    out.add_argument("--no-timing", action="store_true", help="check the answers only")
    out.add_argument("--chart", type=Path, default=Path("yours.png"), help="where to draw (yours.png)")
    out.add_argument(
        "--timeout",
        type=float,
        default=TIMEOUT_S,
        metavar="SECONDS",
        help=f"stop and say so after this long (default {TIMEOUT_S:g}: a descent in loops takes a minute)",
    )
    return out


def run(args: argparse.Namespace, say=None, doing: Callable[[str], None] = lambda text: None) -> int:
    """The whole check in this process: your module loaded, its answers checked, then timed. Lines go
    to ``say(text, err)``; the exit code is returned (0 right, 1 wrong, 2 nothing to check)."""
    say = say or (lambda text, err=False: print(text, file=sys.stderr if err else sys.stdout))
    if not args.no_timing and not args.chart.parent.is_dir():
        say(f"error: --chart {args.chart}: the folder {args.chart.parent} does not exist", True)
        return 2
    try:
        doing("loading your module")
        fit = load(args.path)
    except CheckError as exc:
        say(f"error: {exc}", True)
        return 2
    verdict = check(fit, doing)
    say(str(verdict))
    if not verdict.right:
        return 1
    if not args.no_timing:
        found = timings(fit, doing=doing)
        best = best_rounds(found)
        lines = ["\nnanoseconds per multiply-add (an epoch does 2 m n of them):"]
        for m, n in best["yours"]:
            beside = ", ".join(f"{name} {pts[m, n]:.3g}" for name, pts in best.items() if (m, n) in pts)
            lines.append(f"  m = {m:>7,}, n = {n:>4}: {beside}")
        lines.append(
            f"  (each the best of {ROUNDS} rounds, taken in turns: other work on this machine can only "
            "add time, so numbers that differ a lot between two runs of the checker were disturbed)"
        )
        ahead = faster_sizes(found, "yours", "numpy_vectorized")
        if ahead:
            sizes = " and ".join(f"m = {m:,}, n = {n}" for m, n in ahead)
            lines.append(
                f"Your answers are right, and yours ran faster than numpy_vectorized at {sizes} (by the "
                f"95% interval over the {ROUNDS} rounds): the ladder's rungs compute the sigmoid and the "
                "loss in forms that never overflow (the logistic_terms fold of the lesson), with a few "
                "more passes over arrays of m numbers; a plain 1 / (1 + np.exp(-z)) and np.log(a) would "
                "give inf or nan where |z| is very large."
            )
        lines.append(f"drawn in {draw(best, args.chart)}")
        say("\n".join(lines))
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.yours``: :func:`run` in a process of its own, judged from here (``bench.judge``)."""
    from bench import judge

    args = parser().parse_args(argv)
    if not (math.isfinite(args.timeout) and args.timeout > 0):
        print(f"error: --timeout must be a number of seconds > 0, got {args.timeout:g}", file=sys.stderr)
        return 2
    return judge.judged(run, args)


if __name__ == "__main__":
    sys.exit(main())
