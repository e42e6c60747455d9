"""Compile once per machine: every kernel of the ladder goes through Numba's on-disk cache.

``compiled(func, **options)`` is ``numba.njit(cache=True, **options)(func)`` with the cache
in a folder of its own per version of the ladder's source (``cache_dir()``). Numba checks a
cached kernel against the modification time of the file that defines it, but not against
the files of the kernels it calls: a change to ``impls/_simd.py`` would leave the block
kernels of ``impls/numba_blocked.py`` loading stale machine code. Keying the folder by the
digest of every source file of the ladder (``source_digest``) rules that out.

Numba also keys a cached closure by the pickled values it captures, and the intrinsics and
dispatchers our kernel factories capture do not pickle the same way twice. So a variant of
a kernel (a block size, the chunk a parallel driver calls) is made by ``specialize``: a copy
of a module-level function with some of its global names bound and a name of its own, which
Numba caches like any other function.

``fresh(dispatcher)`` is the opposite: a new, uncompiled, uncached copy, which is what the
compile benchmark times (a cold compile).
"""

from __future__ import annotations

import os
import threading
import types
from collections.abc import Callable
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import numba
import platformdirs
from numba.core import config

from impls._common import source_digest

APP_NAME = "vectorization-ladder"


def cache_root() -> Path:
    """Where the ladder keeps what it remembers per machine (compiled kernels, tuning wisdom).

    The user's cache folder (``platformdirs``: ``~/.cache/vectorization-ladder`` on Linux);
    ``LADDER_CACHE_DIR`` overrides it.
    """
    override = os.environ.get("LADDER_CACHE_DIR")
    return Path(override) if override else Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


@cache
def cache_dir() -> Path:
    """Numba's cache folder for this version of the ladder's source and of Numba."""
    return cache_root() / "numba" / f"numba-{numba.__version__}-src-{source_digest()}"


#: One thread at a time sets Numba's global cache folder. The dask rung's worker threads may make
#: their kernel at once, and a thread restoring the folder while another's dispatcher reads it
#: would leave that dispatcher caching in ``impls_<hash>`` under the working directory (such
#: folders appeared, now and then, after test runs).
_CACHE_DIR_LOCK = threading.Lock()


@contextmanager
def _ladder_cache_dir():
    # Numba picks a dispatcher's cache folder when the dispatcher is made, from config.CACHE_DIR.
    # Set it for our dispatchers only, so a user's own cached functions keep their folder.
    with _CACHE_DIR_LOCK:
        before = config.CACHE_DIR
        config.CACHE_DIR = str(cache_dir())
        try:
            yield
        finally:
            config.CACHE_DIR = before


def compiled(func: Callable | None = None, **options):
    """``numba.njit(cache=True, **options)``, cached in :func:`cache_dir`; usable as a decorator."""

    def decorate(f: Callable):
        with _ladder_cache_dir():
            return numba.njit(cache=True, **options)(f)

    return decorate if func is None else decorate(func)


def uncached(func: Callable, **options):
    """``numba.njit(**options)(func)``: compiled on first call, never cached (a cold compile)."""
    return numba.njit(**options)(func)


def specialize(template: Callable, name: str, **bindings) -> types.FunctionType:
    """A copy of ``template`` (a module-level function) that sees ``bindings`` as globals, named ``name``.

    The copy shares the template's code; only the names in ``bindings`` mean something else.
    Its own ``__qualname__`` gives it its own entry in Numba's cache.
    """
    function = types.FunctionType(
        template.__code__,
        {**template.__globals__, **bindings},
        name,
        template.__defaults__,
        template.__closure__,
    )
    function.__qualname__ = name
    function.__doc__ = template.__doc__
    return function


def fresh(dispatcher, **bindings):
    """A new, uncompiled and uncached copy of a Numba dispatcher, its globals rebound as in ``specialize``."""
    py_func = dispatcher.py_func
    if bindings:
        py_func = specialize(py_func, py_func.__qualname__, **bindings)
    return numba.jit(**dispatcher.targetoptions)(py_func)  # targetoptions carry nopython=True


#: Numba's workqueue threading layer is not thread-safe: two threads entering parallel regions at
#: once abort the process. Parallel descents take this lock whenever that layer is (or may become)
#: the active one; under the OpenMP and TBB layers they run concurrently.
_WORKQUEUE = threading.Lock()


def _needs_serializing() -> bool:
    try:
        return numba.threading_layer() == "workqueue"
    except ValueError:  # no parallel region has run yet: the first one chooses the layer
        return True


@contextmanager
def parallel_region():
    """Enter a parallel kernel safely under every threading layer (serialized under workqueue)."""
    if _needs_serializing():
        with _WORKQUEUE:
            yield
    else:
        yield
