"""The ladder's source digest (``impls._common.source_digest``): what keys the folder of compiled
kernels and the planner's wisdom, so it must change with any source file of ``impls/``, in any
subpackage. Each case changes a copy of ``impls/`` in a temporary folder, never the checkout."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import impls
from impls._common import source_digest

IMPLS = Path(impls.__file__).parent


@pytest.fixture
def copy(tmp_path) -> Path:
    """A copy of ``impls/``'s source files (no ``__pycache__``)."""
    return Path(shutil.copytree(IMPLS, tmp_path / "impls", ignore=shutil.ignore_patterns("__pycache__")))


def _append(path: Path, line: str) -> None:
    path.write_text(path.read_text() + line + "\n")


def test_a_copy_has_the_digest_of_the_package_and_the_default_root_is_the_package(copy):
    assert source_digest(copy) == source_digest() == source_digest(IMPLS)


def test_a_change_to_the_planners_store_changes_the_digest(copy):
    before = source_digest(copy)
    _append(copy / "planner" / "store.py", "# a line more")
    assert source_digest(copy) != before


def test_a_change_to_a_kernel_file_in_a_subpackage_changes_the_digest(copy):
    before = source_digest(copy)
    blocks = copy / "dask" / "blocks.py"  # the dask rung's block kernel (compiled by Numba)
    assert "def block_sums" in blocks.read_text()
    _append(blocks, "# a line more")
    changed = source_digest(copy)
    assert changed != before
    nested = copy / "dask" / "inner"  # a subpackage two levels down, with a kernel file of its own
    nested.mkdir()
    (nested / "__init__.py").write_text("")
    after_init = source_digest(copy)
    assert after_init != changed
    (nested / "kernel.py").write_text("def one(x):\n    return x + 1\n")
    assert source_digest(copy) != after_init


def test_a_renamed_file_changes_the_digest_and_compiled_bytecode_does_not(copy):
    before = source_digest(copy)
    cached = copy / "planner" / "__pycache__"
    cached.mkdir()
    (cached / "store.cpython-311.py").write_text("# not source\n")
    (copy / "README.md").write_text("not Python")
    assert source_digest(copy) == before
    (copy / "planner" / "store.py").rename(copy / "planner" / "wisdom_store.py")
    assert source_digest(copy) != before
