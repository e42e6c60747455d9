"""The checker as a judge: the learner's module runs in a process of its own, watched from this one.

Whatever that module does (exit as it loads, ``os._exit`` in ``fit``, never return, get killed),
this process gives one verdict line and a non-zero exit code: a CI that gates on
``python -m bench.yours`` cannot read a module that left early as a pass. While the check runs, a
progress line says every ``PROGRESS_S`` seconds what it is doing; past ``--timeout`` it stops the
check and says where; Ctrl-C stops it with one line.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
import time

#: Seconds between progress lines while nothing else is said.
PROGRESS_S = 10.0


def _orphaned(parent) -> None:
    """End this process when the judge's process ends, however it ends (killed included)."""
    multiprocessing.connection.wait([parent.sentinel])
    os._exit(1)


def _child(conn, run, args) -> None:
    """The check itself (``run``: ``bench.yours.run``), its lines and progress sent to the judge. Ctrl-C
    is the judge's to handle (it stops this process): ignored here, so no traceback of it is printed."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_orphaned, args=(multiprocessing.parent_process(),), daemon=True).start()
    state = {"doing": "starting"}

    def doing(text: str) -> None:
        state["doing"] = text
        conn.send(("doing", text))

    try:
        code = run(args, say=lambda text, err=False: conn.send(("err" if err else "line", text)), doing=doing)
    except BaseException as exc:  # SystemExit, or anything else out of the learner's fit, while timed
        conn.send(("err", f"error: {type(exc).__name__} while {state['doing']}: {exc}"))
        code = 1
    conn.send(("done", code))


def _ended(code: int | None, doing: str) -> str:
    """Why the checker's process ended before its verdict, in words."""
    if code is not None and code < 0:
        name = signal.Signals(-code).name
        cause = {
            "SIGSEGV": "a crash in compiled code",
            "SIGKILL": "killed: out of memory?",
            "SIGABRT": "an abort in compiled code",
        }.get(name, "a signal")
        return f"the checker's process died of {name} ({cause}) while {doing}, before any verdict"
    return (
        f"your module ended the checker's process (exit code {code}) while {doing}, before any verdict: "
        "fit must return (w, b, costs), and a module to check must not exit (sys.exit, os._exit, quit)"
    )


def judged(run, args) -> int:
    """``run(args, say, doing)`` (``bench.yours.run``) in a new process, and its verdict; the exit
    code (never 0 unless the check said right)."""
    context = multiprocessing.get_context("spawn")
    conn, child_conn = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(child_conn, run, args), daemon=True)
    start = time.monotonic()
    process.start()
    child_conn.close()
    doing = "starting"
    try:
        while True:
            left = args.timeout - (time.monotonic() - start)
            if left <= 0:
                print(
                    f"error: no verdict within {args.timeout:g} s: stopped while {doing}; a fit that never "
                    "returns (a loop whose end is never reached?), or a slow one: --timeout SECONDS "
                    "allows longer",
                    file=sys.stderr,
                )
                return 1
            if not conn.poll(min(left, PROGRESS_S)):
                print(f"... {doing} ({time.monotonic() - start:.0f} s)", file=sys.stderr, flush=True)
                continue
            try:
                kind, value = conn.recv()
            except EOFError:
                process.join(5.0)
                print(f"error: {_ended(process.exitcode, doing)}", file=sys.stderr)
                return 1
            if kind == "doing":
                doing = value
            elif kind == "done":
                return int(value)
            else:
                print(value, file=sys.stderr if kind == "err" else sys.stdout, flush=True)
    except KeyboardInterrupt:
        print(f"\nstopped (Ctrl-C) while {doing}: no verdict", file=sys.stderr)
        return 130
    finally:
        conn.close()
        if process.is_alive():
            process.kill()
        process.join()
