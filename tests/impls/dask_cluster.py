"""What the dask tests share: a cluster of separate processes started as a user would start one
(``dask scheduler``, ``dask worker``), a new Python that fits on it, and the problem they fit.

Imported by the dask test modules only after they have checked that ``distributed`` is installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from impls import IMPLEMENTATIONS, relative_error

REFERENCE = IMPLEMENTATIONS["numpy_vectorized"]
ROOT = Path(__file__).resolve().parents[2]
DASK_CLI = [sys.executable, "-m", "dask"]  # the `dask` command of this Python


def problem(m: int, n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, n))
    y = (rng.random(m) < 1 / (1 + np.exp(-X @ rng.standard_normal(n) / np.sqrt(n)))).astype(float)
    return X, y


def agrees(result, X, y, lr, epochs) -> float:
    """The relative error of ``result`` against the reference rung's fit of the same problem."""
    expected = REFERENCE.fit(X, y, lr=lr, epochs=epochs)
    return relative_error(result, expected.w, expected.b, expected.costs)


@contextmanager
def cluster_of_processes(folder: Path, *, workers: int = 2, tls: tuple[str, str, str] | None = None):
    """`dask scheduler` and `dask worker` processes on 127.0.0.1, as a real cluster is started.

    ``tls``: (CA file, certificate, key) for both, and the scheduler listens on ``tls://``.
    ``workers=0``: the scheduler alone.
    Yields the scheduler's address and a client watching the cluster (with the same certificate).
    """
    import distributed

    scheduler_file = folder / "scheduler.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    security_flags = []
    if tls is not None:
        ca, cert, key = tls
        security_flags = ["--tls-ca-file", ca, "--tls-cert", cert, "--tls-key", key]
    scheduler = subprocess.Popen(
        [
            *DASK_CLI,
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            *(["--protocol", "tls"] if tls is not None else []),
            *security_flags,
            "--no-dashboard",
            "--scheduler-file",
            str(scheduler_file),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    processes = [scheduler]
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert scheduler_file.exists(), "the scheduler did not start"
        worker = workers and subprocess.Popen(
            [
                *DASK_CLI,
                "worker",
                "--scheduler-file",
                str(scheduler_file),
                "--nworkers",
                str(workers),
                "--nthreads",
                "1",
                *security_flags,
                "--no-dashboard",
                "--host",
                "127.0.0.1",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        processes += [worker] if worker else []
        security = None
        if tls is not None:
            security = distributed.Security(tls_ca_file=ca, tls_client_cert=cert, tls_client_key=key)
        with distributed.Client(
            scheduler_file=str(scheduler_file), timeout=30, security=security, set_as_default=False
        ) as watcher:
            if workers:
                watcher.wait_for_workers(workers, timeout=60)
            yield watcher.scheduler.address, watcher
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


FIT_SCRIPT = """\
import numpy as np, sys
from impls import IMPLEMENTATIONS, dask as d
data = np.load(sys.argv[1])
r = IMPLEMENTATIONS['dask'].fit(data['X'], data['y'], lr=float(sys.argv[3]), epochs=int(sys.argv[4]))
print(d.client().scheduler.address)
np.savez(sys.argv[2], w=r.w, b=r.b, costs=r.costs)
"""


def fit_in_a_new_python(folder: Path, env: dict, X, y, *, lr: float, epochs: int):
    """The dask rung's fit in a new Python with ``env`` added to the environment, as a user would run it.

    Returns the result and the address of the scheduler the rung used.
    """
    np.savez(folder / "in.npz", X=X, y=y)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            FIT_SCRIPT,
            str(folder / "in.npz"),
            str(folder / "out.npz"),
            str(lr),
            str(epochs),
        ],
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    out = np.load(folder / "out.npz")
    result = SimpleNamespace(w=out["w"], b=float(out["b"]), costs=out["costs"])
    return result, done.stdout.strip().splitlines()[-1]
