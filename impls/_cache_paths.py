"""Where the ladder keeps what it remembers per machine, and how it says it cannot keep it there.

``cache_root()`` is the ladder's folder in the user's cache (compiled kernels, the planner's
wisdom); ``cache_dir()`` is the folder of Numba's compiled kernels in it, one per version of
Numba and of the ladder's source. Numba checks a cached kernel against the modification time of
the file that defines it, but not against the files of the kernels it calls: a change to
``impls/_simd.py`` would leave the block kernels of ``impls/numba_blocked.py`` loading stale
machine code. Keying the folder by the digest of every source file of the ladder
(``source_digest``) rules that out.

The cache is an optimisation, never a reason to fail: what goes wrong with it is a
``CacheWarning``, said once per process, kind and folder, at the line that defines the kernel
concerned (``DamagedCacheWarning``: a file was not as written; ``UnusableCacheWarning``: the
folder cannot be made, read or written).
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Callable
from functools import cache
from pathlib import Path

import numba
import platformdirs

from impls._common import source_digest

APP_NAME = "vectorization-ladder"


def cache_root() -> Path:
    """Where the ladder keeps what it remembers per machine (compiled kernels, tuning wisdom).

    The user's cache folder (``platformdirs``: ``~/.cache/vectorization-ladder`` on Linux);
    ``LADDER_CACHE_DIR`` overrides it. An empty ``LADDER_CACHE_DIR`` counts as unset (not as
    the working directory); a relative one, or one starting with ``~``, is made absolute as
    the process first reads it, so a later change of working directory does not scatter the
    cache.
    """
    override = os.environ.get("LADDER_CACHE_DIR")
    if not override:
        return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))
    return Path(override).expanduser().absolute()


@cache
def cache_dir() -> Path:
    """Numba's cache folder for this version of the ladder's source and of Numba."""
    return cache_root() / "numba" / f"numba-{numba.__version__}-src-{source_digest()}"


class CacheWarning(UserWarning):
    """Something is wrong with the ladder's cache of compiled kernels; the ladder carries on without it."""


class DamagedCacheWarning(CacheWarning):
    """A file of the cache could not be read as it was written: its kernel was compiled afresh."""


class UnusableCacheWarning(CacheWarning):
    """The cache folder cannot be made, read or written: kernels are compiled in memory only."""


_WARNED: set[tuple[type, str]] = set()
_WARNED_LOCK = threading.Lock()


def _warn_once(category: type[CacheWarning], folder: Path, message: str, py_func: Callable) -> None:
    """Warn once per process, kind and folder, at the line that defines the kernel concerned."""
    with _WARNED_LOCK:
        if (category, str(folder)) in _WARNED:
            return
        _WARNED.add((category, str(folder)))
    code = py_func.__code__
    warnings.warn_explicit(message, category, code.co_filename, code.co_firstlineno)


def warn_damaged(folder: Path, path: str, reason: str, py_func: Callable) -> None:
    """A ``DamagedCacheWarning`` naming the damaged file, once per folder: it is compiled afresh."""
    _warn_once(
        DamagedCacheWarning,
        folder,
        f"The ladder's cache of compiled kernels held a damaged file, {path}: {reason}. "
        f"Its kernel ({py_func.__qualname__}) is compiled afresh and saved over it; "
        f"other damaged files in {folder} are replaced the same way, without another warning. "
        f"If this happens again, delete {folder}.",
        py_func,
    )


def warn_unusable(folder: Path, doing: str, error: BaseException, py_func: Callable) -> None:
    """An ``UnusableCacheWarning`` naming the folder, once: kernels are compiled in memory instead."""
    _warn_once(
        UnusableCacheWarning,
        folder,
        f"Cannot {doing} the ladder's cache of compiled kernels in {folder} ({error}). The ladder "
        "runs on, but compiles in memory the kernels it cannot load, in every process. Make that "
        "folder writable (or free some space), or set LADDER_CACHE_DIR to a folder you can write.",
        py_func,
    )
