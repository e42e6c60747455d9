"""The planner's command line: what was chosen and why, planning now, forgetting.

python -m impls.planner show                     # every remembered plan, candidates by speed
python -m impls.planner plan 100 --dtype float32  # plan for rows of 100 features (measures if new)
python -m impls.planner plan 100 --rows 5000      # ... for X of 5000 rows (in cache: its own plan)
python -m impls.planner forget                   # delete the wisdom; the next use measures again
"""

from __future__ import annotations

import argparse
import sys

from impls.planner import key as keys
from impls.planner import planning, race, store


def _why(entry: dict, rules: race.Rules) -> str:
    """Why the choice is not the fastest finalist, where it is not; and the choice on the caller's data."""
    fastest, choice = entry.get("fastest", entry["choice"]), entry["choice"]
    margin = f"{rules.margin:.0%}"
    why = ""
    if fastest != choice and choice == entry.get("rule_of_thumb"):
        why = f" (the rule of thumb, kept: {fastest} was not surely more than {margin} faster)"
    elif fastest != choice:
        why = f" (within {margin} of the fastest finalist, {fastest}: a tie, the first candidate of it)"
    if entry.get("ended") == "kept":
        why += " (nothing surely faster than the rule of thumb: planning stopped early)"
    gain = entry.get("gain")
    if isinstance(gain, dict):
        why += (
            f" (the rule of thumb's epoch was {gain['ratio']:.2f}x the choice's,"
            f" {gain['low']:.2f}-{gain['high']:.2f}, in {gain['rounds']} rounds)"
        )
    confirmed, confirming = entry.get("confirmed"), entry.get("confirming")
    if isinstance(confirmed, dict) and confirmed.get("choice"):
        if confirmed.get("ended") == "alone" and not confirmed.get("rounds"):
            why += "; the race's one finalist, nothing left to confirm on your data"
        else:
            why += f"; on your data: {confirmed['choice']}, after {confirmed.get('rounds', '?')} rounds"
    elif isinstance(confirming, dict):
        why += f"; on your data: confirming, {confirming.get('rounds', 0)} rounds so far"
    return why


def show(entries: list[dict], rules: race.Rules = race.RULES) -> str:
    """The remembered plans as text: per key, the choice and why (by ``rules``), then every
    candidate's timings."""
    if not entries:
        return f"no wisdom in {store.path()}"
    lines = [f"wisdom in {store.path()}:"]
    order = lambda e: (e["key"]["dtype"], e["key"]["n"], e["key"]["threads"], e["key"]["data"])  # noqa: E731
    for entry in sorted(entries, key=order):
        key, median, rounds_of = entry["key"], entry["median_s"], entry["rounds_of"]
        lines.append(
            f"\n{key['dtype']}, rows of n = {key['n']}, {key['threads']} thread(s),"
            f" X {keys.DATA_WORDS.get(key['data'], key['data'])}"
            f" on {key['cpu_model']} ({key['cpu']}): {entry['choice']}{_why(entry, rules)}"
            f"  [measured at n={entry['measured_n']}, {entry['rounds']} rounds,"
            f" {entry['measuring_s']:.2f} s of timing, {entry['when']}]"
        )
        # the finalists first (they ran every round), then the rest in the order they were dropped
        fastest = median[entry["choice"]]
        for name in sorted(median, key=lambda name: (-rounds_of[name], median[name])):
            lines.append(
                f"  {name:<20} {median[name] * 1e3:9.3f} ms/epoch (median of {rounds_of[name]:>2})"
                f"  {fastest / median[name]:6.1%} of the choice"
                f"  best {entry['best_s'][name] * 1e3:9.3f} ms"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m impls.planner", description="numba_tuned's planner")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("show", help="list the remembered plans and the timings behind them")
    commands.add_parser("forget", help="delete the wisdom file")
    planner = commands.add_parser("plan", help="plan (measuring unless remembered) for rows of N features")
    planner.add_argument("n", type=int)
    planner.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    planner.add_argument("--threads", type=int, default=None)
    planner.add_argument("--rows", type=int, default=None, help="rows of X (default: X beyond the caches)")
    args = parser.parse_args(argv)
    if args.command == "show":
        print(show(store.entries()))
    elif args.command == "forget":
        try:
            print(f"forgot {store.path()}" if planning.forget() else f"no wisdom in {store.path()}")
        except OSError as exc:
            print(f"error: cannot delete {store.path()}: {exc.strerror or exc}", file=sys.stderr)
            return 1
    else:
        for name, value in (("N", args.n), ("--rows", args.rows), ("--threads", args.threads)):
            if value is not None and value < 1:
                parser.error(f"{name} must be >= 1, got {value}")
        chosen = planning.plan(args.n, args.dtype, args.threads, mode="measure", m=args.rows)
        print(f"{chosen.candidate.name} ({chosen.source})")
        if chosen.entry:
            print(show([chosen.entry]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
