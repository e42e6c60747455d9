"""What a results file records of the code it timed, so that the report never imports that code.

``ladder()`` describes the registry as it ran: its order and the roles the report needs, each
rung's summary, the source of its core functions and of the ladder's helpers they call, its
threads and dtypes, and the planner's settings. The benchmarks write it into the results file;
the lesson shows the code from there, so a lesson never pairs today's code with another day's
timings.
"""

from __future__ import annotations

import ast
import dis
import inspect
import textwrap
from pathlib import Path
from types import FunctionType

import impls
from impls import IMPLEMENTATIONS, OPTIONAL, Rung
from impls.planner import key as planner_key
from impls.planner import settings as planner_settings

IMPLS = Path(impls.__file__).parent


def _plain(obj) -> FunctionType | None:
    """The Python function behind ``obj`` (itself, or a Numba dispatcher's ``py_func``), or None."""
    function = getattr(obj, "py_func", obj)
    return function if isinstance(function, FunctionType) else None


#: Modules whose functions a rung's excerpt shows when its code calls them: the maths the rungs
#: share. (Plumbing such as validation, caching and the planner's bookkeeping is not shown.)
SHARED_MATHS = ("impls._scalar", "impls._vector", "impls._prefetch")


def _helpers(function: FunctionType, home: str) -> list[FunctionType]:
    """The plain functions ``function`` calls by a global name that the excerpt shows: public
    functions of the rung's own module or package (``home``) and of the shared maths (not intrinsics)."""
    found = []
    names = {i.argval for i in dis.get_instructions(function) if i.opname == "LOAD_GLOBAL"}
    for name in sorted(names, key=function.__code__.co_names.index):
        helper = _plain(function.__globals__.get(name))
        if helper is None or helper.__name__.startswith("_"):
            continue
        if helper.__module__ in (home, *SHARED_MATHS) or helper.__module__.startswith(home + "."):
            found.append(helper)
    return found


def _home(module: str) -> str:
    """The rung's home: its module (``impls.numba_fused``), or its package where the rung is one
    (``impls.dask`` for ``impls.dask.rung``)."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "impls" else module


def _source(function: FunctionType) -> str:
    return textwrap.dedent(inspect.getsource(function)).rstrip()


def excerpt(core: tuple) -> tuple[str, list[dict]]:
    """The source of ``core``'s functions, and of every helper of the ladder they call, each once.

    Returns the core's code, and the helpers as ``{"name": qualified name, "code": source}``.
    """
    shown: list[FunctionType] = []
    pending = [f for f in map(_plain, core) if f is not None]
    home = _home(pending[0].__module__) if pending else ""
    while pending:
        function = pending.pop(0)
        if any(function.__code__ is f.__code__ for f in shown):  # a specialized copy of one shown
            continue
        shown.append(function)
        pending += _helpers(function, home)
    code = "\n\n\n".join(_source(f) for f in shown[: len(core)])
    helpers = [{"name": f"{f.__module__}.{f.__qualname__}", "code": _source(f)} for f in shown[len(core) :]]
    return code, helpers


def _described(rung: Rung) -> dict:
    code, helpers = excerpt(rung.core)
    return {
        "summary": rung.summary,
        "code": code,
        "helpers": helpers,
        "uses_threads": rung.uses_threads,
        "jit": rung.jit,
        "dtypes": [str(d) for d in rung.dtypes],
        "installed": True,
    }


#: Tries of a parse that fails with CPython 3.11's AST depth race (``parse_source``).
PARSE_TRIES = 5


def parse_source(path: Path) -> ast.Module:
    """``ast.parse`` of a file, tried again where it fails with "AST constructor recursion depth
    mismatch": Python 3.11 keeps one AST recursion counter per interpreter, and its traceback
    formatting parses source too (for the ``^^^`` marks), so a traceback formatted in another
    thread at that moment (a Dask client's event loop logging) breaks a valid parse here
    (python/cpython#106905, fixed in 3.12). Any other error is the code's."""
    text = path.read_text()
    for attempt in range(PARSE_TRIES):
        try:
            return ast.parse(text, str(path))
        except SystemError as exc:
            if "recursion depth mismatch" not in str(exc) or attempt == PARSE_TRIES - 1:
                raise
    raise AssertionError("unreachable")


def _from_source(label: str) -> dict:
    """An optional rung this Python cannot import: its summary and code read from its source (a
    module ``impls/<label>.py``, or a package ``impls/<label>/``)."""
    single = IMPLS / f"{label}.py"
    paths = [single] if single.exists() else sorted((IMPLS / label).glob("*.py"))
    trees = {path: parse_source(path) for path in paths}
    call = next(
        node
        for tree in trees.values()
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and any(k.arg == "core" for k in node.keywords)
    )
    keywords = {k.arg: k.value for k in call.keywords if k.arg}
    names = [element.id for element in keywords["core"].elts]
    functions = {
        node.name: "\n".join(path.read_text().splitlines()[node.lineno - 1 : node.end_lineno])
        for path, tree in trees.items()
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
    }
    code = "\n\n\n".join(functions[name] for name in names)
    threads = keywords.get("uses_threads")
    return {
        "summary": ast.literal_eval(keywords["summary"]),
        "code": code,
        "helpers": [],
        "uses_threads": ast.literal_eval(threads) if threads is not None else None,
        "jit": "rebuild" in keywords,
        "dtypes": ["float64", "float32"],
        "installed": False,
    }


def ladder() -> dict:
    """The registry as this run timed it, for the results file."""
    order = [name for name in IMPLEMENTATIONS if name not in OPTIONAL] + list(OPTIONAL)
    return {
        "order": order,
        "roles": {
            "baseline": impls.BASELINE,
            "reference": impls.REFERENCE,
            "planned": impls.PLANNED,
            "one_process": impls.ONE_PROCESS,
            "peers": list(impls.PEERS),
            "distributed": list(impls.DISTRIBUTED),
        },
        "rungs": {
            name: _described(IMPLEMENTATIONS[name]) if name in IMPLEMENTATIONS else _from_source(name)
            for name in order
        },
        "aliases": dict(impls.LABEL_ALIASES),
        "planner": {**planner_settings(), "last_level_cache_bytes": planner_key.last_level_cache_bytes()},
    }
