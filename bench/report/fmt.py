"""Numbers and verdicts as words: every template formats through these (they are its filters). They
only word what the facts decided: no statistics and no thresholds here."""

from __future__ import annotations

from urllib.parse import quote

from tabulate import tabulate

from bench.results.text import cpu_name, fmt_bytes, fmt_pct, fmt_size, fmt_time, fmt_x


def level(r) -> str:
    """'level (ratio 1.02, 95% interval 0.97–1.08) with': a tie, and the interval that says so."""
    kind = "95% interval" if r.rounds else "the rounds' middle halves give"
    return f"level (ratio {r.estimate:.3g}, {kind} {r.low:.3g}–{r.high:.3g}) with"


def versus(c) -> str:
    """A comparison (``facts.compare.Comparison``) in words: '2.1× faster than' or '1.3× slower than',
    by the ratio of the two times as shown (best rounds); 'level with' and the interval where the
    facts found a tie; both rounds where the best and the median point opposite ways."""
    if c is None:
        return "n/a against"
    if c.tied:
        return level(c.interval)
    if c.split:
        best = "faster" if c.best_faster else "slower"
        estimate = c.interval.estimate
        median = f"{fmt_x(estimate)} slower" if c.best_faster else f"{fmt_x(1 / estimate)} faster"
        return f"{best} in its best round but {median} in its median round than"
    return f"{fmt_x(1 / c.ratio)} faster than" if c.best_faster else f"{fmt_x(c.ratio)} slower than"


def change(c) -> str:
    """A small difference in words: '12% faster than' or '3% slower than', or as :func:`versus` where
    the facts found a tie or the best and median rounds point opposite ways."""
    if c is None:
        return "n/a against"
    if c.tied or c.split:
        return versus(c)
    return f"{fmt_pct(1 - c.ratio)} faster than" if c.best_faster else f"{fmt_pct(c.ratio - 1)} slower than"


def part(fraction: float) -> str:
    """A share in words: 'a tenth', 'half', else a percentage."""
    return {0.1: "a tenth", 0.25: "a quarter", 0.5: "half"}.get(fraction) or fmt_pct(fraction)


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
    "versus": versus,  # a comparison of the facts
    "change": change,
    "part": part,
}
