"""The shallow network's page: this machine's roofline, every rung at every h placed on it, and
the width where the ladder turns over, each comparison a side-by-side ratio with its interval.

Reads only the records of a results file the loader set aside for this workload; imports no code
of the ladder. The arithmetic intensity of an epoch is counted against one read of X (2h
multiply-adds per number of X): a rung that reads X twice, or more, sits lower than its point
suggests, which is what the page shows.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import jinja2
import numpy as np

import ladderstats
from bench.report import glossary
from bench.report.fmt import FILTERS, machine_footer, said, table
from bench.workloads import Workload
from bench.workloads.shallow import NAME, PRODUCT, READ, check

PAGE = "roofline.md"
CHART = "fig_roofline.png"
FUSED = "numba_fused"  # one pass over X an epoch, every product in a hand-written loop
BLAS = ("numba_blas", "numpy_vectorized", "torch")  # the products with X in BLAS (torch: its own)
HEADERS = [
    "h",
    "rung",
    "epoch (median)",
    "G multiply-adds/s",
    "GB of X/s",
    "of the ceiling",
    f"against `{FUSED}`",
]


@dataclass(frozen=True)
class Width:
    """One hidden width's rounds: each name's seconds, one list per fresh process."""

    hidden: int
    m: int
    n: int
    itemsize: int
    macs: int  # multiply-adds of an epoch's products with X
    product_macs: int
    ladder: tuple[str, ...]  # the rungs that ran in every process
    rounds: dict  # rung, READ or PRODUCT -> [[seconds, ...] per process]
    ratios: dict = dataclasses.field(default_factory=dict, compare=False, repr=False)  # made once each

    def median(self, name: str) -> float:
        return float(np.median([t for process in self.rounds[name] for t in process]))

    def rate(self, name: str) -> float:
        """Multiply-adds per second: of an epoch for a rung, of the product for PRODUCT."""
        if name == PRODUCT:
            return self.product_macs / self.median(PRODUCT)
        return self.macs / self.median(name)

    @property
    def intensity(self) -> float:
        """Multiply-adds per byte of X read once: 2h over the bytes of one number."""
        return self.macs / (self.m * self.n * self.itemsize)


def widths(records: list[dict]) -> list[Width]:
    """The records' passes joined by hidden width, narrowest first."""
    by_h: dict[int, list[dict]] = {}
    for bench in records:
        info = check(bench.get("extra_info") or {}, bench.get("name", "a shallow benchmark"))
        by_h.setdefault(info["hidden"], []).append(info)
    out = []
    for h, infos in sorted(by_h.items()):
        infos = sorted(infos, key=lambda i: i["side_pass"])
        ladder = tuple(name for name in infos[0]["ladder"] if all(name in i["times_s"] for i in infos))
        rounds = {name: [list(i["times_s"][name]) for i in infos] for name in ladder}
        rounds[READ] = [list(i["probe_s"]) for i in infos]
        rounds[PRODUCT] = [list(i["product_s"]) for i in infos]
        first = infos[0]
        out.append(
            Width(
                h,
                first["m"],
                first["n"],
                first["bytes_x"] // (first["m"] * first["n"]),
                first["macs_per_epoch"],
                first["product_macs"],
                ladder,
                rounds,
            )
        )
    return out


@dataclass(frozen=True)
class Said:
    """A comparison between two rungs at one width, worded from its side-by-side ratio."""

    ratio: ladderstats.Ratio  # a's epoch over b's
    a: str
    b: str

    against_probe = False  # a pair of rungs: worded by the report's own filters (bench.report.fmt)

    @property
    def verdict(self) -> str:
        return self.ratio.verdict()  # "slower": a takes longer

    @property
    def numbers(self) -> tuple[float, float, float]:
        """The longer epoch over the shorter, as every page states a pair, with its interval."""
        r = self.ratio
        return (r.estimate, r.low, r.high) if r.estimate >= 1 else (1 / r.estimate, 1 / r.high, 1 / r.low)


def compare(width: Width, a: str, b: str) -> Said:
    """``a`` against ``b`` at ``width``: one ratio per pair, measured once in the pair's name order
    and turned round for the other, so that the pair reads the same wherever the page states it."""
    first, second = sorted((a, b))
    r = _measured(width, first, second)
    if (a, b) != (first, second):
        r = dataclasses.replace(r, estimate=1 / r.estimate, low=1 / r.high, high=1 / r.low)
    return Said(r, a, b)


def _measured(width: Width, a: str, b: str) -> ladderstats.Ratio:
    if (a, b) not in width.ratios:
        width.ratios[a, b] = ladderstats.side_by_side(width.rounds[a], width.rounds[b])
    return width.ratios[a, b]


@dataclass(frozen=True)
class Roofline:
    widths: list[Width]
    bandwidth: float  # bytes of X per second, the probe's median read over every round
    bandwidth_range: tuple[float, float]  # its per-process medians' range
    peak: float  # multiply-adds per second of the BLAS product, median over every round
    peak_range: tuple[float, float]

    @property
    def ridge(self) -> float:
        """The intensity (multiply-adds per byte) where the two ceilings meet."""
        return self.peak / self.bandwidth

    def ceiling(self, intensity: float) -> float:
        return min(self.peak, self.bandwidth * intensity)


def roofline(ws: list[Width]) -> Roofline:
    reads = [(w.m * w.n * w.itemsize) / t for w in ws for p in w.rounds[READ] for t in p]
    rates = [w.product_macs / t for w in ws for p in w.rounds[PRODUCT] for t in p]
    read_p = [w.m * w.n * w.itemsize / float(np.median(p)) for w in ws for p in w.rounds[READ]]
    rate_p = [w.product_macs / float(np.median(p)) for w in ws for p in w.rounds[PRODUCT]]
    return Roofline(
        ws,
        float(np.median(reads)),
        (min(read_p), max(read_p)),
        float(np.median(rates)),
        (min(rate_p), max(rate_p)),
    )


def turnover(ws: list[Width]) -> dict | None:
    """Where the fused pass stops leading and BLAS starts: the widest h at which the fused rung is
    surely faster than the better BLAS rung there, and the narrowest h from which a BLAS rung is
    surely faster at every wider h; None where the run lacks the rungs."""
    rows = []
    for w in ws:
        blas = [name for name in BLAS if name in w.ladder]
        if FUSED not in w.ladder or not blas:
            continue
        best = min(blas, key=w.median)
        rows.append((w.hidden, compare(w, FUSED, best)))
    if not rows:
        return None
    fused_up_to = max((h for h, s in rows if s.verdict == "faster"), default=None)
    blas_from = None
    for h, s in reversed(rows):
        if s.verdict != "slower":
            break
        blas_from = h
    return {"rows": rows, "fused_up_to": fused_up_to, "blas_from": blas_from}


#: The fused loop's rate "stays" over the widths past the turnover where its highest is at most this
#: many times its lowest: the page then says it does not grow with h.
FLAT = 1.5


def plateau(ws: list[Width], turn: dict | None) -> dict | None:
    """The fused rung's multiply-adds per second past the widest h where it led, where they stay
    within FLAT of each other, beside the better BLAS rung's at the widest h; None otherwise."""
    if not turn or turn["fused_up_to"] is None:
        return None
    past = [w for w in ws if w.hidden > turn["fused_up_to"] and FUSED in w.ladder]
    blas = [name for name in BLAS if name in ws[-1].ladder]
    if len(past) < 2 or not blas:
        return None
    rates = [w.rate(FUSED) for w in past]
    if max(rates) > FLAT * min(rates):
        return None
    best = max(blas, key=ws[-1].rate)
    return {
        "from_h": past[0].hidden,
        "low": min(rates),
        "high": max(rates),
        "blas": best,
        "blas_top": ws[-1].rate(best),
    }


def facts(records: list[dict], machine: dict, datetime: str) -> dict:
    ws = widths(records)
    roof = roofline(ws)
    itemsize = ws[0].itemsize
    rungs = [name for name in dict.fromkeys(n for w in ws for n in w.ladder)]
    rows = []
    for w in ws:
        for name in w.ladder:
            rate = w.rate(name)
            rows.append(
                [
                    f"{w.hidden}",
                    f"`{name}`",
                    FILTERS["time"](w.median(name)),
                    f"{rate / 1e9:.2f}",
                    f"{w.m * w.n * w.itemsize / w.median(name) / 1e9:.1f}",
                    f"{rate / roof.ceiling(w.intensity):.0%}",
                    said(compare(w, name, FUSED)) if name != FUSED and FUSED in w.ladder else "",
                ]
            )
    return {
        "first": ws[0],
        "widths": [w.hidden for w in ws],
        "rungs": rungs,
        "roof": roof,
        "ridge_h": roof.ridge * itemsize / 2,  # the h whose intensity 2h / itemsize is the ridge
        "turn": (turn := turnover(ws)),
        "plateau": plateau(ws, turn),
        "processes": max(len(w.rounds[READ]) for w in ws),
        "llc": machine.get("last_level_cache_bytes"),
        "table": table(
            rows,
            HEADERS,
        ),
        "fused": FUSED,
        "blas": [name for name in BLAS if name in rungs],  # those this run timed
        "footer": machine_footer(machine, datetime),
    }


def chart(f: dict):
    """The roofline: the lower of the two measured limits, each rung at each h by its intensity and
    rate, the ridge, and the widths between which the ladder turned over."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    from bench.report.charts.style import DPI, STYLES, WIDTH_IN

    roof: Roofline = f["roof"]
    itemsize = roof.widths[0].itemsize
    fig, ax = plt.subplots(figsize=(WIDTH_IN, 5.6), dpi=DPI)
    xs = [w.intensity for w in roof.widths]
    grid = np.geomspace(min(xs) / 2, max(max(xs), roof.ridge) * 2, 200)
    ax.plot(
        grid,
        [roof.ceiling(x) / 1e9 for x in grid],
        color="#000000",
        linewidth=2,
        label="the roof: the lower limit",
    )
    ax.plot(
        grid,
        [roof.bandwidth * x / 1e9 for x in grid],
        color="#000000",
        linestyle=":",
        linewidth=0.8,
        label=f"reading X: {roof.bandwidth / 1e9:.1f} GB/s × multiply-adds per byte",
    )
    ax.plot(
        grid,
        [roof.peak / 1e9] * len(grid),
        color="#000000",
        linestyle="--",
        linewidth=0.8,
        label=f"BLAS product: {roof.peak / 1e9:.1f} G multiply-adds/s",
    )
    ax.axvline(roof.ridge, color="#777777", linewidth=0.8)
    ax.annotate(
        f"ridge, h ≈ {f['ridge_h']:.0f}",
        (roof.ridge, roof.peak / 1e9),
        textcoords="offset points",
        xytext=(4, 6),
        fontsize=8,
        color="#555555",
    )
    turn = f["turn"]
    if turn and turn["fused_up_to"] is not None and turn["blas_from"] is not None:
        ax.axvspan(
            turn["fused_up_to"] * 2 / itemsize,
            turn["blas_from"] * 2 / itemsize,
            color="#dddddd",
            zorder=0,
            label=f"turnover: between h = {turn['fused_up_to']} and {turn['blas_from']}",
        )
    for k, name in enumerate(f["rungs"]):
        points = [(w.intensity, w.rate(name) / 1e9) for w in roof.widths if name in w.ladder]
        ax.plot(*zip(*points, strict=True), label=name, **STYLES[k % len(STYLES)].line_kwargs())
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_ylim(top=roof.peak / 1e9 * 4)  # the memory's limit runs on past the roof: cut it there
    ax.set_xticks(xs, labels=[f"{w.hidden}\n{w.intensity:g}" for w in roof.widths])
    ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    ax.set_xlabel(
        f"hidden units h, above multiply-adds per byte of X (2h per {itemsize}-byte number, read once)"
    )
    ax.set_ylabel("billions of multiply-adds per second")
    ax.set_title("The shallow network on this machine's roofline")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)
    fig.text(0.01, 0.01, f["footer"], fontsize=7, color="#555555")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig


def write(records: list[dict], machine: dict, datetime: str, out: Path) -> list[Path]:
    """The page and its chart in ``out``."""
    import matplotlib.pyplot as plt

    from bench.report.pages import WrappedLoader

    f = facts(records, machine, datetime)
    fig = chart(f)
    fig.savefig(out / CHART)
    plt.close(fig)
    env = jinja2.Environment(
        loader=WrappedLoader(Path(__file__).parent),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters.update(FILTERS)
    text = env.get_template("page.md.j2").render(**f, chart=CHART)
    title, _, rest = text.partition("\n")
    terms = glossary.terms_line(text)  # the terms it uses, linked, as under every page's title
    text = f"{title}\n\n{terms}\n{rest}" if terms else text
    (out / PAGE).write_text(text.rstrip("\n") + "\n")
    return [out / CHART, out / PAGE]


WORKLOAD = Workload(
    name=NAME,
    page=PAGE,
    title="Where the ladder turns over",
    blurb="week 3's network with one hidden layer, from waiting on memory to waiting on arithmetic, "
    "on this machine's roofline.",
    write=write,
)
