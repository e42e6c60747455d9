"""``python -m bench.yours``: a learner's fit checked in the course's terms, and the exercises' notebook."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench import yours

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "reports" / "solutions"
NOTEBOOK = ROOT / "reports" / "exercises.py"

VECTORIZED = (SOLUTIONS / "vectorized.py").read_text()


def _module(tmp_path: Path, text: str, name: str = "mine.py") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("solution", ["vectorized.py", "one_pass.py"])
def test_the_solutions_are_right(solution, capsys):
    assert yours.main([str(SOLUTIONS / solution), "--no-timing"]) == 0
    out = capsys.readouterr().out
    assert out.strip().endswith("All right.") and out.count("right at m = ") == len(yours.SIZES)


WRONG = [
    (  # forgot the 1/m in dw
        ("dw = X.T @ (a - y) / m", "dw = X.T @ (a - y)"),
        "dw: wrong at m = 4, n = 3 (read from your first step, w = -lr * dw): ",
        "Hint: it is m times too large: divide the sum by m.",
    ),
    (  # the error as label minus prediction, in both gradients
        ("(a - y)", "(y - a)"),
        "dw: wrong at m = 4, n = 3",
        "Hint: the sign is flipped: the error is a - y (prediction minus label), the step w = w - lr * dw.",
    ),
    (  # b stepped up the slope instead of down
        ("b = b - lr * db", "b = b + lr * db"),
        "db: wrong at m = 4, n = 3 (read from your first step, b = -lr * db): ",
        "the step b = b - lr * db.",
    ),
    (  # the cost without its minus sign
        ("costs.append(-np.mean(", "costs.append(np.mean("),
        "cost: wrong at m = 4, n = 3. At the start (w = 0, b = 0) every a is 0.5 and J = log 2 = 0.693147;",
        "Hint: J = -(1/m) * sum(y * log(a) + (1 - y) * log(1 - a)), with the minus sign",
    ),
    (  # db from the error of the last example only
        ("db = np.mean(a - y)", "db = (a - y)[-1]"),
        "db: wrong at m = 4, n = 3",
        "Hint: db = (1/m) * sum(a - y), with a = sigmoid(X @ w + b) for every example.",
    ),
]


@pytest.mark.parametrize(
    ("change", "where", "hint"), WRONG, ids=["no-1/m", "sign", "b-step-sign", "cost-sign", "db-last"]
)
def test_a_wrong_descent_is_named_in_the_courses_terms(change, where, hint, tmp_path, capsys):
    old, new = change
    assert old in VECTORIZED
    path = _module(tmp_path, VECTORIZED.replace(old, new))
    assert yours.main([str(path), "--no-timing"]) == 1
    out = capsys.readouterr().out
    assert out.startswith(where) and hint in out, out


def test_costs_recorded_after_the_update_are_named_and_a_later_step_gone_wrong_is_the_descent(
    tmp_path, capsys
):
    record = "        costs.append(-np.mean(y * np.log(a) + (1 - y) * np.log(1 - a)))\n"
    after = VECTORIZED.replace(record, "").replace(
        "        b = b - lr * db\n",
        "        b = b - lr * db\n        a = 1 / (1 + np.exp(-(X @ w + b)))\n" + record,
    )
    assert yours.main([str(_module(tmp_path, after, "after.py")), "--no-timing"]) == 1
    assert "costs[0] is the cost before the first update" in capsys.readouterr().out
    doubled = VECTORIZED.replace("w = w - lr * dw", "w = w - lr * dw * (1 if len(costs) == 1 else 2)")
    assert yours.main([str(_module(tmp_path, doubled, "doubled.py")), "--no-timing"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("the descent: wrong at m = 4, n = 3 from epoch 2 on"), out


BAD = [
    ("import numpy as np\n", "defines no function fit(X, y, lr, epochs)"),
    (
        "x = 1 / 0\ndef fit(X, y, lr, epochs):\n    pass\n",
        "raised ZeroDivisionError as it loaded: division by zero (line 1 of",
    ),
    (
        "import numpy as np\ndef fit(X, y, lr, epochs):\n"
        "    return np.zeros(X.shape[1] + 1), 0.0, np.zeros(epochs)\n",
        "w must hold n = 3 numbers, one per feature; yours has shape (4,) at m = 4, n = 3",
    ),
    (
        "def fit(X, y, lr, epochs):\n    return 1.0\n",
        "fit must return (w, b, costs); yours returned float at m = 4, n = 3",
    ),
    (
        "def fit(X, y, lr, epochs):\n    X[0, 0] = 0.0\n    return X[0], 0.0, [0.0] * epochs\n",
        "your fit changed X or y in place at m = 4, n = 3: work on copies",
    ),
]


@pytest.mark.parametrize(
    ("text", "message"), BAD, ids=["no-fit", "raises", "shape", "not-a-tuple", "in-place"]
)
def test_a_module_that_cannot_be_checked_gets_one_clear_line(text, message, tmp_path, capsys):
    code = yours.main([str(_module(tmp_path, text)), "--no-timing"])
    captured = capsys.readouterr()
    said = (captured.out + captured.err).strip()
    assert code in (1, 2) and len(said.splitlines()) == 1 and message in said, said


def test_a_missing_file_is_one_line(tmp_path, capsys):
    assert yours.main([str(tmp_path / "nowhere.py")]) == 2
    assert (
        capsys.readouterr().err.strip()
        == f"error: {tmp_path / 'nowhere.py'}: no such file (give the path of a .py file that defines fit)"
    )


def test_a_right_fit_is_timed_beside_the_ladder_and_drawn(tmp_path):
    fit = yours.load(SOLUTIONS / "vectorized.py")
    found = yours.timings(fit, sizes=((100, 10), (1_000, 10)))
    assert set(found) == {"yours", *yours.LADDER}
    assert all(ns > 0 for points in found.values() for ns in points.values())
    assert yours.draw(found, tmp_path / "yours.png").stat().st_size > 1000


def test_the_notebook_runs_and_checks_each_exercise():
    """The notebook as a learner first opens it: the loops pass, the two exercises say what to do."""
    done = subprocess.run(
        [sys.executable, str(NOTEBOOK)], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert "All right." in lines
    assert any("raised NotImplementedError at m = 4, n = 3: exercise (a)" in line for line in lines)
    assert any("raised NotImplementedError at m = 4, n = 3: exercise (b)" in line for line in lines)


@pytest.mark.parametrize("solution", ["vectorized.py", "one_pass.py"])
def test_the_notebook_with_its_solution_in_place_passes(solution, tmp_path):
    """The notebook's exercise cells replaced by the solution's code: every check says right."""
    text = NOTEBOOK.read_text()
    solved = (SOLUTIONS / solution).read_text()
    if solution == "vectorized.py":
        start, end = text.index("def fit(X, y, lr, epochs):"), text.index("print(check(fit))")
        text = (
            text[:start] + solved.split('"""', 2)[2].replace("import numpy as np\n", "") + "\n\n" + text[end:]
        )
    else:
        start, end = text.index("def epoch_pass(X, y, w, b):"), text.index("print(check(fit_one_pass))")
        body = solved.split('"""', 2)[2].replace("def fit(", "def fit_one_pass(")
        text = text[:start] + body + "\n\n" + text[end:]
    path = tmp_path / "solved.py"
    path.write_text(text)
    done = subprocess.run([sys.executable, str(path)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    checks = "All right." if solution == "vectorized.py" else "right at m = 2000"
    assert done.stdout.count(checks) >= 2, done.stdout


def test_the_courses_column_layout_gets_a_hint_about_rows(tmp_path, capsys):
    """A learner used to the course's X (examples as columns) writes X @ (a - y): told which way here."""
    columns = VECTORIZED.replace("dw = X.T @ (a - y) / m", "dw = X @ (a - y) / m")
    assert yours.main([str(_module(tmp_path, columns)), "--no-timing"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("your fit raised ValueError at m = 4, n = 3: matmul")
    assert "Hint: here X has one example per row (m x n, the course's X.T)" in out
