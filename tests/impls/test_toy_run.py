"""The seed's toy run: X = [[1], [2], [3]], y = [0, 1, 1], lr 0.1, 100 epochs from zero."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from impls import IMPLEMENTATIONS, LABEL_ALIASES, MISSING, toy_run
from tests.reference import reference_fit

ROOT = Path(__file__).resolve().parents[2]


def test_toy_run_matches_the_reference(rung):
    result = rung.fit(toy_run.TOY_X, toy_run.TOY_Y, lr=0.1, epochs=100)
    w, b, costs = reference_fit(toy_run.TOY_X, toy_run.TOY_Y, lr=0.1, epochs=100)
    assert result.costs[0] == pytest.approx(math.log(2), rel=1e-15)
    assert result.costs == pytest.approx(costs, rel=1e-12)
    assert result.w == pytest.approx(w, rel=1e-12)
    assert result.b == pytest.approx(b, rel=1e-12)
    # The run learns: a positive weight, the cost falls every epoch.
    assert result.w[0] > 0 and bool(np.all(np.diff(costs) < 0))


def test_every_rung_prints_the_same_numbers():
    table, agree = toy_run.render(list(IMPLEMENTATIONS))
    assert agree, table
    columns = [toy_run.toy_lines(name) for name in IMPLEMENTATIONS]
    assert all(column == columns[0] for column in columns)
    assert columns[0][0] == "0.6931"  # log 2: zero weights predict 0.5 for everyone


def test_toy_run_command_line():
    done = subprocess.run(
        [sys.executable, "-m", "impls.toy_run", "numpy_vectorized", "numba_loops"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "cost at epoch 90" in done.stdout and "all rungs agree" in done.stdout
    refused = subprocess.run(
        [sys.executable, "-m", "impls.toy_run", "fortran"], capture_output=True, text=True
    )
    assert refused.returncode == 2 and "unknown rung(s): fortran" in refused.stderr


def test_the_registry_is_in_the_order_the_readme_teaches_the_rungs():
    """The lesson follows the registry's order; the README's table of rungs must tell the same order,
    and list every rung (a rung added, or moved, in one place only fails here)."""
    import re

    rows = [line for line in (ROOT / "README.md").read_text().splitlines() if line.startswith("| `")]
    taught = [name for row in rows for name in re.findall(r"`(\w+)`", row.split("|")[1])]
    assert [name for name in taught if name in IMPLEMENTATIONS] == list(IMPLEMENTATIONS)
    assert set(taught) == set(IMPLEMENTATIONS) | set(MISSING)  # the peers not installed here too
    for name, rung in IMPLEMENTATIONS.items():
        assert rung.name == name and rung.summary and rung.dtypes


def test_each_label_is_its_modules_name():
    """A learner finds the rung `numba_tiled` in impls/numba_tiled.py (a rung of several modules, `dask`,
    in the package impls/dask/), and its lesson under the same name."""
    for name, rung in IMPLEMENTATIONS.items():
        package = ROOT / "impls" / name / "__init__.py"
        assert (ROOT / "impls" / f"{name}.py").is_file() or package.is_file(), name
        module = rung.descend.__module__
        inside = package.is_file() and module.startswith(f"impls.{name}.")
        assert module in (f"impls.{name}", "impls.numba_fused") or inside, (name, module)


def test_old_labels_name_rungs_of_the_ladder():
    for old, new in LABEL_ALIASES.items():
        assert old not in IMPLEMENTATIONS and new in IMPLEMENTATIONS
