"""What the report's tests share: the committed lessons, results files changed to say one thing, and
how to read a lesson's pages and tables."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

from bench.report import pages
from bench.report.cli import main
from bench.report.facts import select
from bench.results.load import load
from impls import IMPLEMENTATIONS

ROOT = Path(__file__).resolve().parents[3]
FIXTURE = ROOT / "tests" / "data" / "results.json"
REPORT = ROOT / "bench" / "report"

#: The committed lessons (a quick run's lesson, in reports/quick/, is the user's own and never committed).
COMMITTED = [
    path.parent for path in sorted((ROOT / "reports").glob("**/results.json")) if "quick" not in path.parts
]


def read_page(folder: Path, page: str = "README.md") -> str:
    return (folder / page).read_text()


def lesson_of(folder: Path) -> str:
    """Every page of a lesson, in the order the report writes them."""
    return "\n".join(read_page(folder, page) for page in pages.PAGES)


def run_main(path: Path, out: Path, capsys) -> tuple[int, str]:
    code = main([str(path), "--out", str(out)])
    return code, capsys.readouterr().err


def table_rows(markdown: str) -> list[list[str]]:
    """The cells of every Markdown table row in ``markdown``, in order."""
    lines = [line for line in markdown.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.split("|")[1:-1]] for line in lines]


def race_records(results_file: Path) -> list[dict]:
    """The head-to-head records of the results file (there must be some)."""
    raw = json.loads(results_file.read_text())
    races = [b["extra_info"] for b in raw["benchmarks"] if b["extra_info"]["kind"] == "head_to_head"]
    assert races
    return races


def ranked(raw: dict, factor: float) -> dict:
    """The run with every rung's time set by its ladder position: each rung ``factor`` times the one
    below; its side-by-side shares of the probe follow."""
    out = copy.deepcopy(raw)
    order = list(IMPLEMENTATIONS)
    for bench in out["benchmarks"]:
        info = bench["extra_info"]
        if info["kind"] == "paired":  # the fastest rung at 90% of the probe, each other a factor away
            best = len(order) - 1 if factor < 1 else 0
            share = 0.9 * factor ** -(order.index(info["rung"]) - best)
            info.update(share_median=share, share_q25=share * 0.99, share_q75=share * 1.01)
        if info["kind"] not in ("descent", "roofline"):
            continue
        rank = len(order) + 1 if info["kind"] == "roofline" else order.index(info["rung"])
        scale = info["m"] * info["n"] * 1e-8 * (1.5 if info["threads_setting"] == "one" else 1.0)
        scale *= 0.6 if info["dtype"] == "float32" else 1.0
        step = factor if info["kind"] != "roofline" else 0.5  # the probe beats every rung
        seconds = scale * info["epochs"] * step**rank
        rounds = [seconds * (1 + 0.025 * i) for i in range(9)]  # 1 to 1.2 times the best
        bench["stats"].update(min=seconds, median=seconds * 1.1, q1=seconds * 1.05, q3=seconds * 1.15)
        bench["stats"]["data"] = rounds
    return out


def inplace_against_vectorized(raw: dict, factor: float, spread: float) -> dict:
    """The run with numpy_inplace's rounds at the lesson's largest size ``factor`` times
    numpy_vectorized's, each round ``spread`` apart."""
    out = copy.deepcopy(raw)
    m, n = select.big_size(load(FIXTURE))
    for bench in out["benchmarks"]:
        info = bench["extra_info"]
        here = (info["kind"], info["m"], info["n"], info["dtype"], info.get("threads_setting", "all"))
        if here != ("descent", m, n, "float64", "all") or info["rung"] not in (
            "numpy_inplace",
            "numpy_vectorized",
        ):
            continue
        scale = info["epochs"] * 1e-3 * (factor if info["rung"] == "numpy_inplace" else 1.0)
        rounds = [scale * (1 + spread * i) for i in range(12)]
        bench["stats"].update(min=rounds[0], q1=rounds[3], median=rounds[6], q3=rounds[9], data=rounds)
    return out


def paired_probes(raw: dict, after: float) -> dict:
    """The run with every side-by-side benchmark's probe ``after`` times as long right after an
    epoch as before one, 20 pairs, under a drift of 1% a round."""
    out = copy.deepcopy(raw)
    for bench in out["benchmarks"]:
        info = bench["extra_info"]
        if info["kind"] == "paired":
            drift = [1e-3 * 1.01**k for k in range(20)]
            info["pairs_s"] = [[t * (after if k % 2 else 1.0), 2e-3] for k, t in enumerate(drift)]
    return out


def committed_pairs(raw: dict, size: tuple[int, int]) -> dict[str, dict]:
    """The committed run's side-by-side benchmarks at ``size``, float64, all threads, by rung."""
    return {
        b["extra_info"]["rung"]: b["extra_info"]
        for b in raw["benchmarks"]
        if b["extra_info"]["kind"] == "paired" and (b["extra_info"]["m"], b["extra_info"]["n"]) == size
        if b["extra_info"]["dtype"] == "float64" and b["extra_info"]["threads_setting"] == "all"
    }


def prose_words(markdown: str) -> int:
    """Words of prose: code blocks, formulas, comments, tables and link targets left out."""
    text = re.sub(r"```.*?```|\$\$.*?\$\$|<!--.*?-->", " ", markdown, flags=re.S)
    text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("|"))
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)|\]\([^)]*\)", " ", text)
    return len(re.findall(r"[A-Za-z0-9][\w'’.-]*", text))


def links_of(page: Path) -> list[str]:
    return [t for t in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()) if "://" not in t]
