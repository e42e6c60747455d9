"""The planned rung's tables as Markdown: its tuning races, its plan at every point, and its races against
the ladder (each comparison the facts' registry's side-by-side ratio)."""

from __future__ import annotations

from bench.report.facts import Facts
from bench.report.facts.machines import cpu_model
from bench.report.facts.planner import paid
from bench.report.fmt import fmt_pct, fmt_size, fmt_time, point_label, setting, table, versus


def tuning(facts: Facts) -> str:
    """The tuning races: the choice on the tuning data, and every candidate's best epoch on the
    benchmark's own data (times only: the candidates were timed interleaved, but only their best
    rounds were kept, and no ratio is formed from best rounds)."""
    rows = []
    for e in facts.tuning:
        land, fastest, slowest = e["landscape_best_s"], e["fastest"], e["slowest"]
        rows.append(
            [
                f"{fmt_size((e['m'], e['n']))}, {setting(e)}",
                f"`{e['tuning_choice']}` ({e['tuning_rounds']} rounds, {e['tuning_measuring_s']:.1f} s)"
                + _against_rule_of_thumb(e),
                f"`{fastest}` {fmt_time(land[fastest])}",
                f"`{e['plan']}` {fmt_time(land[e['plan']])}",
                f"`{slowest}` {fmt_time(land[slowest])}",
            ]
        )
    headers = [
        "size, setting",
        "chosen on the tuning data (timing)",
        "shortest best epoch here",
        "the plan here",
        "longest best epoch here",
    ]
    return table(rows, headers) if rows else ""


def _against_rule_of_thumb(e: dict) -> str:
    """How the race ended against the rule of thumb ("" where the run did not record it)."""
    way, p = e["way"], e.get("tuning_sign_test_p")
    test = f" (sign test p = {p:.2g})" if p is not None else ""
    if way is None:
        return ""
    if way == "same":
        return ": the rule of thumb"
    if way == "kept":
        return f": the rule of thumb, kept against `{e['challenger']}`{test}"
    return f": beat the rule of thumb `{e['tuning_rule_of_thumb']}`{test}"


def settings(facts: Facts) -> str:
    """Every setting of the planner the run recorded, as it recorded them: one generic table."""
    rows = []
    for name, value in facts.planning["planner"].items():
        if isinstance(value, list):  # names: how many, by what comes before a dash (a family)
            families = [str(v).split("-")[0] for v in value]
            value = ", ".join(
                f"{f} ({families.count(f)})" if families.count(f) > 1 else f for f in dict.fromkeys(families)
            )
        rows.append([f"`{name}`", f"{value:g}" if isinstance(value, float) else str(value)])
    return table(rows, ["setting", "value"]) if rows else ""


def _against_hardest(race: dict | None) -> str:
    """The planned rung against the rung hardest to beat in the same rounds ("" where no race ran)."""
    if race is None:
        return ""
    return f"{versus(race['stated'])} `{race['rival']}`"


#: How a race ended against the hardest rival, by the interval of their ratio (``planner.outcome``).
OUTCOMES = {
    "kept within": "kept within {margin}",
    "behind": "**behind by more than {margin}**",
    "undecided": "not told apart from the {margin} margin",
}


def plans(facts: Facts) -> str:
    """Every point of the planned rung: its plan, its time (best round), and its race there."""
    rows = []
    for r in facts.planned_points:
        rows.append(
            [
                fmt_size((r["m"], r["n"])),
                r["dtype"],
                "1" if r["threads_setting"] == "one" else str(int(r["threads"])),
                r["data"] or "?",
                f"`{r['plan']}`" if r["plan"] else "?",
                fmt_time(r["epoch_s"]),
                _against_hardest(r["race"]),
            ]
        )
    planned = facts.ladder.planned
    headers = [
        "size",
        "dtype",
        "threads",
        "X (data class)",
        "plan",
        f"`{planned}` (best round)",
        "same rounds: against the hardest other rung",
    ]
    return table(rows, headers) if rows else ""


def races(facts: Facts) -> str:
    """Every race of the planned rung against the ladder: each rung's median epoch in the same rounds,
    the candidate the planned rung ran, the planned rung against the rung hardest to beat, and how
    that ended against the margin."""
    names = [r for r in facts.ladder.order if any(r in e["medians"] for e in facts.races)]
    margin = fmt_pct(facts.planning["keeping_up"]["margin"])
    rows = []
    for e in facts.races:
        rows.append(
            [
                point_label(*e["where"]),
                e["rounds"],
                *[fmt_time(e["medians"][name]) if name in e["medians"] else "" for name in names],
                f"`{e['plan']}`" if e["plan"] else "?",
                _against_hardest(e),
                OUTCOMES[e["outcome"]].format(margin=margin),
            ]
        )
    headers = [
        "point",
        "rounds",
        *[f"`{name}`" for name in names],
        "plan",
        "against the hardest other rung",
        "",
    ]
    return table(rows, headers) if rows else ""


def confirmed(facts: Facts) -> str:
    """The plans the run ended with: the race's choice on generated data, and the choice on the
    benchmark's own data where it was confirmed there."""
    rows = [
        [
            p["n"],
            p["dtype"],
            p["threads"],
            p["data"],
            f"`{p['race_choice']}`",
            f"`{p['confirmed']}`" if p["confirmed"] else "not confirmed (too few epochs timed)",
            "changed" if p["changed"] else "same",
        ]
        for p in sorted(facts.plans, key=lambda p: (p["dtype"], p["threads"], p["n"], p["data"] or ""))
    ]
    headers = ["n", "dtype", "threads", "X", "race on generated data", "on the benchmark's data", ""]
    return table(rows, headers) if rows else ""


def per_cpu(runs: list[tuple[str, Facts]]) -> str:
    """What planning gained and cost on each run's CPU (``runs``: label and facts), one row a run."""
    rows = []
    for label, run in runs:
        spent = paid(list(run.tuning))
        if spent is None:
            continue
        gains = [
            f"{setting(k['entry'])}: `{k['rule']}` {fmt_time(k['times'][0])}, `{k['plan']}` "
            f"{fmt_time(k['times'][1])}"
            for k in spent["keys"]
            if k["times"] is not None and k["plan"] != k["rule"]
        ]
        kept = f"{spent['rule_kept']} of {spent['rule_known']}" if spent["rule_known"] else "not recorded"
        early = "not recorded" if spent["ended_early"] is None else str(spent["ended_early"])
        rows.append(
            [
                label,
                cpu_model(run.machine),
                len(spent["keys"]),
                kept,
                early,
                "; ".join(gains) or "none",
                f"{fmt_time(spent['spent_median_s'])} (at most {fmt_time(spent['spent_max_s'])})",
            ]
        )
    headers = [
        "run",
        "CPU",
        "keys",
        "plan = rule of thumb",
        "race ended early",
        "where the plan differs: the rule of thumb's epoch, the plan's",
        "measuring a key",
    ]
    return table(rows, headers) if rows else ""
