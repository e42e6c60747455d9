"""The ladder a results file timed: its rungs in order, their roles, code and planner settings.

A run of format 2 records all of it (``bench/suite/describe.py`` wrote it beside the timings). A run
of format 1 did not; for those, ``legacy_v1.json`` says what the registry was when format 1
ended, and their code is not shown. The report learns every rung label and role from here,
never from the code of today.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: The newest format this report reads (bench/suite/describe.py's RESULTS_VERSION).
NEWEST = 2
LEGACY = Path(__file__).with_name("legacy_v1.json")


class LadderError(ValueError):
    """The results file's record of the ladder is malformed; the message says where."""


@dataclass(frozen=True)
class RungInfo:
    """One rung as the run timed it."""

    name: str
    summary: str
    code: str  # its core functions, as timed ("" where not recorded)
    uses_threads: str | None
    jit: bool
    dtypes: tuple[str, ...] = ("float64", "float32")
    helpers: tuple[tuple[str, str], ...] = ()  # (qualified name, source) of the helpers the code calls


@dataclass(frozen=True)
class Ladder:
    """The registry of a run: rungs in teaching order, the roles the report needs, planner settings."""

    version: int
    order: tuple[str, ...]
    baseline: str
    reference: str
    planned: str
    one_process: str
    peers: tuple[str, ...]
    distributed: tuple[str, ...]
    rungs: dict[str, RungInfo]
    aliases: dict[str, str] = field(default_factory=dict)
    planner: dict[str, Any] = field(default_factory=dict)

    @property
    def code_recorded(self) -> bool:
        return self.version >= 2

    def info(self, name: str) -> RungInfo | None:
        return self.rungs.get(name)

    def threaded(self, name: str) -> bool:
        info = self.rungs.get(name)
        return bool(info and info.uses_threads)

    def rule_of_thumb(self, n: int, itemsize: int) -> str | None:
        """The planned rung's plan without measuring, by format 1's rule (format 2 records it)."""
        rule = self.planner.get("legacy_rule_of_thumb")
        if not rule:
            return None
        rows = next(r for least, r in rule["block_rows"] if n * itemsize >= least)
        return f"blocked-r{rows}-pf{rule['ahead_bytes']}"


def _expect(value: Any, kind: type | tuple, where: str) -> Any:
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise LadderError(f"'ladder' {where} must be {getattr(kind, '__name__', kind)}, got {value!r:.80}")
    return value


def _strings(value: Any, where: str) -> tuple[str, ...]:
    return tuple(_expect(v, str, f"{where} item") for v in _expect(value, list, where))


def _rung(name: str, record: Any, code_recorded: bool) -> RungInfo:
    record = _expect(record, dict, f"rungs[{name!r}]")
    threads = record.get("uses_threads")
    return RungInfo(
        name=name,
        summary=_expect(record.get("summary"), str, f"rungs[{name!r}].summary"),
        code=_expect(record.get("code", ""), str, f"rungs[{name!r}].code") if code_recorded else "",
        uses_threads=None if threads is None else _expect(threads, str, f"rungs[{name!r}].uses_threads"),
        jit=_expect(record.get("jit", False), bool, f"rungs[{name!r}].jit"),
        dtypes=_strings(record.get("dtypes", ["float64", "float32"]), f"rungs[{name!r}].dtypes"),
        helpers=_helpers(record.get("helpers", []), f"rungs[{name!r}].helpers") if code_recorded else (),
    )


def _helpers(value: Any, where: str) -> tuple[tuple[str, str], ...]:
    helpers = []
    for item in _expect(value, list, where):
        item = _expect(item, dict, f"{where} item")
        helpers.append(
            (_expect(item.get("name"), str, f"{where}.name"), _expect(item.get("code"), str, f"{where}.code"))
        )
    return tuple(helpers)


def from_record(record: Any, version: int, planner: dict | None = None) -> Ladder:
    """The ladder from a results file's ``ladder`` record (LadderError if it is malformed)."""
    record = _expect(record, dict, "record")
    roles = _expect(record.get("roles"), dict, "roles")
    order = _strings(record.get("order"), "order")
    rungs = _expect(record.get("rungs"), dict, "rungs")
    missing = [name for name in order if name not in rungs]
    if missing:
        raise LadderError(f"'ladder' order names rungs it does not describe: {', '.join(missing)}")
    ladder = Ladder(
        version=version,
        order=order,
        **{role: _expect(roles.get(role), str, f"roles.{role}") for role in _ROLES},
        peers=_strings(roles.get("peers", []), "roles.peers"),
        distributed=_strings(roles.get("distributed", []), "roles.distributed"),
        rungs={name: _rung(name, rungs[name], version >= 2) for name in order},
        aliases={
            k: _expect(v, str, f"aliases.{k}")
            for k, v in _expect(record.get("aliases", {}), dict, "aliases").items()
        },
        planner=_planner(record.get("planner", {})) if planner is None else planner,
    )
    for role in _ROLES:
        if getattr(ladder, role) not in ladder.rungs:
            raise LadderError(
                f"'ladder' role {role} names {getattr(ladder, role)!r}, which it does not describe"
            )
    return ladder


_ROLES = ("baseline", "reference", "planned", "one_process")


def _planner(record: Any) -> dict:
    """The planner's settings, flat: its rules (older runs: its race's) beside the others; each a
    number, a string, a flag or a list of names."""
    flat = dict(_expect(record, dict, "planner"))
    for group in ("rules", "race"):
        flat.update(_expect(flat.pop(group, {}), dict, f"planner.{group}"))
    for name, value in flat.items():
        if isinstance(value, list):
            _strings(value, f"planner.{name}")
        elif value is not None and not isinstance(value, bool):
            _expect(value, int | float | str, f"planner.{name}")
    return flat


def legacy(machine: dict) -> Ladder:
    """The ladder of a format-1 run: the registry when format 1 ended, the planner settings its
    machine information carried, and no code."""
    text = json.loads(LEGACY.read_text(encoding="utf-8"))
    planner = {
        new: machine[old] for old, new in text["planner_fields"].items() if machine.get(old) is not None
    }
    if machine.get("last_level_cache_bytes") is not None:
        planner["last_level_cache_bytes"] = machine["last_level_cache_bytes"]
    planner["legacy_rule_of_thumb"] = text["rule_of_thumb"]
    return from_record(text, version=1, planner=planner)


def renamed_fields() -> dict[str, str]:
    """Benchmark fields format 1 wrote under other names: old name -> name now."""
    return json.loads(LEGACY.read_text(encoding="utf-8"))["renamed_fields"]
