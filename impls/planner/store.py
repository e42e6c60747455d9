"""The wisdom file: the plans measured on this machine, kept across processes.

One JSON file (``wisdom.json`` in the ladder's cache folder; ``LADDER_WISDOM`` moves it) holding
a version and the entries by key. Writes are atomic (a temporary file, then a rename) and, where
the system offers ``flock``, serialized between processes, so two processes planning at once
both keep their plans. The file is an optimisation: one that cannot be read is ignored with a
warning, one that cannot be written keeps this process's plans in memory with a warning, and a
damaged one is replaced by the next write.
"""

from __future__ import annotations

import json
import os
import warnings
from contextlib import contextmanager
from pathlib import Path

from impls._cache_paths import cache_root

#: Bumped whenever what an entry means changes: entries of other versions are measured again.
VERSION = 10


class WisdomWarning(UserWarning):
    """The wisdom file could not be read or written; planning goes on without it."""


#: Entries this process could not write, by file: still used by this process.
_UNSAVED: dict[str, dict[str, dict]] = {}
#: Files already warned about: a problem with the wisdom is said once per file and process.
_WARNED: set[str] = set()


def path() -> Path:
    """``LADDER_WISDOM`` if set, else ``wisdom.json`` in the ladder's cache folder."""
    override = os.environ.get("LADDER_WISDOM")
    return Path(override) if override else cache_root() / "wisdom.json"


ADVICE = "set LADDER_WISDOM to a writable file, or LADDER_PLANNING=estimate not to measure"


def _warn(where: Path, what: str, consequence: str) -> None:
    if str(where) not in _WARNED:
        _WARNED.add(str(where))
        warnings.warn(f"numba_tuned: {what} {where}; {consequence} ({ADVICE})", WisdomWarning, stacklevel=4)


def read(where: Path | None = None) -> dict[str, dict]:
    """Every entry of the wisdom file (default: :func:`path`) and of this process's unsaved plans."""
    where = where or path()
    unsaved = _UNSAVED.get(str(where), {})
    try:
        data = json.loads(where.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return dict(unsaved)
    except (OSError, ValueError, RecursionError) as exc:  # unreadable, not text, not JSON
        _warn(where, "ignoring the wisdom in", f"it is not readable wisdom ({exc}): plans are measured again")
        return dict(unsaved)
    if not isinstance(data, dict) or data.get("version") != VERSION:
        return dict(unsaved)  # another version's plans: measured again, replaced on the next write
    entries = data.get("entries")
    if not isinstance(entries, dict):
        _warn(where, "ignoring the wisdom in", "it holds no entries: plans are measured again")
        return dict(unsaved)
    return {**{k: v for k, v in entries.items() if isinstance(v, dict)}, **unsaved}


def save(key: str, entry: dict, where: Path | None = None) -> None:
    """Add one entry to the wisdom file (default: :func:`path`), keeping what other processes wrote
    meanwhile."""
    update(key, lambda current: entry, where)


def update(key: str, change, where: Path | None = None) -> dict | None:
    """Replace one entry by ``change(entry now in the file, or None)`` under the file's lock, so that
    what another process wrote meanwhile is seen; ``change`` returning None leaves the file as it
    is. Returns the entry the file holds afterwards (this process's copy where it cannot write)."""
    where = where or path()
    try:
        with _locked(where):
            entries = read(where)
            changed = change(entries.get(key))
            if changed is None:
                return entries.get(key)
            entries[key] = changed
            _write(where, entries)
            return changed
    except OSError as exc:
        changed = change(_UNSAVED.get(str(where), {}).get(key))
        if changed is not None:
            _UNSAVED.setdefault(str(where), {})[key] = changed
        _warn(where, "cannot write its wisdom to", f"{exc.strerror or exc}: plans are kept in memory only")
        return changed


def _write(where: Path, entries: dict[str, dict]) -> None:
    where.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"version": VERSION, "entries": entries}, indent=1, sort_keys=True)
    temporary = where.with_name(f".{where.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, where)  # readers see the old file or the new one, never half of one
    finally:
        temporary.unlink(missing_ok=True)


@contextmanager
def _locked(where: Path):
    """Hold an exclusive lock on ``<file>.lock`` beside the wisdom (where ``fcntl`` exists)."""
    try:
        import fcntl
    except ImportError:  # not a POSIX system: atomic replace alone
        yield
        return
    where.parent.mkdir(parents=True, exist_ok=True)
    with open(where.with_name(where.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def entries() -> list[dict]:
    """Every remembered plan on this machine: key, choice, and the timings behind it."""
    return list(read().values())


def forget() -> bool:
    """Delete the wisdom file (and this process's unsaved plans). True if there was a file."""
    where = path()
    _UNSAVED.pop(str(where), None)
    try:
        where.unlink()
    except FileNotFoundError:
        return False
    return True
