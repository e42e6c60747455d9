"""The ladder's own cache of compiled kernels for Numba's dispatchers (``LadderCache``).

Numba's own ``FunctionCache`` lets any error in reading an entry escape from the call that
compiles (a damaged index stops every JIT rung with ``UnpicklingError`` until the folder is
deleted), raises when a save fails (a full disk), and when its folder cannot be made it silently
caches into the source tree or a user-wide folder instead. So the ladder's dispatchers get a
cache of their own (installed by ``impls._jit.compiled``) in ``cache_dir()``, in index and data
files named as Numba's, each framed by a magic string and a SHA-256 of its contents:

- an entry that cannot be read as written (empty, truncated, overwritten, a file of another
  kind, a data file that is missing or holds another kernel, machine code that does not
  load) is a miss: the kernel compiles afresh, the entry is written anew, and one
  ``DamagedCacheWarning`` per process and folder names the file;
- a folder that cannot be made, read or written means kernels compiled in memory for this
  process, with one ``UnusableCacheWarning`` naming the folder; nothing is ever written
  anywhere else;
- a save writes the data file before the index that names it, both by an atomic rename,
  under an exclusive lock of the folder: two processes compiling at once neither lose each
  other's entries nor see a half-written one.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import pickle
import sys
import uuid
from collections.abc import Callable
from contextlib import contextmanager, suppress
from pathlib import Path

import numba
from numba.core.caching import (
    CompileResultCacheImpl,
    FunctionCache,
    NullCache,
    _CacheLocator,
    _SourceFileBackedLocatorMixin,
)
from numba.core.serialize import dumps

from impls._cache_paths import cache_dir, warn_damaged, warn_unusable

try:
    import fcntl
except ImportError:  # Windows: saves are not locked (each file is still replaced atomically)
    fcntl = None


_INDEX_MAGIC = b"vectorization-ladder numba index 1\n"
_DATA_MAGIC = b"vectorization-ladder numba data 1\n"
_DIGEST_BYTES = hashlib.sha256().digest_size


class _Damaged(Exception):
    """A file of the cache does not hold what it was written with."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def _write_framed(path: str, magic: bytes, value) -> None:
    """Write ``magic``, the SHA-256 of the pickled ``value`` and that pickle, replacing ``path`` at once."""
    payload = dumps(value)
    temporary = f"{path}.tmp.{uuid.uuid4().hex[:16]}"
    try:
        with open(temporary, "wb") as file:
            file.write(magic + hashlib.sha256(payload).digest() + payload)
        os.replace(temporary, path)  # a reader sees the old file or the new one, never a part
    except BaseException:
        with suppress(OSError):
            os.unlink(temporary)
        raise


def _read_framed(path: str, magic: bytes):
    """The value ``_write_framed`` wrote to ``path``; ``_Damaged`` for anything else.

    OSError (the file is missing, or cannot be read) is left to the caller.
    """
    with open(path, "rb") as file:
        blob = file.read()
    kind = "an index" if magic == _INDEX_MAGIC else "a data file"
    if not blob:
        raise _Damaged(path, "it is empty")
    head = len(magic) + _DIGEST_BYTES
    if len(blob) < head or not blob.startswith(magic):
        raise _Damaged(path, f"it is not {kind} of this cache (overwritten, or cut short)")
    payload = blob[head:]
    if hashlib.sha256(payload).digest() != blob[len(magic) : head]:
        raise _Damaged(path, "its contents do not match their checksum (cut short, or partly overwritten)")
    try:
        return pickle.loads(payload)
    except Exception as error:  # written by us, checksum right: the classes it names have changed
        raise _Damaged(path, f"it cannot be unpickled ({type(error).__name__}: {error})") from error


@contextmanager
def _locked(folder: str):
    """Hold an exclusive lock of ``folder`` against other processes (and threads) that save into it.

    The lock goes with the process: one killed while holding it holds it no more. Where locks
    are not available (Windows, some network file systems), saves go unlocked.
    """
    with open(os.path.join(folder, "ladder.lock"), "ab") as handle:
        if fcntl is not None:
            with suppress(OSError):
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        yield  # closing the file releases the lock


class _IndexDataFiles:
    """A function's entries: an index (``<name>.nbi``) naming a data file (``<name>.<k>.nbc``) per key.

    Numba's ``IndexDataCacheFile``, with three changes: each file is framed by a magic
    string and a checksum, and a data file holds its key too, so damage is seen before
    anything is unpickled or loaded; ``load`` raises ``_Damaged`` instead of whatever the
    damage makes pickle or LLVM raise; ``save`` writes the data file before the index that
    names it, under the folder's lock, so neither a reader nor a concurrent writer ever
    finds an entry half made, nor loses one another process has just added.
    """

    def __init__(self, cache_path: str, filename_base: str, source_stamp):
        self._cache_path = cache_path
        self._index_path = os.path.join(cache_path, f"{filename_base}.nbi")
        self._data_pattern = f"{filename_base}.{{number:d}}.nbc"
        self._source_stamp = source_stamp
        self._version = numba.__version__

    def _data_path(self, name: str) -> str:
        return os.path.join(self._cache_path, name)

    def _load_index(self) -> dict:
        """The key -> data file name map; empty where there is no index yet, or one for other source."""
        try:
            index = _read_framed(self._index_path, _INDEX_MAGIC)
        except FileNotFoundError:
            return {}
        if not (isinstance(index, tuple) and len(index) == 3 and isinstance(index[2], dict)):
            raise _Damaged(self._index_path, "it does not hold an index")
        version, stamp, overloads = index
        if version != self._version or stamp != self._source_stamp:
            return {}  # stale (Numba does the same): its entries are written over as kernels compile
        return overloads

    def load(self, key) -> tuple[str, object] | None:
        """(data file, its payload) for ``key``; None where there is none. Raises ``_Damaged``."""
        name = self._load_index().get(key)
        if name is None:
            return None
        path = self._data_path(name)
        try:
            entry = _read_framed(path, _DATA_MAGIC)
        except FileNotFoundError as error:
            raise _Damaged(path, "the index names this data file, but it is missing") from error
        if not (isinstance(entry, tuple) and len(entry) == 2):
            raise _Damaged(path, "it does not hold a cache entry")
        stored_key, payload = entry
        if stored_key != key:
            raise _Damaged(path, "it holds another compiled kernel than its index says")
        return path, payload

    def save(self, key, payload, on_damage: Callable[[_Damaged], None]) -> None:
        """Write ``payload`` for ``key``: its data file, then the index. Raises OSError where it cannot."""
        os.makedirs(self._cache_path, exist_ok=True)
        with _locked(self._cache_path):
            try:
                overloads = self._load_index()  # again, under the lock: others may have added keys
            except _Damaged as damage:
                on_damage(damage)
                overloads = {}
            name = overloads.get(key)
            if name is None:
                taken = set(overloads.values())
                names = (self._data_pattern.format(number=k) for k in itertools.count(1))
                name = next(name for name in names if name not in taken)
            _write_framed(self._data_path(name), _DATA_MAGIC, (key, payload))
            overloads[key] = name
            _write_framed(self._index_path, _INDEX_MAGIC, (self._version, self._source_stamp, overloads))

    def flush(self) -> None:
        """Forget every entry (``Dispatcher.recompile``)."""
        os.makedirs(self._cache_path, exist_ok=True)
        with _locked(self._cache_path):
            _write_framed(self._index_path, _INDEX_MAGIC, (self._version, self._source_stamp, {}))


class _LadderLocator(_SourceFileBackedLocatorMixin, _CacheLocator):
    """Numba's locator for ``NUMBA_CACHE_DIR``, in ``folder`` instead, and with no fallback.

    Numba tries its locators in turn, and where the first cannot make its folder the next
    caches beside the source (``impls/__pycache__``) or in a user-wide folder, silently.
    """

    def __init__(self, py_func: Callable, py_file: str, folder: Path):
        self._py_file = py_file
        self._lineno = py_func.__code__.co_firstlineno
        self._cache_path = os.path.join(folder, self.get_suitable_cache_subpath(py_file))

    def get_cache_path(self) -> str:
        return self._cache_path


class _LadderCacheImpl(CompileResultCacheImpl):
    """Numba's ``CompileResultCacheImpl`` with our locator only (it ignores NUMBA_CACHE_LOCATOR_CLASSES)."""

    def __init__(self, py_func: Callable, folder: Path):
        self._lineno = py_func.__code__.co_firstlineno
        py_file = py_func.__code__.co_filename
        self._locator = _LadderLocator(py_func, py_file, folder)
        module = os.path.splitext(os.path.basename(py_file))[0]  # as Numba names the files
        fullname = f"{module}.{py_func.__qualname__}"
        self._filename_base = self.get_filename_base(fullname, getattr(sys, "abiflags", ""))


class LadderCache(FunctionCache):
    """Numba's ``FunctionCache`` in :func:`cache_dir`, for which no damage and no folder is an error.

    Loading: a damaged entry warns (``DamagedCacheWarning``) and is a miss, so the dispatcher
    compiles and saves the kernel over it; a folder that cannot be read warns
    (``UnusableCacheWarning``) and is a miss. Saving: a failure (a full disk, a read-only
    folder) warns (``UnusableCacheWarning``) and leaves the kernel compiled in memory.
    """

    def __init__(self, py_func: Callable, folder: Path):
        self._name = repr(py_func)
        self._py_func = py_func
        self._folder = folder
        self._impl = _LadderCacheImpl(py_func, folder)
        self._cache_path = self._impl.locator.get_cache_path()
        self._cache_file = _IndexDataFiles(
            self._cache_path, self._impl.filename_base, self._impl.locator.get_source_stamp()
        )
        self.enable()

    def load_overload(self, sig, target_context):
        target_context.refresh()  # as Numba's: the context must be initialized to rebuild
        if not self._enabled:
            return None
        try:
            found = self._cache_file.load(self._index_key(sig, target_context.codegen()))
            if found is None:
                return None
            path, payload = found
            try:
                return self._impl.rebuild(target_context, payload)
            except Exception as error:
                reason = f"its machine code does not load ({type(error).__name__}: {error})"
                raise _Damaged(path, reason) from error
        except _Damaged as damage:
            warn_damaged(self._folder, damage.path, damage.reason, self._py_func)
        except Exception as error:  # an unreadable folder, or anything else: never a reason to fail
            warn_unusable(self._folder, "read", error, self._py_func)
        return None

    def save_overload(self, sig, data):
        if not self._enabled or not self._impl.check_cachable(data):
            return
        try:
            key = self._index_key(sig, data.codegen)
            on_damage = lambda damage: warn_damaged(self._folder, damage.path, damage.reason, self._py_func)  # noqa: E731
            self._cache_file.save(key, self._impl.reduce(data), on_damage)
        except Exception as error:
            warn_unusable(self._folder, "save into", error, self._py_func)

    def flush(self):
        try:
            self._cache_file.flush()
        except Exception as error:
            warn_unusable(self._folder, "save into", error, self._py_func)


def disk_cache(py_func: Callable):
    """The cache a dispatcher of the ladder gets: a ``LadderCache`` in :func:`cache_dir`.

    None where the folder cannot be made (with a warning), or where the function has no source
    file to key its entries by (made by ``exec``: Numba would refuse to cache it at all).
    """
    if not os.path.isfile(py_func.__code__.co_filename):
        return NullCache()
    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return LadderCache(py_func, folder)
    except (OSError, ValueError) as error:  # ValueError: a path Python cannot pass to the system
        warn_unusable(folder, "make", error, py_func)
        return NullCache()
