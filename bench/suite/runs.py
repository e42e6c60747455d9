"""Atomic benchmark runs: a run that does not finish never replaces the last complete results file.

pytest-benchmark writes ``--benchmark-json=F`` at the end of the session, interrupted or not
(Ctrl-C included). Here the session writes to a hidden file beside F instead; when the session
ends, a complete run (every selected benchmark ran, passed or failed) is moved onto F in one
``os.replace``, and an incomplete one is kept as ``F.partial.json`` with F left as it was.

Each file also records the run: whether it completed, which benchmarks failed (a timed answer
outside its tolerance fails its benchmark) and which did not run. The report reads that record.

The file is rewritten with one space of indentation and every list of numbers on one line
(:func:`compact`): pytest-benchmark's four spaces and one number per line made a large run's
per-round times (the paired shares, the races) take most of its bytes.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pytest

from bench.results.schema import RUN_KEY


class RunRecord:
    """What one pytest session did to its benchmarks, for the results file."""

    def __init__(self, target: Path):
        self.target = target
        self.partial = target.with_name(f".{target.name}.{os.getpid()}.writing")
        self.collected: list[str] = []
        self.finished: set[str] = set()
        self.failed: dict[str, str] = {}

    def report(self, report: pytest.TestReport) -> None:
        if report.when == "call" or report.outcome != "passed":
            self.finished.add(report.nodeid)
        if report.failed:
            message = report.longreprtext.strip().splitlines()
            self.failed[report.nodeid] = next(
                (line for line in reversed(message) if line.startswith("E ")), "failed"
            )

    def complete(self, session: pytest.Session) -> bool:
        interrupted = session.exitstatus not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED)
        return not (interrupted or session.shouldfail or session.shouldstop or self.missing())

    def missing(self) -> list[str]:
        return [nodeid for nodeid in self.collected if nodeid not in self.finished]

    def as_json(self, session: pytest.Session) -> dict:
        return {
            "complete": self.complete(session),
            "exit_status": int(session.exitstatus),
            "failed": self.failed,
            "not_run": self.missing(),
        }


def start(config: pytest.Config) -> RunRecord | None:
    """Point pytest-benchmark's JSON at a hidden file beside the target; None without --benchmark-json.

    The target's folder is made and tried first: a run that could not write its results stops
    before it times anything (pytest.UsageError naming the path), not after.
    """
    bench = getattr(config, "_benchmarksession", None)
    if bench is None or not bench.json:
        return None
    record = RunRecord(Path(bench.json))
    try:
        record.target.parent.mkdir(parents=True, exist_ok=True)
        if record.target.is_dir():
            raise IsADirectoryError(21, "it is a folder", str(record.target))
        record.partial.write_text("")
        record.partial.unlink()
    except OSError as exc:
        why = f"{exc.strerror}: {exc.filename}" if exc.strerror else str(exc)
        raise pytest.UsageError(
            f"--benchmark-json {record.target}: cannot write there ({why}); name a file in a writable folder"
        ) from None
    bench.json = record.partial
    return record


#: Rounds of a benchmark kept in its results file (evenly spaced in time order): enough for a 95%
#: interval of its median, a few kilobytes a benchmark.
KEPT_ROUNDS = 32
#: Per-round times the side-by-side benchmarks record, rounded like the kept rounds.
ROUND_LISTS = ("pairs_s", "times_s", "probe_s")


def significant(x: float, digits: int = 4) -> float:
    """``x`` to ``digits`` significant digits: a round's time is not known better than that."""
    return float(f"{x:.{digits}g}")


def sample_rounds(data: list[float], kept: int = KEPT_ROUNDS) -> list[float]:
    """At most ``kept`` of a benchmark's rounds, evenly spaced in time order, to 4 significant digits."""
    if len(data) > kept:
        step = len(data) / kept
        data = [data[int(k * step)] for k in range(kept)]
    return _rounded(list(data))


def _rounded(value):
    if isinstance(value, float):
        return significant(value)
    if isinstance(value, list | tuple):
        return [_rounded(v) for v in value]
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value


def round_times(extra_info: dict) -> None:
    """Round the per-round times a benchmark recorded (pairs, races) to 4 significant digits, in place."""
    for key in ROUND_LISTS:
        if key in extra_info:
            extra_info[key] = _rounded(extra_info[key])


_NUMBERS = re.compile(r"\[\s*([-0-9.eE+,\s]*?)\s*\]")  # a JSON list holding numbers only


def compact(path: Path) -> None:
    """Rewrite a results file with the same content, in fewer bytes (checked before it is replaced)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    text = _NUMBERS.sub(
        lambda m: (
            "[" + ", ".join(item.strip() for item in m.group(1).split(",")) + "]"
            if m.group(1).strip()
            else "[]"
        ),
        json.dumps(data, indent=1),
    )
    if json.loads(text) != data:  # never: the pattern only removes whitespace inside lists of numbers
        raise RuntimeError(f"compacting {path} changed its content")
    temporary = path.with_name(path.name + ".compact")
    temporary.write_text(text + "\n", encoding="utf-8")
    os.replace(temporary, path)


def finish(record: RunRecord, session: pytest.Session) -> None:
    """Move a complete run into place; keep an incomplete one apart and say so."""
    if not record.partial.exists():
        return
    compact(record.partial)
    if record.complete(session):
        os.replace(record.partial, record.target)
        return
    kept = record.target.with_name(f"{record.target.stem}.partial.json")
    os.replace(record.partial, kept)
    print(
        f"\nbenchmark run did not complete ({len(record.missing())} benchmark(s) not run): "
        f"{record.target} was left as it was; this run's results are in {kept}",
        file=sys.stderr,
    )


def stamp(record: RunRecord | None, session: pytest.Session, output_json: dict) -> None:
    if record is not None:
        output_json[RUN_KEY] = record.as_json(session)
