"""Make the small results file the report's tests read: ``python -m tests.fixture`` (or ``tox -e fixture``).

It runs every benchmark of ``bench/`` (the ladder's and every workload's) at the smoke profile's
sizes, briefly timed, planning as a user's benchmark run does, and writes
``tests/data/results.json``. Run it again when the results format or what the benchmarks record
changes; the tests then read the new file.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "data" / "results.json"


def command(path: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pytest",
        "bench/suite",
        "bench/workloads",
        "--benchmark-only",
        f"--benchmark-json={path}",
        "--benchmark-max-time=0.02",
        "--benchmark-min-rounds=3",
        "-q",
        "-p",
        "no:cacheprovider",
    ]


def child_env(drop: tuple[str, ...] = (), **updates: str) -> dict[str, str]:
    """This environment for a pytest run started from a test: without the test worker's
    ``PYTEST_XDIST_*`` variables (pytest-benchmark reads them and would switch itself off in a run
    of its own), without ``drop``, with ``updates``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST") and k not in drop}
    return {**env, **updates}


def make(path: Path = FIXTURE) -> subprocess.CompletedProcess:
    """Run the benchmarks into ``path``: smoke sizes, planning by measurement, a wisdom file of its own."""
    env = child_env(drop=("LADDER_WISDOM",), BENCH_PROFILE="smoke", LADDER_PLANNING="measure")
    return subprocess.run(command(path), cwd=ROOT, env=env, capture_output=True, text=True)


def main() -> int:
    done = make()
    if done.returncode != 0:
        print(done.stdout[-3000:] + done.stderr[-3000:], file=sys.stderr)
        return done.returncode
    print(f"wrote {FIXTURE.relative_to(ROOT)} ({FIXTURE.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
