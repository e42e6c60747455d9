"""Which machine a results file comes from: its CPU as py-cpuinfo recorded it (vendor, family, model,
feature flags) and its cores.

Not the brand string alone: a cloud's "AMD EPYC" names Zen 1 (family 23) as well as Zen 4 (family
25, model 17), and a virtual machine may show a brand that hides the model. Two files are of one
machine where all of these agree; a file that recorded no CPU cannot say.
"""

from __future__ import annotations

#: py-cpuinfo's fields that tell CPUs apart (the brand too: it is what a reader recognises).
CPU_FIELDS = ("vendor_id_raw", "brand_raw", "family", "model")
#: Flags named in a difference before the rest are counted.
SHOWN_FLAGS = 6


def of(machine: dict) -> dict | None:
    """The identity of a results file's machine; None where it recorded no CPU."""
    cpu = machine.get("cpu") or {}
    if not cpu:
        return None
    out = {name: cpu.get(name) for name in CPU_FIELDS}
    flags = cpu.get("flags")
    out["flags"] = (
        frozenset(f for f in flags if isinstance(f, str)) if isinstance(flags, list) else frozenset()
    )
    out["cores"] = machine.get("cpu_count")
    return out


def describe(machine: dict) -> str:
    """The machine in one phrase: "AMD EPYC (AuthenticAMD family 25 model 17, 115 flags), 2 cores"."""
    cpu = of(machine)
    if cpu is None:
        return f"{machine.get('processor') or 'unknown CPU'}, {machine.get('cpu_count', '?')} cores"
    return (
        f"{cpu['brand_raw'] or 'unknown CPU'} ({cpu['vendor_id_raw'] or '?'} family {cpu['family']} "
        f"model {cpu['model']}, {len(cpu['flags'])} flags), {cpu['cores'] or '?'} cores"
    )


def _flags(base: frozenset, new: frozenset) -> str:
    changed = [f"+{f}" for f in sorted(new - base)] + [f"−{f}" for f in sorted(base - new)]
    more = f" and {len(changed) - SHOWN_FLAGS} more" if len(changed) > SHOWN_FLAGS else ""
    return f"flags {' '.join(changed[:SHOWN_FLAGS])}{more}"


def differences(base: dict, new: dict) -> list[str] | None:
    """How two machines differ, in words ("family 23 → 25", "flags +avx512f ..."): [] for one
    machine, None where a file records no CPU and so cannot say."""
    a, b = of(base), of(new)
    if a is None or b is None:
        return None
    out = [
        f"{name.removesuffix('_raw')} {a[name]} → {b[name]}"
        for name in (*CPU_FIELDS, "cores")
        if a[name] != b[name]
    ]
    if a["flags"] != b["flags"]:
        out.append(_flags(a["flags"], b["flags"]))
    return out
