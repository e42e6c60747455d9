"""A rung's one-thread point in a child process pinned to one CPU.

Some runtimes size their thread pool once, when they start: XLA's CPU client (the jax rung) is
one, and on the JAX versions this suite supports its ``XLA_FLAGS`` thread settings do not bound
the threads that run a compiled program (measured: 1.8 CPU-seconds per second with
``--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1``). The one way to give such
a rung exactly one core is a process of its own whose CPU affinity is one CPU, set before the
runtime starts. :class:`PinnedRung` starts that process (``spawn``: nothing inherited but the
environment), which builds the same data and problem as the parent, warms up, and then runs
one descent (or one read of X by the roofline probe, for the side-by-side share) per request.
The parent's benchmark times the request, so pytest-benchmark's statistics are those of every
other point; each includes one pipe round trip, which is measured apart and recorded (tens of
microseconds against an epoch of a tenth of a second).
The child also reports the CPU time it spent per second of timed wall time: 1.0 shows the
pin held.
"""

from __future__ import annotations

import multiprocessing
import os
import time
import traceback

START_TIMEOUT_S = 600.0  # the child generates the data and compiles before it answers


def available() -> str | None:
    """Why a rung cannot be pinned here, or None when it can."""
    if not hasattr(os, "sched_setaffinity"):
        return "pinning a process to one CPU needs os.sched_setaffinity (Linux)"
    return None


def _serve(conn, name: str, m: int, n: int, dtype: str, epochs: int, cpu: int) -> None:
    """The child: pin, build the problem, warm up, then answer requests until told to stop."""
    try:
        os.sched_setaffinity(0, {cpu})  # before the rung's runtime starts its threads
        import numba

        from bench.suite.data import get_data, timed_problem
        from bench.suite.roofline import read_all
        from impls import IMPLEMENTATIONS

        numba.set_num_threads(1)  # the probe, on the same one CPU

        rung = IMPLEMENTATIONS[name]
        X, _ = get_data(m, n, dtype)
        problem = timed_problem(rung, m, n, dtype, epochs)
        state = rung.prepare(problem)
        result = rung.run(state, problem)  # warm-up: compilation and first touch
        read_all(X)
    except BaseException:
        conn.send(("error", traceback.format_exc()))
        return
    conn.send(("ready", None))
    cpu_s = 0.0
    while True:
        request = conn.recv()
        try:
            if request == "run":
                start = time.process_time()
                result = rung.run(state, problem)
                cpu_s += time.process_time() - start
                conn.send(("ok", None))
            elif request == "probe":
                read_all(X)
                conn.send(("ok", None))
            elif request == "ping":
                conn.send(("ok", None))
            elif request == "report":
                conn.send(("ok", (result, cpu_s, sorted(os.sched_getaffinity(0)))))
            else:  # "stop"
                conn.send(("ok", None))
                return
        except BaseException:
            conn.send(("error", traceback.format_exc()))
            return


class PinnedRung:
    """``with PinnedRung(name, m, n, dtype, epochs) as child: benchmark(child.run)``."""

    def __init__(self, name: str, m: int, n: int, dtype: str, epochs: int):
        self.args = (name, m, n, dtype, epochs, min(os.sched_getaffinity(0)))
        self.timed_s = 0.0

    def __enter__(self) -> PinnedRung:
        context = multiprocessing.get_context("spawn")
        self.conn, child_conn = context.Pipe()
        self.process = context.Process(target=_serve, args=(child_conn, *self.args), daemon=True)
        self.process.start()
        child_conn.close()
        try:
            self._answer(timeout=START_TIMEOUT_S)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc) -> None:
        try:
            if self.process.is_alive():
                self.conn.send("stop")
                self.conn.poll(10.0)
        finally:
            self.process.join(10.0)
            if self.process.is_alive():
                self.process.kill()
                self.process.join()
            self.conn.close()

    def _answer(self, timeout: float | None = None):
        if timeout is not None and not self.conn.poll(timeout):
            raise RuntimeError(f"the pinned {self.args[0]} process did not answer within {timeout:g} s")
        try:
            status, value = self.conn.recv()
        except EOFError:
            raise RuntimeError(
                f"the pinned {self.args[0]} process died (exit code {self.process.exitcode})"
            ) from None
        if status == "error":
            raise RuntimeError(f"the pinned {self.args[0]} process failed:\n{value}")
        return value

    def run(self) -> None:
        """One descent in the child; what the benchmark times."""
        start = time.perf_counter()
        self.conn.send("run")
        self._answer()
        self.timed_s += time.perf_counter() - start

    def probe(self) -> None:
        """One read of X by the roofline probe, on the child's one CPU."""
        self.conn.send("probe")
        self._answer()

    def round_trip_s(self, repeats: int = 50) -> float:
        """The best time of an empty request: the pipe's share of each timed round."""
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            self.conn.send("ping")
            self._answer()
            best = min(best, time.perf_counter() - start)
        return best

    def report(self):
        """The last descent's answer, the child's CPU seconds per timed second, and its CPUs."""
        result, cpu_s, cpus = self._answer_to("report")
        return result, cpu_s / self.timed_s if self.timed_s else float("nan"), cpus

    def _answer_to(self, request: str):
        self.conn.send(request)
        return self._answer()
