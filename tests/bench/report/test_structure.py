"""The package's structure: what the report imports and names, and how long its functions are."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from bench.suite.describe import parse_source as parse
from impls import IMPLEMENTATIONS
from tests.bench.report.runs import REPORT, ROOT


def test_no_rung_label_in_the_reports_python():
    for path in REPORT.rglob("*.py"):
        text = path.read_text()
        for label in IMPLEMENTATIONS:
            assert not re.search(rf"\b{label}\b", text), f"{path.name} names the rung {label!r}"


def _imported(path: Path) -> set[str]:
    """Every module a file imports: import statements, and any string given to import_module or __import__."""
    names = set()
    for node in ast.walk(parse(path)):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add(node.module or "")
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
            "import_module",
            "__import__",
        ):
            names |= {arg.value for arg in node.args if isinstance(arg, ast.Constant)}
            assert all(isinstance(arg, ast.Constant) for arg in node.args), f"{path}: a computed import"
    return names


def test_the_report_imports_nothing_of_the_code_it_describes():
    for path in REPORT.rglob("*.py"):
        for name in _imported(path):
            top = name.split(".")[0]
            # bench.workloads: the workloads' pages, held to the report's layers (tests/test_house.py)
            allowed = top not in ("impls", "bench") or name.startswith(
                ("bench.report", "bench.results", "bench.workloads")
            )
            assert allowed, f"{path.relative_to(ROOT)} imports {name}: the report reads results, not the code"


def test_report_functions_are_short():
    for path in REPORT.rglob("*.py"):
        for node in ast.walk(parse(path)):
            if isinstance(node, ast.FunctionDef):
                length = node.end_lineno - node.lineno + 1
                assert length <= 60, f"{path.name}:{node.name} is {length} lines"


#: The modules that word and lay out what the facts decided: the facts import none of them.
PRESENTATION = (
    "bench.report.fmt",
    "bench.report.tables",
    "bench.report.charts",
    "bench.report.pages",
    "bench.report.code",
    "bench.report.glossary",
    "bench.report.cli",
)
#: The functions that decide: one time against another, a race, a tuning race, the fastest blocks.
DECIDING = {
    "compare",
    "interval",
    "independent",
    "paired",
    "alternating",
    "hardest",
    "against_rule_of_thumb",
    "challenger",
    "fastest_blocks",
    "race_at",
    "verdict",
}
#: How a module of the facts or of the statistics is named where it is imported.
FACTS_MODULES = {
    "planner",
    "select",
    "compare",
    "probe",
    "beyond",
    "rungs",
    "machines",
    "stats",
    "ladderstats",
}


def test_the_facts_import_nothing_of_how_the_pages_word_them():
    for path in sorted((REPORT / "facts").glob("*.py")):
        for name in _imported(path):
            assert not name.startswith(PRESENTATION), f"facts/{path.name} imports {name}"


def test_fmt_only_formats():
    """Words for numbers and for the facts' verdicts: no statistics, nothing of the facts."""
    assert _imported(REPORT / "fmt.py") <= {"__future__", "urllib.parse", "tabulate", "bench.results.text"}


def test_what_words_and_lays_out_the_facts_decides_nothing():
    """fmt, the tables, the charts and the pages import no statistics and call no deciding function."""
    words = [REPORT / "fmt.py", REPORT / "pages.py", REPORT / "code.py"]
    words += [*(REPORT / "tables").glob("*.py"), *(REPORT / "charts").glob("*.py")]
    for path in words:
        assert not any(name.split(".")[0] == "ladderstats" for name in _imported(path)), path.name
        calls = [node.func for node in ast.walk(parse(path)) if isinstance(node, ast.Call)]
        deciding = [ast.unparse(func) for func in calls if _decides(func)]
        assert not deciding, f"{path.relative_to(REPORT)} calls {deciding}"


def _decides(func: ast.expr) -> bool:
    """A deciding function called by its name, or through a module of the facts or the statistics."""
    if isinstance(func, ast.Name):
        return func.id in DECIDING
    owner = func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else ""
    return owner in FACTS_MODULES and func.attr in DECIDING
