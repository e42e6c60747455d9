"""Make the ``tbb`` package's library visible to Numba, so its TBB threading layer loads.

The ``tbb`` wheel puts ``libtbb.so.12`` in the environment's ``lib/`` folder, which is not on the
loader's path, and Numba's TBB module links it by name only: in a fresh virtual environment
``numba.threading_layer()`` falls back to ``workqueue`` with TBB installed beside it. Loading the
library once by its full path makes the name known to the process, and Numba's module then links
against it. Linux only (the wheels for Windows and macOS place it where Numba finds it, or not at
all); nothing happens where ``tbb`` is not installed or the user chose a layer without TBB.
"""

from __future__ import annotations

import ctypes
import importlib.metadata
import os
import sys

#: The name Numba's TBB module links against (oneTBB 2021 and later).
LIBRARY = "libtbb.so.12"
#: The threading layers under which Numba may try TBB.
MAY_USE_TBB = ("default", "forksafe", "threadsafe", "safe", "tbb")


def library_path() -> str | None:
    """Where the installed ``tbb`` package keeps ``libtbb.so.12``; None if it is not installed."""
    try:
        files = importlib.metadata.distribution("tbb").files or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for entry in files:
        if entry.name == LIBRARY:
            path = os.path.realpath(entry.locate())
            return path if os.path.exists(path) else None
    return None


def load(threading_layer: str) -> str | None:
    """Load the ``tbb`` package's library for Numba under ``threading_layer``; its path, or None."""
    if not sys.platform.startswith("linux") or threading_layer not in MAY_USE_TBB:
        return None
    path = library_path()
    if path is None:
        return None
    try:
        ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
    except OSError:  # a damaged or foreign library: Numba then takes the next layer, as before
        return None
    return path
