"""Compile once per machine: every kernel of the ladder goes through an on-disk cache of Numba's.

``compiled(func, **options)`` is ``numba.njit(cache=True, **options)(func)`` with the cache
in a folder of its own per version of the ladder's source (``impls._cache_paths.cache_dir``),
kept by the ladder's own cache class (``impls._numba_cache.LadderCache``), for which no damaged
file and no unusable folder is ever a reason to fail.

Numba also keys a cached closure by the pickled values it captures, and the intrinsics and
dispatchers our kernel factories capture do not pickle the same way twice. So a variant of
a kernel (a block size, the chunk a parallel driver calls) is made by ``specialize``: a copy
of a module-level function with some of its global names bound and a name of its own, which
Numba caches like any other function.

``fresh(dispatcher)`` is the opposite: a new, uncompiled, uncached copy, which is what the
compile benchmark times (a cold compile). ``parallel_region`` makes entering a parallel kernel
safe under every threading layer, and ``epoch_batches`` splits a long descent into calls that each
return to Python within a fraction of a second, where Ctrl-C can stop it.
"""

from __future__ import annotations

import threading
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numba
from numba.core.dispatcher import Dispatcher

from impls import _tbb
from impls._numba_cache import disk_cache


def compiled(func: Callable | None = None, **options):
    """``numba.njit(cache=True, **options)``, cached in ``cache_dir()``; usable as a decorator.

    The cache is a ``LadderCache`` (``impls._numba_cache``; set where ``Dispatcher.enable_caching``
    would set Numba's), or none at all where the folder cannot be made.
    """

    def decorate(f: Callable):
        dispatcher = numba.njit(**options)(f)
        if isinstance(dispatcher, Dispatcher):  # not the plain function NUMBA_DISABLE_JIT gives back
            dispatcher._cache = disk_cache(dispatcher.py_func)  # what Dispatcher.enable_caching sets
        return dispatcher

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


#: The threading layer, where the user has not chosen one (``NUMBA_THREADING_LAYER``): one that
#: survives a fork. Numba's default order would take GNU OpenMP where TBB is missing, and a child
#: forked after a parallel fit under it dies ("fork() called from a process already using GNU
#: OpenMP"). "forksafe" takes TBB (installed with the ladder where it has wheels), else Intel or
#: non-Linux OpenMP, else workqueue (thread-safe here by ``parallel_region``).
if numba.config.THREADING_LAYER == "default":
    numba.config.THREADING_LAYER = "forksafe"
_tbb.load(numba.config.THREADING_LAYER)  # the tbb package's library, where Numba would not find it


#: Numba's workqueue threading layer is not thread-safe: two threads entering parallel regions at
#: once abort the process. Parallel descents take this lock whenever that layer is (or may become)
#: the active one; under the OpenMP and TBB layers they run concurrently.
_WORKQUEUE = threading.Lock()


def _needs_serializing() -> bool:
    try:
        return numba.threading_layer() == "workqueue"
    except ValueError:  # no parallel region has run yet: the first one chooses the layer
        return True


class ThreadsError(MemoryError):
    """Numba's threads cannot start in this process (its memory limit leaves no room for them)."""


_THREADS_STARTED = False


def _threads_can_start() -> None:
    """Start as many threads as Numba will, at once, before its first parallel region does.

    A thread's stack is reserved from the process's address space: under a memory limit
    (``ulimit -v``) that leaves too little, Numba's workqueue layer waited forever for a thread it
    never got, and TBB aborted the process ("pthread_create has failed"). Python threads take the
    same default stack, so where they cannot start, ThreadsError says so, and nothing has run.
    """
    global _THREADS_STARTED
    if _THREADS_STARTED:
        return
    count = numba.config.NUMBA_NUM_THREADS
    release, started = threading.Event(), []
    try:
        for _ in range(count):
            thread = threading.Thread(target=release.wait, daemon=True)
            thread.start()
            started.append(thread)
    except RuntimeError as error:  # "can't start new thread"
        raise ThreadsError(
            f"Numba's {count} threads cannot start in this process ({error}): its memory limit "
            f"(ulimit -v) leaves no room for their stacks; set NUMBA_NUM_THREADS lower, or allow "
            "the process more memory"
        ) from None
    finally:
        release.set()
        for thread in started:
            thread.join()
    _THREADS_STARTED = True


@contextmanager
def parallel_region():
    """Enter a parallel kernel safely under every threading layer (serialized under workqueue);
    ThreadsError, before any work, where Numba's threads could not start."""
    _threads_can_start()
    if _needs_serializing():
        with _WORKQUEUE:
            yield
    else:
        yield


#: A compiled descent returns to Python after about this many numbers of X read, in whole epochs
#: (at least one): Python sees Ctrl-C only between calls, and the slowest compiled rung
#: (``numba_loops``, one thread) reads 2**27 numbers in about 0.2 s. An epoch of more is one call.
BATCH_VALUES = 1 << 27


def epoch_batches(epochs: int, values_per_epoch: int) -> Iterator[tuple[int, int]]:
    """``[start, stop)`` of each call a descent of ``epochs`` epochs makes, each reading at most
    ``BATCH_VALUES`` numbers where an epoch reads ``values_per_epoch`` (one call of 0 epochs for
    ``epochs`` = 0: a kernel is compiled or loaded by its first call)."""
    size = max(1, BATCH_VALUES // max(1, values_per_epoch))
    yield 0, min(epochs, size)
    for start in range(size, epochs, size):
        yield start, min(epochs, start + size)
