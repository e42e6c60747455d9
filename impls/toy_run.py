"""The seed's toy run on every rung, side by side.

    python -m impls.toy_run                 # all rungs
    python -m impls.toy_run numpy numba     # chosen rungs

Three examples with one feature, X = [[1], [2], [3]], y = [0, 1, 1], trained from zero
for 100 epochs at lr = 0.1; the cost is printed every 10 epochs, then the trained
weight and bias. Exits with status 1 if the rungs disagree at the printed precision.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

from impls import IMPLEMENTATIONS

TOY_X = np.array([[1.0], [2.0], [3.0]])
TOY_Y = np.array([0, 1, 1])
TOY_LR = 0.1
TOY_EPOCHS = 100
PRINT_EVERY = 10


def toy_lines(name: str) -> list[str]:
    """The printed column of one rung: the cost every 10 epochs, then w and b."""
    result = IMPLEMENTATIONS[name].fit(TOY_X, TOY_Y, lr=TOY_LR, epochs=TOY_EPOCHS)
    lines = [f"{cost:.4f}" for cost in result.costs[::PRINT_EVERY]]
    lines += [f"{w:.6f}" for w in result.w]
    lines.append(f"{result.b:.6f}")
    return lines


def render(names: list[str]) -> tuple[str, bool]:
    """The side-by-side table, and whether every rung printed the same numbers."""
    columns = {name: toy_lines(name) for name in names}
    labels = [f"cost at epoch {e}" for e in range(0, TOY_EPOCHS, PRINT_EVERY)]
    labels += [f"trained w[{j}]" for j in range(TOY_X.shape[1])] + ["trained b"]
    width = max(len(label) for label in labels)
    cell = max(14, *(len(name) for name in names))
    header = " " * width + "".join(f"  {name:>{cell}}" for name in names)
    rows = [header]
    for k, label in enumerate(labels):
        rows.append(f"{label:<{width}}" + "".join(f"  {columns[n][k]:>{cell}}" for n in names))
    agree = all(columns[n] == columns[names[0]] for n in names)
    return "\n".join(rows), agree


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "rungs",
        nargs="*",
        metavar="RUNG",
        help=f"rungs to run (default: all of {', '.join(IMPLEMENTATIONS)})",
    )
    args = parser.parse_args(argv)
    unknown = [name for name in args.rungs if name not in IMPLEMENTATIONS]
    if unknown:
        parser.error(f"unknown rung(s): {', '.join(unknown)}; choose from {', '.join(IMPLEMENTATIONS)}")
    names = args.rungs or list(IMPLEMENTATIONS)
    table, agree = render(names)
    print(f"Toy run: X = [[1], [2], [3]], y = [0, 1, 1], lr = {TOY_LR}, {TOY_EPOCHS} epochs, from zero\n")
    print(table)
    if len(names) > 1:
        print("\nall rungs agree at the printed precision" if agree else "\nRUNGS DISAGREE (see above)")
    return 0 if agree else 1


def run_quietly_on_closed_pipe(argv: list[str] | None = None) -> int:
    """``main``, exiting quietly when the reader of stdout goes away (``... | head -1``)."""
    try:
        code = main(argv)
        sys.stdout.flush()
    except BrokenPipeError:
        # Python would report the failed flush at exit; point stdout at nothing first.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return code


if __name__ == "__main__":
    sys.exit(run_quietly_on_closed_pipe())
