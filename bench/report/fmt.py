"""Numbers and verdicts as words: every template formats through these (they are its filters)."""

from __future__ import annotations

from urllib.parse import quote

from tabulate import tabulate

from bench.results.text import cpu_name, fmt_bytes, fmt_pct, fmt_size, fmt_time, fmt_x
from ladderstats import Ratio, independent


def ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


class Timing(float):
    """Seconds (a benchmark's best round, per epoch), carrying what the words about it need:
    ``rounds``, the rounds the run kept (per epoch), and ``middle``, its quartiles and median. Dividing or
    multiplying by a number scales all three (seconds per multiply-add, say)."""

    rounds: tuple[float, ...]
    middle: tuple[float, float, float] | None  # first quartile, median, third quartile

    def __new__(cls, seconds: float, rounds=(), middle=None):
        self = super().__new__(cls, seconds)
        self.rounds, self.middle = tuple(rounds), middle
        return self

    def _scaled(self, factor: float) -> Timing:
        middle = None if self.middle is None else tuple(q * factor for q in self.middle)
        return Timing(float(self) * factor, [r * factor for r in self.rounds], middle)

    def __truediv__(self, other):
        if isinstance(other, int | float) and not isinstance(other, Timing):
            return self._scaled(1 / other)
        return float(self) / other

    def __mul__(self, other):
        if isinstance(other, int | float) and not isinstance(other, Timing):
            return self._scaled(other)
        return float(self) * other

    __rmul__ = __mul__


def compared(t, other) -> Ratio | None:
    """t over other with its 95% interval where both kept rounds; else the span of their middle
    halves (quartiles); None where either is a plain number."""
    if not (isinstance(t, Timing) and isinstance(other, Timing)):
        return None
    if len(t.rounds) >= 2 and len(other.rounds) >= 2:
        return independent(t.rounds, other.rounds)
    if t.middle and other.middle:
        low, high = t.middle[0] / other.middle[2], t.middle[2] / other.middle[0]
        return Ratio(t.middle[1] / other.middle[1], low, high, 0, False)
    return None


def verdict(t, other) -> str:
    """ "faster", "slower" or "level": t against other, by the interval of their ratio where there is
    one (a plain number compares by value)."""
    if t is None or other is None:
        return "level"
    r = compared(t, other)
    if r is not None:
        return r.verdict()
    return "faster" if t < other else "slower" if t > other else "level"


def level(r: Ratio) -> str:
    """'level (ratio 1.02, 95% interval 0.97–1.08) with': a tie, and the interval that says so."""
    kind = "95% interval" if r.rounds else "the rounds' middle halves give"
    return f"level (ratio {r.estimate:.3g}, {kind} {r.low:.3g}–{r.high:.3g}) with"


def versus(t: float | None, other: float | None) -> str:
    """'2.1× faster than' or '1.3× slower than': the ratio of the two times as shown (best rounds),
    where the interval of their ratio excludes a tie; else 'level with' and the interval."""
    if t is None or other is None or t <= 0 or other <= 0:
        return "n/a against"
    r = compared(t, other)
    if r is not None and r.verdict() == "level":
        return level(r)
    ratio = t / other  # of the times the page shows (best rounds); the word follows the interval
    if r is not None and (ratio - 1) * (r.estimate - 1) < 0:  # the medians point the other way
        best = "faster" if t < other else "slower"
        median = f"{fmt_x(1 / r.estimate)} faster" if r.estimate < 1 else f"{fmt_x(r.estimate)} slower"
        return f"{best} in its best round but {median} in its median round than"
    return f"{fmt_x(1 / ratio)} faster than" if ratio < 1 else f"{fmt_x(ratio)} slower than"


def change(t: float | None, other: float | None) -> str:
    """'12% faster than' or '3% slower than': a small difference in words, or 'level with' where the
    interval of the ratio includes a tie."""
    if t is None or other is None or t <= 0 or other <= 0:
        return "n/a against"
    r = compared(t, other)
    if r is not None and r.verdict() == "level":
        return level(r)
    ratio = t / other  # of the times the page shows; the word follows the interval
    if r is not None and (ratio - 1) * (r.estimate - 1) < 0:  # the medians point the other way
        return versus(t, other)
    return f"{fmt_pct(1 - ratio)} faster than" if ratio < 1 else f"{fmt_pct(ratio - 1)} slower than"


def table(rows: list[list], headers: list[str]) -> str:
    """A GitHub Markdown table."""
    return tabulate(rows, headers=headers, tablefmt="github")


def blas(machine: dict) -> str:
    pools = [p for p in machine.get("threadpoolctl") or [] if p.get("user_api") == "blas"]
    if not pools:
        return "unknown"
    p = pools[0]
    return f"{p.get('internal_api')} {p.get('version')} ({p.get('architecture')}), {p.get('num_threads')} threads"


def machine_footer(machine: dict, datetime: str) -> str:
    numba = machine.get("numba") or {}
    return (
        f"{cpu_name(machine)}, {machine.get('cpu_count', '?')} cores · BLAS: {blas(machine)} · "
        f"Numba {numba.get('version', '?')}, {numba.get('num_threads', '?')} threads "
        f"({numba.get('threading_layer') or 'layer ?'}) · {datetime[:10]}"
    )


def machine_rows(mi: dict) -> list[list[str]]:
    cpu = mi.get("cpu") or {}
    numba = mi.get("numba") or {}
    packages = mi.get("packages") or {}
    env = {k: v for k, v in (mi.get("thread_env") or {}).items() if v}
    rows = [
        ["CPU", f"{cpu.get('brand_raw', '?')} ({cpu.get('arch_string_raw', mi.get('machine', '?'))})"],
        ["cores", str(mi.get("cpu_count", "?"))],
        ["BLAS", blas(mi)],
        ["Numba threads", f"{numba.get('num_threads', '?')} ({numba.get('threading_layer') or '?'} layer)"],
        ["Python", f"{mi.get('python_implementation', '')} {mi.get('python_version', '?')}"],
        ["system", mi.get("platform_detail") or mi.get("system", "?")],
        ["thread variables", ", ".join(f"{k}={v}" for k, v in env.items()) or "none set"],
    ]
    rows += [[name, version or "not installed"] for name, version in packages.items()]
    return rows


def point_label(m: int, n: int, dtype: str, threads: str) -> str:
    """'m = 1,000 × n = 10, float64, all threads': one timed point in words."""
    return f"{fmt_size((m, n))}, {dtype}, {'1 thread' if threads == 'one' else 'all threads'}"


def setting(entry: dict) -> str:
    """'float64, 2 threads' or 'float32, 1 thread': a record's dtype and threads."""
    threads = "1 thread" if entry["threads_setting"] == "one" else f"{entry['threads']} threads"
    return f"{entry['dtype']}, {threads}"


def fmt_about(count: float) -> str:
    """A count to two significant digits, as a reader would say it: '13', 'about 25,000'."""
    if count < 100:
        return f"{count:.0f}"
    return f"about {float(f'{count:.2g}'):,.0f}"


FILTERS = {
    "about": fmt_about,
    "time": fmt_time,
    "x": fmt_x,
    "pct": fmt_pct,
    "size": fmt_size,
    "bytes": fmt_bytes,
    "repr": repr,
    "code": lambda name: f"`{name}`",  # a name as inline code
    "link": quote,  # a path as a Markdown link target: spaces and the like percent-encoded
    "point": lambda where: point_label(*where),  # (m, n, dtype, threads) in words
}
