"""numba_tuned's wisdom from the command line: what was chosen, the timings behind it, forgetting it.

python -m impls.wisdom show                    # every remembered plan, candidates by speed
python -m impls.wisdom plan 100 --dtype float32  # plan for rows of 100 features (measures if new)
python -m impls.wisdom plan 100 --rows 5000      # ... for X of 5000 rows (in cache: its own plan)
python -m impls.wisdom forget                  # delete the wisdom; the next use measures again
"""

from __future__ import annotations

import argparse
import sys

from impls.numba_tuned import DATA_WORDS, PREFER_PREFETCH, SIGNIFICANCE, forget, plan, wisdom, wisdom_path


def _preferred(entry: dict) -> str:
    """Why the choice is not the fastest finalist, where it is not."""
    fastest = entry.get("fastest", entry["choice"])
    challenger = entry.get("challenger", entry["choice"])
    why = []
    if fastest != challenger:
        why.append(
            f"{challenger} prefetches and is within {PREFER_PREFETCH:.0%} of the fastest finalist, {fastest}"
        )
    if challenger != entry["choice"]:
        why.append(
            f"the rule of thumb, kept: {challenger} was not faster in significantly many rounds"
            f", sign test p = {entry['sign_test_p']:.2f} > {SIGNIFICANCE}"
        )
    elif entry.get("estimate", challenger) != challenger:
        why.append(
            f"faster than the rule of thumb, {entry['estimate']}, in significantly many rounds,"
            f" sign test p = {entry['sign_test_p']:.2g}"
        )
    return f" ({'; '.join(why)})" if why else ""


def _show(entries: list[dict]) -> str:
    if not entries:
        return f"no wisdom in {wisdom_path()}"
    lines = [f"wisdom in {wisdom_path()}:"]
    for entry in sorted(
        entries,
        key=lambda e: (e["key"]["dtype"], e["key"]["row_class"], e["key"]["threads"], e["key"]["data"]),
    ):
        key, median, rounds_of = entry["key"], entry["median_s"], entry["rounds_of"]
        lines.append(
            f"\n{key['dtype']}, rows of {key['row_class']}+ bytes, {key['threads']} thread(s),"
            f" X {DATA_WORDS.get(key['data'], key['data'])}"
            f" on {key['cpu_model']} ({key['cpu']}): {entry['choice']}{_preferred(entry)}"
            f"  [measured at n={entry['measured_n']}, {entry['rounds']} rounds,"
            f" {entry['measuring_s']:.2f} s of timing, {entry['when']}]"
        )
        # the finalists first (they ran every round), then the rest in the order they were dropped
        order = sorted(median, key=lambda name: (-rounds_of[name], median[name]))
        fastest = median[entry["choice"]]
        for name in order:
            lines.append(
                f"  {name:<20} {median[name] * 1e3:9.3f} ms/epoch (median of {rounds_of[name]:>2})"
                f"  {fastest / median[name]:6.1%} of the choice"
                f"  best {entry['best_s'][name] * 1e3:9.3f} ms"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m impls.wisdom", description="numba_tuned's wisdom")
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
        print(_show(wisdom()))
    elif args.command == "forget":
        print(f"forgot {wisdom_path()}" if forget() else f"no wisdom in {wisdom_path()}")
    else:
        if args.n < 1:
            parser.error(f"N must be >= 1, got {args.n}")
        if args.rows is not None and args.rows < 1:
            parser.error(f"--rows must be >= 1, got {args.rows}")
        chosen = plan(args.n, args.dtype, args.threads, mode="measure", m=args.rows)
        print(f"{chosen.candidate.name} ({chosen.source})")
        if chosen.entry:
            print(_show([chosen.entry]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
