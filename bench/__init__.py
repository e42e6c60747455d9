"""The ladder's benchmarks (``suite/``), the results they write (``results/``), the lesson made from
them (``report/``), and the commands around them (``compare``, ``yours``, ``time_one``).

The library (``impls``) never imports this package: what is set here stays in benchmark processes.
"""

import ctypes as _ctypes
import os as _os
import platform as _platform
import sys as _sys

#: Whether this package loaded before NumPy (and with it OpenBLAS), as in a benchmark run (pytest
#: loads ``-p bench`` before other packages' plugins, some of which import NumPy: pyproject.toml)
#: or a ``python -m bench...`` command. Every run records it.
BLAS_SETTING_IN_TIME = "numpy" not in _sys.modules

#: OpenBLAS's worker threads busy-wait for 2**28 cycles (about 0.1 s) after every BLAS call; on a
#: 2-core machine they took a core from whatever was timed next (the probe read X 1.6x slower
#: right after a numpy_vectorized epoch: bench/FINDINGS.md). 2**4 cycles: they sleep at once.
#: OpenBLAS reads it when it loads; a value the user set is kept.
_os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")


#: glibc's malloc gives a large block (from 128 KiB, a bound it raises as the process frees such
#: blocks) its own pages from the OS and returns them when freed, and it returns the top of its heap
#: once more than twice that bound lies free. A NumPy epoch's temporaries then cost page faults, and
#: how many depends on what the process ran before: numpy_vectorized's epoch at 1e5 x 100 took
#: about 9.5 ms in the main benchmark process and 13 ms in a fresh side-by-side one
#: (bench/FINDINGS.md). Set here, freed memory stays with the process in every benchmark process,
#: whatever ran before. glibc reads MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_ set by the user
#: at start, and then they are kept.
MMAP_THRESHOLD = 32 << 20  # glibc's largest (on 64-bit): blocks below it come from the heap
TRIM_THRESHOLD = 256 << 20  # free memory at the heap's top kept before it goes back to the OS
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # malloc.h


def _keep_freed_memory() -> dict | None:
    """Set glibc's two thresholds; what this process's allocator does, as every run records it."""
    if _platform.system() != "Linux" or _platform.libc_ver()[0] != "glibc":
        return None
    if any(name in _os.environ for name in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")):
        return {"allocator": "glibc", "set_by": "environment"}
    try:
        mallopt = _ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return None
    if not (mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)):
        return None
    return {"allocator": "glibc", "mmap_threshold": MMAP_THRESHOLD, "trim_threshold": TRIM_THRESHOLD}


#: Recorded in every results file (``machine_info.allocator``); None where nothing was set.
ALLOCATOR = _keep_freed_memory()
