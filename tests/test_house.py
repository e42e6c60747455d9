"""The house's layers: each package imports only what lies below it, and no module grows past a
size one reader can hold.

From the ground up: ``ladderstats`` (NumPy only) → ``impls`` (the library) → ``bench.results`` (the
results format and its reader) → ``bench.suite`` (the benchmarks) and ``bench.report`` (the lesson),
which never import each other → the commands at ``bench``'s top (``compare``, ``yours``,
``time_one``). A workload's folder (``bench/workloads/<name>/``) has both sides, each held to its
own: its page (``page.py``) to the report's layers, its benchmarks and their measuring to the
suite's; the folder's ``__init__`` and the package's imports nothing above them, and the report
reaches a workload only through ``bench.workloads.discover``.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.suite.describe import parse_source as parse

ROOT = Path(__file__).resolve().parents[1]
CODE = ("ladderstats", "impls", "bench")

#: The layers whose modules each layer may import (its own included); ``bench`` is the package's
#: own module and its commands (``yours`` with its ``judge``, ``time_one``), ``bench.compare`` the one
#: that reads results.
MAY_IMPORT = {
    "ladderstats": ("ladderstats",),
    "impls": ("impls", "ladderstats"),
    "bench.results": ("bench.results", "ladderstats"),
    "bench.suite": ("bench.suite", "bench.results", "impls", "ladderstats"),
    "bench.report": ("bench.report", "bench.results", "bench.workloads", "ladderstats"),
    "bench.workloads": ("bench.workloads",),
    "bench.workloads:page": ("bench.workloads", "bench.report", "bench.results", "ladderstats"),
    "bench.workloads:suite": (
        "bench.workloads",
        "bench.workloads:suite",
        "bench.suite",
        "bench.results",
        "impls",
        "ladderstats",
    ),
    "bench.compare": ("bench.compare", "bench.results", "ladderstats"),
    "bench": ("bench", "bench.suite", "bench.results", "impls", "ladderstats"),
}
#: Module-size limit: past it a file holds more than one idea (split along its seams).
MAX_LINES = 450
#: bench/'s top level: the package itself and its commands; everything else lives in a folder.
MAX_TOP_MODULES = 8


def _modules():
    for top in CODE:
        base = ROOT / top
        for path in sorted(base.rglob("*.py")) if base.is_dir() else []:
            parts = path.relative_to(ROOT).with_suffix("").parts
            yield ".".join(p for p in parts if p != "__init__"), path


def _imports(module: str, path: Path) -> set[str]:
    """The project's modules a file imports, relative imports resolved (string imports included)."""
    names = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(parse(path)):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                names.add(".".join([*base, node.module] if node.module else base))
            else:
                names.add(node.module or "")
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
            "import_module",
            "__import__",
        ):
            first = node.args[:1]
            names |= {a.value for a in first if isinstance(a, ast.Constant) and isinstance(a.value, str)}
    return {name for name in names if name.split(".")[0] in CODE}


def _layer(module: str) -> str:
    parts = module.split(".")
    if parts[:2] == ["bench", "workloads"] and len(parts) > 3:  # a module of a workload's folder
        return "bench.workloads:page" if parts[3] == "page" else "bench.workloads:suite"
    return max((layer for layer in MAY_IMPORT if module == layer or module.startswith(layer + ".")), key=len)


MODULES = list(_modules())


@pytest.mark.parametrize(("module", "path"), MODULES, ids=[m for m, _ in MODULES])
def test_each_module_imports_only_the_layers_below_it(module, path):
    allowed = MAY_IMPORT[_layer(module)]
    for name in _imports(module, path):
        if name == "bench":
            continue  # the package's own module: the OpenBLAS setting every benchmark process makes
        assert _layer(name) in allowed, f"{module} imports {name}, above or beside its layer"


def test_the_library_never_imports_the_benchmarks():
    """The layer rule above, seen from a user's process: a planned fit loads nothing of bench/."""
    script = (
        "import sys, numpy as np; from impls import IMPLEMENTATIONS; "
        "X = np.ones((50, 3)); IMPLEMENTATIONS['numba_tuned'].fit(X, np.zeros(50), lr=0.1, epochs=2); "
        "print(sorted(m for m in sys.modules if m == 'bench' or m.startswith('bench.')))"
    )
    env = {**os.environ, "LADDER_PLANNING": "estimate"}
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize(("module", "path"), MODULES, ids=[m for m, _ in MODULES])
def test_no_module_is_over_the_size_limit(module, path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{module} has {lines} lines (at most {MAX_LINES}): split it along its seams"


def test_benchs_top_level_holds_the_package_and_its_commands():
    modules = sorted(p.name for p in (ROOT / "bench").glob("*.py"))
    assert len(modules) <= MAX_TOP_MODULES, modules


def _graph() -> dict[str, set[str]]:
    """Module → the project's modules it imports. ``from a import b`` depends on the module ``a.b``
    where b is one, and on ``a`` itself only for names that are not modules."""
    known = {module for module, _ in MODULES}
    graph = {}
    for module, path in MODULES:
        deps = set()
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(parse(path)):
            if isinstance(node, ast.Import):
                deps |= {a.name for a in node.names if a.name in known}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*parts, node.module] if node.module else parts)
                subs = {f"{base}.{a.name}" for a in node.names}
                deps |= subs & known
                if base in known and not subs <= known:
                    deps.add(base)
        graph[module] = deps - {module}
    return graph


def test_no_two_modules_import_each_other_round_a_circle():
    graph, state, circles = _graph(), {}, []

    def visit(module, trail):
        state[module] = "open"
        for dep in sorted(graph.get(module, ())):
            if state.get(dep) == "open":
                circles.append([*trail[trail.index(dep) :], dep])
            elif dep not in state:
                visit(dep, [*trail, dep])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not circles, circles
