"""What the report's tests share: the committed lessons, results files changed to say one thing, and
how to read a lesson's pages and tables."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

from bench.report import pages
from bench.report.cli import main
from bench.results import side
from impls import IMPLEMENTATIONS, PLANNED

ROOT = Path(__file__).resolve().parents[3]
FIXTURE = ROOT / "tests" / "data" / "results.json"
REPORT = ROOT / "bench" / "report"

#: The committed lessons (a quick run's lesson, in reports/quick/, is the user's own and never committed).
COMMITTED = [
    path.parent for path in sorted((ROOT / "reports").glob("**/results.json")) if "quick" not in path.parts
]


def joined(raw: dict) -> dict:
    """A results file's contents with each side-by-side point's passes one record, as the loader
    reads them: what a test edits to make a run say one thing."""
    return {**raw, "benchmarks": side.join_passes(raw["benchmarks"], PLANNED)}


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


def ranked(raw: dict, factor: float) -> dict:
    """The run with every rung's time set by its ladder position: each rung ``factor`` times the one
    below, in its descent benchmarks and in every round of the side-by-side ones, where the probe
    reads X in half the time of the fastest rung."""
    out = copy.deepcopy(raw)
    order = list(IMPLEMENTATIONS)
    for bench in out["benchmarks"]:
        info = bench["extra_info"]
        if info["kind"] == "head_to_head":
            scale = info["m"] * info["n"] * 1e-8
            rounds = len(info["probe_s"])
            drift = [1 + 0.01 * (k % 7) for k in range(rounds)]  # the machine's, shared by a round
            steps = {name: factor ** order.index(name) for name in info["times_s"]}
            for name, step in steps.items():
                info["times_s"][name] = [scale * step * d for d in drift]
            info["probe_s"] = [0.5 * scale * min(steps.values()) * d for d in drift]
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


def race_at(raw: dict, size: tuple[int, int], dtype: str = "float64", threads: str = "all") -> dict:
    """The side-by-side record of ``raw`` at a point (its ``extra_info``, to edit in place)."""
    return next(
        b["extra_info"]
        for b in raw["benchmarks"]
        if b["extra_info"]["kind"] == "head_to_head"
        and (b["extra_info"]["m"], b["extra_info"]["n"]) == tuple(size)
        and (b["extra_info"]["dtype"], b["extra_info"].get("threads_setting", "all")) == (dtype, threads)
    )


def set_rounds(race: dict, name: str, seconds) -> None:
    """Set a rung's (or, for ``roofline``, the probe's) seconds per round in a side-by-side record,
    ``seconds(k)`` for round k of all its processes' rounds in order."""
    values = [float(seconds(k)) for k in range(len(race["probe_s"]))]
    if name == "roofline":
        race["probe_s"] = values
    else:
        race["times_s"][name] = values


def reshape_race(race: dict, per_process: list[int]) -> None:
    """Give a side-by-side record ``per_process`` rounds in each of its processes (every rung's and
    the probe's rounds repeated in turn to fill them)."""
    total = sum(per_process)
    race["process_rounds"] = list(per_process)
    race["race_rounds"] = total
    race["probe_s"] = [race["probe_s"][k % len(race["probe_s"])] for k in range(total)]
    for name, values in race["times_s"].items():
        race["times_s"][name] = [values[k % len(values)] for k in range(total)]


def race_records(results_file: Path) -> list[dict]:
    """The head-to-head records of the results file (there must be some)."""
    raw = json.loads(results_file.read_text())
    races = [b["extra_info"] for b in raw["benchmarks"] if b["extra_info"]["kind"] == "head_to_head"]
    assert races
    return races


def prose_words(markdown: str) -> int:
    """Words of prose: code blocks, formulas, comments, tables and link targets left out."""
    text = re.sub(r"```.*?```|\$\$.*?\$\$|<!--.*?-->", " ", markdown, flags=re.S)
    text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("|"))
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)|\]\([^)]*\)", " ", text)
    return len(re.findall(r"[A-Za-z0-9][\w'’.-]*", text))


def links_of(page: Path) -> list[str]:
    return [t for t in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()) if "://" not in t]
