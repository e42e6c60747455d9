"""The code a page shows with its steps: each step's functions, and the helpers they call that no earlier
step of the page showed."""

from __future__ import annotations

import re
from dataclasses import replace

from bench.report.facts.rungs import RungFacts


def teaching_code(steps: list[RungFacts], leave_out: tuple[str, ...] = ()) -> list[RungFacts]:
    """The steps of a page with each one's code and, after it, the helpers it calls that no earlier
    step of the page showed; ``shown_above`` names the others. Helpers named in ``leave_out`` (by
    their last name) are not listed: the page describes them and names their file."""
    shown: set[str] = set()
    out = []
    for facts in steps:
        new = [
            (name, code)
            for name, code in facts.helpers
            if name not in shown and name.rsplit(".", 1)[-1] not in leave_out
        ]
        above = [name.rsplit(".", 1)[-1] for name, _ in facts.helpers if name in shown]
        shown |= {name for name, _ in facts.helpers}
        blocks = [block for block in facts.code.split("\n\n\n") if _defines(block) not in leave_out]
        code = "\n\n\n".join([*blocks, *(code for _, code in new)]) if facts.code else ""
        out.append(replace(facts, code=code, shown_above=above))
    return out


def _defines(block: str) -> str | None:
    """The name of the function a block of source defines (after its decorators), if it is one."""
    found = re.search(r"^def (\w+)\(", block, re.M)
    return found.group(1) if found else None
