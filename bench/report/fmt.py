"""Numbers and verdicts as words: every template formats through these (they are its filters). They
only word what the facts decided: no statistics and no thresholds here. Every ratio a page states is
one the facts' registry keeps (``facts/ratios.py``), printed by ``numbers`` with its 95% interval, so
one pair at one point reads the same on every page."""

from __future__ import annotations

from urllib.parse import quote

from tabulate import tabulate

from bench.results.text import cpu_name, fmt_bytes, fmt_pct, fmt_size, fmt_time


def number(value: float) -> str:
    """A ratio's number as every page prints it: 253, 81.7, 3.28, 0.98."""
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def numbers(s) -> str:
    """A stated ratio's numbers with its 95% interval, the same wherever the pair is stated: against the
    probe '2.18 (2.10–2.27)' (the rung's epoch in reads of X); between two rungs '3.28× (3.20–3.35)',
    the longer epoch over the shorter, or, where they are level, '(1.01×, 0.98–1.06)'."""
    estimate, low, high = (number(v) for v in s.numbers)
    if s.against_probe:
        return f"{estimate} ({low}–{high})"
    return f"({estimate}×, {low}–{high})" if s.verdict == "level" else f"{estimate}× ({low}–{high})"


def said(s) -> str:
    """A comparison of the facts (``facts.ratios.Stated``) as its subject's verdict: '3.28× (3.20–3.35)
    faster', '1.43× (1.38–1.50) slower' or 'level (1.01×, 0.98–1.06)'."""
    if s is None:
        return "n/a"
    return f"level {numbers(s)}" if s.verdict == "level" else f"{numbers(s)} {s.verdict}"


def versus(s) -> str:
    """A comparison in a sentence: '3.28× (3.20–3.35) faster than', or 'level (1.01×, 0.98–1.06) with'."""
    if s is None:
        return "n/a against"
    return said(s) + (" with" if s.verdict == "level" else " than")


def reads(s) -> str:
    """A rung against the probe in a sentence: '2.18 (2.10–2.27) reads of $X$'."""
    return "n/a reads of $X$" if s is None else f"{numbers(s)} reads of $X$"


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
    if "allocator" in mi:  # absent from older runs' files
        rows.append(["allocator", allocator(mi["allocator"])])
    rows += [[name, version or "not installed"] for name, version in packages.items()]
    return rows


def allocator(setting: dict | None) -> str:
    """What the run's allocator did with freed memory (``bench/__init__.py``), in a few words."""
    if not setting:
        return "the platform's default"
    if setting.get("set_by") == "environment":
        return f"{setting.get('allocator', '?')}, thresholds set by the environment"
    mib = 1 << 20
    return (
        f"{setting.get('allocator', '?')}, freed memory kept (blocks under "
        f"{setting['mmap_threshold'] // mib} MiB from the heap, up to {setting['trim_threshold'] // mib} MiB kept free)"
    )


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
    "pct": fmt_pct,
    "size": fmt_size,
    "bytes": fmt_bytes,
    "repr": repr,
    "code": lambda name: f"`{name}`",  # a name as inline code
    "link": quote,  # a path as a Markdown link target: spaces and the like percent-encoded
    "point": lambda where: point_label(*where),  # (m, n, dtype, threads) in words
    "versus": versus,  # a comparison of the facts, in a sentence
    "said": said,  # the same, as a verdict alone (a table's cell)
    "reads": reads,  # a rung against the probe: its epoch in reads of X
    "numbers": numbers,  # a comparison's numbers alone
    "part": part,
}
