"""Benchmarks of the ladder (pytest-benchmark) and the report that turns their results into a lesson."""

import os as _os

#: OpenBLAS's worker threads busy-wait for 2**28 cycles (about 0.1 s) after every BLAS call; on a
#: 2-core machine they took a core from whatever was timed next (the probe read X 1.6x slower
#: right after a numpy_vectorized epoch: bench/FINDINGS.md). 2**4 cycles: they sleep at once.
#: Read when OpenBLAS loads, so set before numpy is imported; a value the user set is kept.
_os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")

#: Whether that came before OpenBLAS loaded, as it must to count (pytest loads ``-p bench`` before
#: other packages' plugins, some of which import NumPy: pyproject.toml). Every run records it.
BLAS_SETTING_IN_TIME = "numpy" not in __import__("sys").modules
