"""``ast.parse`` for the tests that read the project's own source, through the suite's
``parse_source``: it tries again a parse that CPython 3.11's AST depth race broke (a traceback
formatted in another thread at that moment; python/cpython#106905)."""

from __future__ import annotations

from bench.suite.describe import parse_source as parse

__all__ = ["parse"]
