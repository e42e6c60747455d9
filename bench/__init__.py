"""The ladder's benchmarks (``suite/``), the results they write (``results/``), the lesson made from
them (``report/``), and the commands around them (``compare``, ``yours``, ``time_one``).

The library (``impls``) never imports this package: what is set here stays in benchmark processes.
"""

import os as _os
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
