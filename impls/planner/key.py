"""What identifies a plan: the machine and code it was made on, and the problem it was made for.

A plan holds for one key: the CPU (LLVM's name for it, its feature flags, its model name), the
Numba and llvmlite versions, the ladder's source digest, the dtype, the row length n (as FFTW
plans per exact size: within rows of one power of two of bytes the winner can change), the
thread count and the data class (X within a quarter of the last-level cache, about its size, or
beyond it). If any of them changes, the plan is void.
"""

from __future__ import annotations

import json
import platform
from functools import cache
from pathlib import Path
from typing import Any

import llvmlite
import llvmlite.binding as llvm
import numba
from numba.np.ufunc import parallel as _numba_parallel

from impls._common import resolve_dtype, source_digest
from impls._jit import compiled

DATA_CLASSES = ("cache", "llc", "memory")
DATA_WORDS = {
    "cache": "in the last-level cache",
    "llc": "about the last-level cache's size",
    "memory": "beyond the caches",
}
#: "cache": X within 1/CACHE_SHARE of the last-level cache (a cache shared with other cores and
#: tenants: at half of it, data already behaves as memory; bench/FINDINGS.md).
CACHE_SHARE = 4
#: "llc": X beyond that but within LLC_SPAN times the cache (partly cached when an epoch begins).
LLC_SPAN = 2


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("model name", "Model name")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


@cache
def machine_key() -> dict:
    """The part of every key that says which machine and which code."""
    return {
        "cpu": llvm.get_host_cpu_name(),
        "cpu_model": _cpu_model(),
        "cpu_features": llvm.get_host_cpu_features().flatten(),
        "numba": numba.__version__,
        "llvmlite": llvmlite.__version__,
        "source": source_digest(),
    }


@cache
def last_level_cache_bytes() -> int | None:
    """The largest cache Linux reports for CPU 0 (None where it reports none)."""
    sizes = []
    units = {"K": 2**10, "M": 2**20, "G": 2**30}
    for size_file in Path("/sys/devices/system/cpu/cpu0/cache").glob("index*/size"):
        try:
            text = size_file.read_text().strip().upper()
            sizes.append(int(text[:-1]) * units[text[-1]] if text[-1] in units else int(text))
        except (OSError, ValueError, KeyError, IndexError):
            continue
    return max(sizes) if sizes else None


def data_class(m: int | None, n: int, itemsize: int) -> str:
    """Where X of ``m`` rows of ``n`` features sits: "cache", "llc" or "memory" (``DATA_CLASSES``).

    With X in the cache the arithmetic decides; beyond it, how well the reads overlap with the
    arithmetic. Where the cache size or ``m`` is unknown, the class is "memory".
    """
    llc = last_level_cache_bytes()
    if m is None or not llc:
        return "memory"
    size = m * n * itemsize
    if size * CACHE_SHARE <= llc:
        return "cache"
    return "llc" if size <= LLC_SPAN * llc else "memory"


def key_of(n: int, dtype: Any, threads: int, data: str = "memory") -> dict:
    """The whole key: this machine and code, dtype, row length, thread count and data class."""
    dtype = resolve_dtype(dtype)
    return {
        **machine_key(),
        "dtype": str(dtype),
        "n": n,
        "threads": threads,
        "data": data,
    }


def key_text(key: dict) -> str:
    """The key as the wisdom file's index."""
    return json.dumps(key, sort_keys=True)


def thread_count() -> int:
    """``numba.get_num_threads()``, read cheaply enough for every call of the rung.

    The rung looks up its plan on every call. The public function costs about 2 µs (a process-wide
    lock), a ctypes call into the threading layer 2-6 µs when the interpreter's caches are cold
    (after another rung's turn: 2-3% of a 0.2 ms epoch), a compiled read of the layer's count
    about as little as no read at all (bench/FINDINGS.md). So once Numba has launched its threads,
    the count is read in compiled code (Numba's private intrinsic, cached on disk like the kernels),
    or where that fails by the layer's ctypes reader; the public function answers before the
    threads are launched or where neither gives a count.
    """
    if _READER:
        try:  # inline, not through _read: this is every call of the rung
            count = _READER[0]()
        except Exception:
            count = 0
        if count > 0:
            return count
        _READER.clear()
    if getattr(_numba_parallel, "_is_initialized", False):  # the layer's symbols are loaded: safe to call
        for read in _readers():
            if read not in _FAILED:
                count = _read(read)
                if count > 0:
                    _READER[:] = [read]
                    return count
                _FAILED.append(read)  # not tried again: a compile that fails costs milliseconds
    return numba.get_num_threads()


def _read(read) -> int:
    """``read()``, or 0 where it raises (another Numba, or the JIT disabled)."""
    try:
        return read()
    except Exception:
        return 0


def _layer_count() -> int:
    """The calling thread's count, from the threading layer, in compiled code (no ctypes call)."""
    return _iget_num_threads()


_iget_num_threads = getattr(_numba_parallel, "_iget_num_threads", None)
_LAYER_COUNT = compiled(_layer_count)


def _readers():
    """The threading layer's readers of the count this Numba has, cheapest first."""
    if getattr(_numba_parallel, "_iget_num_threads", None) is not None:
        yield _LAYER_COUNT
    read = getattr(_numba_parallel, "_get_num_threads", None)
    if read is not None:
        yield read


#: The reader of the thread count that answered, once found, and those that did not (``thread_count``).
_READER: list = []
_FAILED: list = []
