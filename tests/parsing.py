"""``ast.parse`` for the tests that read the project's own source.

Python 3.11 keeps one AST recursion counter per interpreter, and its traceback formatting parses
source too (for the ``^^^`` marks): where another thread formats a traceback at the same moment (a
Dask client's event loop logging at exit, say), ``ast.parse`` here can fail with "SystemError: AST
constructor recursion depth mismatch" on valid code (python/cpython#106905; fixed in 3.12). A
parse that fails so is tried again; any other error is the code's.
"""

from __future__ import annotations

import ast
from pathlib import Path

TRIES = 5


def parse(path: Path) -> ast.Module:
    text = path.read_text()
    for attempt in range(TRIES):
        try:
            return ast.parse(text, str(path))
        except SystemError as exc:
            if "recursion depth mismatch" not in str(exc) or attempt == TRIES - 1:
                raise
    raise AssertionError("unreachable")
