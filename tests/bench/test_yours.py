"""``python -m bench.yours``: a learner's fit checked in the course's terms, and the exercises' notebook."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import jupytext
import numpy as np
import pytest
from nbclient import NotebookClient

from bench import yours

ROOT = Path(__file__).resolve().parents[2]
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
        "Hint: the sign is flipped, though dw (made from the same error a - y) is right: look at b's step, "
        "b = b - lr * db,",
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


def _returns(expression: str) -> str:
    return f"import numpy as np\ndef fit(X, y, lr, epochs):\n    return {expression}\n"


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
        "your fit changed X or y in place at m = 4, n = 3: the caller's data must stay as it was; work "
        "on X.copy()",
    ),
    ("import sys\nsys.exit(0)\n", "called sys.exit(0) as it loaded (line 2 of mine.py)"),
    (
        "import sys\ndef fit(X, y, lr, epochs):\n    sys.exit(0)\n",
        "your fit called sys.exit(0) at m = 4, n = 3 (line 3 of mine.py): fit must return (w, b, costs)",
    ),
    (
        "import os\ndef fit(X, y, lr, epochs):\n    os._exit(0)\n",
        "your module ended the checker's process (exit code 0) while checking your answers at m = 4, n = 3",
    ),
    (
        _returns("np.zeros(X.shape[1]), float('nan'), [0.6] * epochs"),
        "b holds nan or inf at m = 4, n = 3",
    ),
    (
        _returns("np.zeros(X.shape[1]), None, [0.6] * epochs"),
        "b must be one number; yours is None at m = 4, n = 3",
    ),
    (
        _returns("np.zeros(X.shape[1]), 0.0, [None] * epochs"),
        "costs holds nan or inf at m = 4, n = 3",
    ),
    (
        "def fit(X, y, lr, epochs):\n    return 'w', 0.0, [0.6] * epochs\n",
        "w must be an array of n = 3 numbers; yours is 'w' at m = 4, n = 3",
    ),
    (
        "def fit(X, y, lr, epochs):\n    return [0.0, [0.0, 0.0], 0.0], 0.0, [0.6] * epochs\n",
        "w must be an array of n = 3 numbers; yours (list) is not:",
    ),
    (
        _returns("np.zeros(3), 0.0, (0.6 for _ in range(epochs))"),
        "costs must be a list or array of 1 numbers, one per epoch; yours is a generator: return list(...)",
    ),
    ("def fit(X, y, lr, epochs):\n    return (\n\nx = 1\n", "has a SyntaxError at line 2 of mine.py:"),
    (
        VECTORIZED.replace("np.zeros(n)", "np.zeros((n, 1))"),
        "w must hold n = 3 numbers, one per feature; yours has shape (3, 4) at m = 4, n = 3. Hint: with w an "
        "(n, 1) column, as in the course,",
    ),
]

BAD_IDS = ["no-fit", "raises", "shape", "not-a-tuple", "in-place", "exit-on-load", "exit-in-fit", "os-exit"]
BAD_IDS += ["nan-b", "none-b", "none-costs", "str-w", "ragged-w", "generator-costs", "syntax", "column-w"]


@pytest.mark.parametrize(("text", "message"), BAD, ids=BAD_IDS)
def test_a_module_that_cannot_be_checked_gets_one_clear_line(text, message, tmp_path, capsys):
    code = yours.main([str(_module(tmp_path, text)), "--no-timing"])
    captured = capsys.readouterr()
    said = (captured.out + captured.err).strip()
    assert code in (1, 2) and len(said.splitlines()) == 1 and message in said, said
    assert "importlib" not in said and "<frozen" not in said


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
    assert all(len(rounds) == yours.ROUNDS for points in found.values() for rounds in points.values())
    assert all(ns > 0 for points in found.values() for rounds in points.values() for ns in rounds)
    assert yours.draw(yours.best_rounds(found), tmp_path / "yours.png").stat().st_size > 1000


@pytest.mark.parametrize("name", yours.LADDER)
def test_a_rung_is_timed_on_its_descent_alone_with_the_same_answer(name):
    """The checker times a rung as the benchmarks do (inputs checked and converted once, outside the
    timing): what it runs is the rung's own fit, to the last digit."""
    from impls import IMPLEMENTATIONS

    X, y = yours.problem(300, 7)
    got = yours._descent_only(IMPLEMENTATIONS[name], X, y)(X, y, 0.3, 4)
    want = IMPLEMENTATIONS[name].fit(X, y, lr=0.3, epochs=4)
    np.testing.assert_array_equal(got.w, want.w)
    np.testing.assert_array_equal(got.costs, want.costs)
    assert got.b == want.b


def test_each_fit_is_timed_in_turns_and_its_best_round_kept():
    """Every fit runs once untimed, then once a round in a rotating order; a round disturbed by
    other work (here: a pause of 0.3 s in one call) is kept as it was and is not the best."""
    calls = []

    def fake(name, pause_on=None):
        def fit(X, y, lr, epochs):
            calls.append(name)
            if len(calls) == pause_on:
                time.sleep(0.3)
            return None

        return fit

    X, y = yours.problem(10, 2)
    fits = {"a": fake("a", pause_on=4), "b": fake("b"), "c": fake("c")}
    rounds = yours.seconds_per_epoch_by_round(fits, X, y, rounds=3)
    assert calls == [*"abc", *"abc", *"bca", *"cab"]  # untimed, then rounds 1 to 3
    assert [len(r) for r in rounds.values()] == [3, 3, 3]
    assert rounds["a"][0] >= 0.3 / 50  # the paused round, 50 epochs of an instant fit
    best = yours.best_rounds({"a": {(10, 2): rounds["a"]}})
    assert best == {"a": {(10, 2): min(rounds["a"][1:])}}


def _printed_by_main(monkeypatch, capsys, found) -> str:
    """What the check prints of timings ``found`` (run in this process, where they can be planted)."""
    monkeypatch.setattr(yours, "timings", lambda fit, doing: found)
    monkeypatch.setattr(yours, "draw", lambda found, path: path)
    assert yours.run(yours.parser().parse_args([str(SOLUTIONS / "vectorized.py")])) == 0
    return capsys.readouterr().out


def test_a_fit_faster_than_the_vectorized_rung_by_its_interval_is_told_why(monkeypatch, capsys):
    found = {
        "yours": {(1_000, 10): [1.0, 1.1, 0.9, 1.0, 1.2, 1.0], (10_000, 100): [0.2] * 6},
        "numpy_vectorized": {(1_000, 10): [1.5, 1.6, 1.4, 1.5, 1.5, 1.5], (10_000, 100): [0.1] * 6},
        "numba_fused": {(1_000, 10): [3.0] * 6, (10_000, 100): [0.05] * 6},
    }
    out = _printed_by_main(monkeypatch, capsys, found)
    assert "m =   1,000, n =   10: yours 0.9, numpy_vectorized 1.4, numba_fused 3" in out  # best rounds
    assert "each the best of 6 rounds, taken in turns" in out
    said = "Your answers are right, and yours ran faster than numpy_vectorized at m = 1,000, n = 10 (by"
    assert said + " the 95% interval over the 6 rounds): " in out
    assert "forms that never overflow" in out


def test_a_fit_level_with_or_behind_the_vectorized_rung_gets_no_such_note(monkeypatch, capsys):
    """Ahead in its best round and in five rounds of six, behind in one: its interval reaches 1."""
    found = {
        "yours": {(1_000, 10): [1.0, 1.0, 1.0, 1.0, 1.0, 2.0], (10_000, 100): [0.3] * 6},
        "numpy_vectorized": {(1_000, 10): [1.1] * 6, (10_000, 100): [0.2] * 6},
    }
    assert "ran faster" not in _printed_by_main(monkeypatch, capsys, found)


def _run_in_jupyter(text: str) -> str:
    """Run a notebook kept as jupytext's percent text cell by cell in a Jupyter kernel, as Jupyter
    would for a learner; what its cells printed. A cell that raises fails the test with its traceback."""
    notebook = jupytext.reads(text, fmt="py:percent")
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}
    ).execute()
    return "".join(
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "stream" and output.get("name") == "stdout"
    )


def _says_each_exercise_is_to_do(printed: str) -> None:
    lines = printed.splitlines()
    assert "All right." in lines  # the given loop version passes
    assert any("raised NotImplementedError at m = 4, n = 3: exercise (a)" in line for line in lines)
    assert any("raised NotImplementedError at m = 4, n = 3: exercise (b)" in line for line in lines)


def test_the_notebook_runs_in_jupyter_and_checks_each_exercise():
    """The notebook as a learner first opens it: the loops pass, the two exercises say what to do."""
    _says_each_exercise_is_to_do(_run_in_jupyter(NOTEBOOK.read_text()))


def test_the_notebook_runs_as_a_python_file_too():
    """The lesson says it may also be run as it is: the same checks, printed."""
    done = subprocess.run(
        [sys.executable, str(NOTEBOOK)], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    _says_each_exercise_is_to_do(done.stdout)


@pytest.mark.parametrize("solution", ["vectorized.py", "one_pass.py"])
def test_the_notebook_with_its_solution_in_place_passes(solution):
    """The notebook's exercise cells replaced by the solution's code, run in Jupyter: every check
    says right."""
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
    printed = _run_in_jupyter(text)
    checks = "All right." if solution == "vectorized.py" else "right at m = 2000"
    assert printed.count(checks) >= 2, printed


def test_the_courses_column_layout_gets_a_hint_about_rows(tmp_path, capsys):
    """A learner used to the course's X (examples as columns) writes X @ (a - y): told which way here."""
    columns = VECTORIZED.replace("dw = X.T @ (a - y) / m", "dw = X @ (a - y) / m")
    assert yours.main([str(_module(tmp_path, columns)), "--no-timing"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("your fit raised ValueError at m = 4, n = 3: matmul")
    assert "Hint: here X has one example per row (m x n, the course's X.T)" in out


# --- the checker as a judge: a time limit, Ctrl-C, no exit read as a pass -------------------------

FOREVER = "def fit(X, y, lr, epochs):\n    while True:\n        pass\n"


def test_a_fit_that_never_returns_is_stopped_at_the_time_limit_and_said_where(tmp_path, capsys, monkeypatch):
    from bench import judge

    monkeypatch.setattr(judge, "PROGRESS_S", 1.0)
    start = time.perf_counter()
    assert yours.main([str(_module(tmp_path, FOREVER)), "--timeout", "4"]) == 1
    assert time.perf_counter() - start < 30
    err = capsys.readouterr().err
    assert "... checking your answers at m = 4, n = 3 (" in err  # the progress line
    assert (
        err.strip()
        .splitlines()[-1]
        .startswith("error: no verdict within 4 s: stopped while checking your answers at m = 4, n = 3")
    )


def _checking_forever(tmp_path: Path, **popen) -> subprocess.Popen:
    """``python -m bench.yours`` on a fit that never returns, once the module has loaded."""
    path = _module(tmp_path, "import sys\nprint('loaded', flush=True)\n" + FOREVER)
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.yours", str(path), "--timeout", "60"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )
    assert proc.stdout.readline().strip() == "loaded"  # the module is loaded: the check is under way
    return proc


def test_ctrl_c_stops_the_check_with_one_line_and_no_traceback(tmp_path):
    import signal

    proc = _checking_forever(tmp_path, start_new_session=True)  # its own terminal: Ctrl-C to the group
    time.sleep(1.0)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "stopped (Ctrl-C) while checking your answers at m = 4, n = 3: no verdict" in err
    assert "Traceback" not in err


def test_a_timeout_that_is_not_a_positive_number_is_refused(capsys):
    assert yours.main([str(SOLUTIONS / "vectorized.py"), "--timeout", "0"]) == 2
    assert "--timeout must be a number of seconds > 0" in capsys.readouterr().err


def test_a_checker_killed_takes_the_learners_process_with_it(tmp_path):
    """The judge's process killed outright (no Ctrl-C to handle): the process running the learner's
    fit, which ignores Ctrl-C, ends too instead of looping on alone."""
    import psutil

    proc = _checking_forever(tmp_path)
    children = psutil.Process(proc.pid).children(recursive=True)
    assert children
    time.sleep(2.0)  # the fit is looping
    proc.kill()
    proc.wait(timeout=30)
    _, alive = psutil.wait_procs(children, timeout=20)
    assert not alive, alive


def test_a_fit_that_crashes_is_named_as_a_crash_not_an_exit(tmp_path, capsys):
    crash = "import os, signal\ndef fit(X, y, lr, epochs):\n    os.kill(os.getpid(), signal.SIGSEGV)\n"
    assert yours.main([str(_module(tmp_path, crash)), "--no-timing"]) == 1
    said = capsys.readouterr().err.strip()
    assert said == (
        "error: the checker's process died of SIGSEGV (a crash in compiled code) while checking your "
        "answers at m = 4, n = 3, before any verdict"
    ), said


def test_a_chart_folder_that_does_not_exist_is_said_before_any_work(tmp_path, capsys):
    chart = tmp_path / "nowhere" / "yours.png"
    assert yours.main([str(SOLUTIONS / "vectorized.py"), "--chart", str(chart)]) == 2
    said = capsys.readouterr().err.strip()
    assert said == f"error: --chart {chart}: the folder {chart.parent} does not exist"
