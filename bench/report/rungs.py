"""What the report knows of each rung, the same whether or not its package is installed.

A results file may hold a peer rung (a framework such as PyTorch) that this Python cannot import, so the lesson
must not depend on importing it: its code, summary and kind are read from its module's source
(``impls/<label>.py``). Registered rungs are described by the registry, and their code is read
from their modules' source the same way, so a lesson is the same text wherever it is generated.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from impls import IMPLEMENTATIONS, OPTIONAL

IMPLS = Path(__file__).resolve().parents[2] / "impls"


@dataclass(frozen=True)
class RungInfo:
    name: str
    summary: str
    code: str  # the rung's core functions, as written in its module
    uses_threads: str | None
    jit: bool


def ladder_order() -> list[str]:
    """The registry's order, with the optional rungs (installed or not) at the end in a fixed order."""
    # The ladder, then every optional rung in its fixed place, installed or not: the same order
    # (and so the same lesson) wherever the report runs.
    return [name for name in IMPLEMENTATIONS if name not in OPTIONAL] + list(OPTIONAL)


def _keywords(tree: ast.Module) -> dict[str, ast.expr]:
    """The keyword arguments of the module's calls that pass ``core=``: how it builds its Rung."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and any(
            k.arg == "core" and isinstance(k.value, ast.Tuple) for k in node.keywords
        ):
            return {k.arg: k.value for k in node.keywords if k.arg}
    return {}


def _core_source(text: str, tree: ast.Module, names: list[str]) -> str:
    lines = text.splitlines()
    functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    parts = []
    for name in names:
        node = functions[name]
        start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        parts.append("\n".join(lines[start - 1 : node.end_lineno]) + "\n")
    return "\n\n".join(parts).rstrip()


@cache
def info(name: str) -> RungInfo | None:
    """The rung's description, or None when neither the registry nor impls/ knows it."""
    path = IMPLS / f"{name}.py"
    if not path.exists():
        return None
    text = path.read_text()
    tree = ast.parse(text)
    keywords = _keywords(tree)
    core = [element.id for element in keywords["core"].elts] if "core" in keywords else []
    code = _core_source(text, tree, core)
    if name in IMPLEMENTATIONS:
        rung = IMPLEMENTATIONS[name]
        return RungInfo(name, rung.summary, code, rung.uses_threads, rung.jit)
    summary = (
        ast.literal_eval(keywords["summary"]) if "summary" in keywords else "(not in the registry any more)"
    )
    threads = ast.literal_eval(keywords["uses_threads"]) if "uses_threads" in keywords else None
    return RungInfo(name, summary, code, threads, "rebuild" in keywords)
