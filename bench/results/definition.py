"""What a benchmark timed, as against what it measured: the fields of its record that define it,
and a digest of them.

Two files' benchmarks of one name are a change in speed only where they timed the same thing: the
same rung at the same size m × n and dtype, on as many threads, with as many epochs in a timed
round, and the same design of round (the reads of X in a probe's turn, the rungs of a
race, the tolerance a time to the optimum runs to, the dask rung's blocks). Every one of these is in
the benchmark's ``extra_info``, so the reader computes the definition from any file, old ones
included; a field an older file did not record takes the value the schema documents for its
absence, or stays unknown (and is then not compared).
"""

from __future__ import annotations

import hashlib
import json

#: Every kind: what ran, at which size and dtype, on how many threads, for how many epochs a round.
COMMON = ("kind", "rung", "m", "n", "dtype", "epochs", "threads", "threads_setting")
#: What else defines a kind's timed round (the measured values, such as steps or errors, never do).
BY_KIND = {
    "paired": ("probe_threads", "probe_reads"),
    "head_to_head": ("probe_threads", "ladder"),  # its rounds are what its time budget gave: measured
    "optimum": ("method", "tolerance", "relative"),
    "curve": ("tolerance",),
    "distributed": ("way", "blocks", "default_blocks", "processes", "store_codecs"),
}
#: The value a field has in files written before it was recorded (bench/results/schema.py).
ABSENT = {"probe_reads": 1, "relative": False, "processes": False}


def of(row: dict, aliases: dict[str, str] | None = None) -> dict:
    """A benchmark's definition: its defining fields as read (``bench.results.schema.read``), the
    ones it does not record left out. ``aliases`` maps old rung labels to current ones."""
    aliases = aliases or {}
    out = {}
    for name in COMMON + BY_KIND.get(row.get("kind"), ()):
        value = row.get(name)
        if value is None:
            value = ABSENT.get(name)
        if value is None:
            continue
        if name == "ladder":
            value = sorted(aliases.get(rung, rung) for rung in value)
        out[name] = value
    return out


def digest(definition: dict) -> str:
    """A short digest of a definition: equal digests, the same thing timed."""
    text = json.dumps(definition, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _value(value) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"


def differences(base: dict, new: dict) -> list[str]:
    """What changed between two definitions, in words ("epochs 56 → 60"); fields only one records
    are not compared (see :func:`unknown`)."""
    out = []
    for name in base:
        if name not in new or base[name] == new[name]:
            continue
        if name == "ladder":
            added = [f"+{r}" for r in new[name] if r not in base[name]]
            out.append(f"ladder {' '.join(added + [f'−{r}' for r in base[name] if r not in new[name]])}")
        else:
            out.append(f"{name} {_value(base[name])} → {_value(new[name])}")
    return out


def unknown(base: dict, new: dict) -> list[str]:
    """The defining fields one definition records and the other does not."""
    return sorted(set(base) ^ set(new))
