"""The on-disk cache every JIT rung compiles into (``impls/_jit.py``, ``impls/_numba_cache.py``), and
what it does when damaged.

The cache is an optimisation, never a reason to fail. Each case below is met as a user meets
it: files damaged on disk between real processes, folders that cannot be made or written,
processes compiling at once. Every fit must finish with the right answer and say at most once
what was wrong and where; a later process must load what the earlier one repaired. Processes
fit ``numba_loops`` (one kernel, quick to compile) unless a case needs more; each has a
``LADDER_CACHE_DIR`` of its own under ``tmp_path``, never the user's cache.
"""

from __future__ import annotations

import json
import os
import pickle
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numba
import pytest

from impls import IMPLEMENTATIONS, _cache_paths, _jit, _numba_cache, numba_fused
from impls._common import source_digest
from impls.planner import candidates

ROOT = Path(__file__).resolve().parents[2]


def _permission_bits_are_ignored() -> bool:
    """True where this user may write into a folder without write permission (root, as a rule)."""
    with tempfile.TemporaryDirectory() as folder:
        os.chmod(folder, 0o555)
        try:
            with open(os.path.join(folder, "probe"), "w"):
                return True
        except PermissionError:
            return False
        finally:
            os.chmod(folder, 0o755)


IGNORED = _permission_bits_are_ignored()
WITHOUT_PERMISSION_BITS = "this user (root) ignores permission bits: the cases without them run here too"

#: Fits rungs on a small problem and checks each against the float64 reference. Arguments:
#: ``rung:dtype`` to fit, or ``cd=PATH`` to change the working directory before the next fit.
#: Prints which kernels missed the cache, once per compile, how many were loaded from it, and
#: which kernels of the rungs fitted had no disk cache at all (compiled in memory).
_FIT = """
import gc, json, os, sys
from numba.core.dispatcher import Dispatcher
from impls import IMPLEMENTATIONS, relative_error
from impls._numba_cache import LadderCache
from tests.reference import make_problem, reference_fit

if os.environ.get("TEST_FILE_SIZE_LIMIT"):  # what a full disk does: a write past the limit fails
    import resource, signal
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG, not a signal that kills the process
    limit = int(os.environ["TEST_FILE_SIZE_LIMIT"])
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
X, y = make_problem(300, 7, seed=0)
expected = reference_fit(X, y, lr=0.1, epochs=3)
fits = []
for step in sys.argv[1:]:
    if step.startswith("cd="):
        os.chdir(step[3:])
        continue
    name, dtype = step.split(":")
    rung = IMPLEMENTATIONS[name]
    error = relative_error(rung.fit(X, y, lr=0.1, epochs=3, dtype=dtype), *expected)
    fits.append([step, error <= rung.tolerance(dtype)])
cached = [d for d in gc.get_objects() if isinstance(d, Dispatcher) and isinstance(d._cache, LadderCache)]
uncached = [k for step in sys.argv[1:] if ":" in step for k in IMPLEMENTATIONS[step.split(":")[0]].kernels]
uncached = [k for k in {id(k): k for k in uncached}.values() if k.stats.cache_path is None]
def compiles(dispatchers):
    return sorted(d.py_func.__qualname__ for d in dispatchers for _ in d.stats.cache_misses.elements())
hits = sum(sum(d.stats.cache_hits.values()) for d in cached)
print(json.dumps({"fits": fits, "missed": compiles(cached), "hits": hits, "in_memory": compiles(uncached)}))
"""


def _environment(cache: Path | None, **changes: str | None) -> dict[str, str]:
    """This environment, with the worktree importable, ``cache`` as LADDER_CACHE_DIR, and ``changes``
    (None removes a variable)."""
    env = {**os.environ, "LADDER_PLANNING": "estimate"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env.pop("LADDER_CACHE_DIR", None)
    if cache is not None:
        env["LADDER_CACHE_DIR"] = str(cache)
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


class Run:
    """A finished process of ``_FIT``: its output, what it printed, and the warnings it showed."""

    def __init__(self, process: subprocess.CompletedProcess):
        self.process = process
        self.stderr = process.stderr
        assert process.returncode == 0, process.stderr[-3000:]
        assert "Traceback" not in process.stderr, process.stderr[-3000:]
        report = json.loads(process.stdout.strip().splitlines()[-1])
        assert report["fits"] and all(right for _, right in report["fits"]), report["fits"]
        self.missed, self.hits, self.in_memory = report["missed"], report["hits"], report["in_memory"]
        self.warnings = re.findall(r"(\w+CacheWarning): (.*)", process.stderr)

    def warned(self, category: type[Warning]) -> list[str]:
        return [message for name, message in self.warnings if name == category.__name__]


def _fit(cache: Path | None, *steps: str, cwd: Path = ROOT, **changes: str | None) -> Run:
    """A process that fits ``steps`` (default: numba_loops in float64) with ``cache`` as its cache root."""
    command = [sys.executable, "-c", _FIT, *(steps or ("numba_loops:float64",))]
    env = _environment(cache, **changes)
    return Run(subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=600))


def _ladder_folder(cache: Path) -> Path:
    """The folder ``cache_dir()`` names under ``cache`` as LADDER_CACHE_DIR."""
    return cache / "numba" / _cache_paths.cache_dir().name


def _files(cache: Path, pattern: str) -> list[Path]:
    return sorted(_ladder_folder(cache).glob(f"*/{pattern}"))


def _no_numba_cache_beside_the_source() -> None:
    """Numba's fallback when its cache folder cannot be made: the kernels' source tree."""
    strays = [path for path in (ROOT / "impls").rglob("*") if path.suffix in (".nbi", ".nbc")]
    assert not strays, strays


# --------------------------------------------------------------------------- where the cache is


def test_cache_folder_is_per_source_and_numba_version(monkeypatch, tmp_path):
    monkeypatch.setenv("LADDER_CACHE_DIR", str(tmp_path))
    _cache_paths.cache_dir.cache_clear()
    try:
        folder = _cache_paths.cache_dir()
    finally:
        _cache_paths.cache_dir.cache_clear()
    assert folder.parent == tmp_path / "numba"
    assert source_digest() in folder.name and numba.__version__ in folder.name


def test_every_way_the_ladder_makes_a_kernel_gets_the_ladders_cache():
    """Decorated (``numba_tiled.tile_terms``), called (``numba_loops``), ``specialize``d copies
    (``numba_blocked``) and ``Family.build`` (the drivers and chunks of every rung and of
    ``numba_tuned``'s families): each dispatcher has the cache that survives damage, in the
    ladder's folder. The cold copies the compile benchmark times must stay uncached."""
    driver, kernels = numba_fused.FAMILY.build()
    dispatchers = [driver, *kernels, *candidates.drivers().values()]
    for rung in IMPLEMENTATIONS.values():
        if rung.jit:
            dispatchers += rung.kernels
    assert len(dispatchers) > 10
    for dispatcher in dispatchers:
        assert isinstance(dispatcher._cache, _numba_cache.LadderCache), dispatcher
        assert Path(dispatcher.stats.cache_path).parent == _cache_paths.cache_dir()
    cold = [kernel for rung in IMPLEMENTATIONS.values() if rung.jit for kernel in rung.rebuild().kernels]
    assert cold and all(kernel.stats.cache_path is None for kernel in cold)


def _add_one(x):
    return x + 1


def test_kernels_made_in_many_threads_at_once_all_cache_in_the_ladders_folder():
    """The dask rung's worker threads make their kernel at once; each must cache in ``cache_dir``
    (not in a folder under the working directory), and Numba's global setting must be left as found.

    The window was narrow: when ``compiled`` set Numba's global CACHE_DIR around each dispatcher's
    creation, this failed in about one run of six without a lock. Each cache is now given its
    folder, and the global is never touched.
    """
    before = numba.core.config.CACHE_DIR
    threads = 16
    barrier = threading.Barrier(threads)

    def make(k):
        barrier.wait()
        return _jit.compiled(_jit.specialize(_add_one, f"add_one_{k}"))

    for _ in range(25):
        with ThreadPoolExecutor(threads) as pool:
            dispatchers = list(pool.map(make, range(threads)))
        paths = {Path(dispatcher._cache.cache_path).parent for dispatcher in dispatchers}
        assert paths == {_cache_paths.cache_dir()}
    assert numba.core.config.CACHE_DIR == before


@pytest.mark.parametrize(
    ("value", "expected"),
    [("cache", "work/cache"), ("~/cache", "home/cache")],
    ids=["relative", "from-home"],
)
def test_a_relative_ladder_cache_dir_stays_where_it_was_first_read(tmp_path, value, expected):
    """A relative LADDER_CACHE_DIR (or one starting with ``~``, as a quoted shell variable leaves
    it) is made absolute when the process first reads it: a process that then changes its working
    directory, as a harness may, keeps one cache instead of starting another wherever it is."""
    home, work, elsewhere = tmp_path / "home", tmp_path / "work", tmp_path / "elsewhere"
    for folder in (home, work, elsewhere):
        folder.mkdir()
    steps = ("numba_loops:float64", f"cd={elsewhere}", "numba_loops:float32")
    run = _fit(None, *steps, cwd=work, LADDER_CACHE_DIR=value, HOME=str(home))
    assert run.missed == ["descend_loops", "descend_loops"] and not run.warnings
    assert not any(elsewhere.iterdir())
    assert len(_files(tmp_path / expected, "*.nbc")) == 2  # both entries, in the one folder
    assert len(_files(tmp_path / expected, "*.nbi")) == 1


def test_an_empty_ladder_cache_dir_means_the_default_folder(tmp_path):
    """``LADDER_CACHE_DIR=`` (set, but empty) is the user's cache folder, not the working directory."""
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    run = _fit(None, cwd=work, LADDER_CACHE_DIR="", HOME=str(home), XDG_CACHE_HOME=None)
    assert not run.warnings and not any(work.iterdir())
    assert _files(home / ".cache" / "vectorization-ladder", "*.nbi")


def test_a_second_process_compiles_nothing():
    """Compile once per machine: after one process has compiled, the next loads every kernel from disk.

    Uses the machine's own cache folder (this session's tests have mostly filled it already): a
    folder of its own would make the first process compile everything, a minute of CI for nothing.
    """
    env = {**os.environ, "LADDER_PLANNING": "estimate"}
    run = [sys.executable, "-c", _LOAD_EVERY_KERNEL]
    first = subprocess.run(run, env=env, capture_output=True, text=True, cwd=ROOT)
    assert first.returncode == 0, first.stderr[-2000:]
    second = subprocess.run(run, env=env, capture_output=True, text=True, cwd=ROOT)
    assert second.returncode == 0, second.stderr[-2000:]
    assert second.stdout.strip() == "0 []", second.stdout


_LOAD_EVERY_KERNEL = """
import numpy as np
from impls import IMPLEMENTATIONS
from impls.planner.candidates import drivers
X = np.random.default_rng(0).standard_normal((300, 7)); y = (X[:, 0] > 0).astype(float)
for dtype in ("float64", "float32"):
    for name, rung in IMPLEMENTATIONS.items():
        if rung.jit:
            rung.fit(X, y, lr=0.1, epochs=2, dtype=dtype)
    for driver in drivers().values():  # every family numba_tuned may choose
        problem = IMPLEMENTATIONS["numba_tuned"].validate(X, y, lr=0.1, epochs=0, dtype=dtype)
        driver(problem.X, problem.y, problem.w0.copy(), 0.0, 0.1, 0, np.empty(0, dtype), 4096, (4, 0))
misses = {}
for name, rung in IMPLEMENTATIONS.items():
    for kernel in rung.kernels:
        misses[kernel.py_func.__qualname__] = sum(kernel.stats.cache_misses.values())
for family, driver in drivers().items():
    misses[family] = sum(driver.stats.cache_misses.values())
print(sum(misses.values()), sorted(k for k, v in misses.items() if v))
"""


# --------------------------------------------------------------------------- damaged entries


@pytest.fixture(scope="module")
def filled(tmp_path_factory) -> Path:
    """A cache root that one process filled with numba_loops' kernel, float64 (``.1.nbc``) then float32."""
    cache = tmp_path_factory.mktemp("filled")
    run = _fit(cache, "numba_loops:float64", "numba_loops:float32")
    assert run.missed == ["descend_loops", "descend_loops"] and not run.warnings
    return cache


def _cut_short(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _overwrite(path: Path) -> None:
    path.write_bytes(random.Random(0).randbytes(path.stat().st_size))


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _other_pickle(path: Path) -> None:
    path.write_bytes(pickle.dumps({"a valid pickle": "of something else"}))


def _one_byte_changed(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x5A
    path.write_bytes(bytes(data))


def _machine_code_changed(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[data.index(b"\x7fELF") + 0x80] ^= 0x5A  # early in the object code: Numba's own files,
    path.write_bytes(bytes(data))  # changed so, made every process that loaded them segfault


def _removed(path: Path) -> None:
    path.unlink()


DAMAGE = {
    "cut-short": _cut_short,
    "overwritten": _overwrite,
    "empty": _empty,
    "other-pickle": _other_pickle,
    "one-byte-changed": _one_byte_changed,
    "machine-code-changed": _machine_code_changed,
    "missing": _removed,
}
NOT_DAMAGE = {
    ("index", "missing"),  # no index yet: an empty cache, not a damaged one
    ("index", "machine-code-changed"),  # an index holds none
}
CASES = [
    pytest.param(target, damage, id=f"{target}-{name}")
    for target in ("index", "data")
    for name, damage in DAMAGE.items()
    if (target, name) not in NOT_DAMAGE
]


@pytest.mark.slow
@pytest.mark.parametrize(("target", "damage"), CASES)
def test_a_damaged_entry_is_compiled_afresh_and_replaced(filled, tmp_path, target, damage):
    """The file of a kernel's entry damaged on disk between processes (as a killed process, a full
    disk or a faulty drive leaves it): the next process warns once, naming the file, compiles the
    kernel and fits right; the process after it loads the rewritten entry, silently. With Numba's
    own cache every JIT rung raised from inside Numba until the folder was deleted, and a changed
    byte of machine code was loaded as it was."""
    cache = tmp_path / "cache"
    shutil.copytree(filled, cache)
    (path,) = _files(cache, "*.nbi" if target == "index" else "*.1.nbc")
    damage(path)
    run = _fit(cache)
    (message,) = run.warned(_cache_paths.DamagedCacheWarning)
    assert str(path) in message and len(run.warnings) == 1, run.stderr
    assert run.missed == ["descend_loops"]
    assert path.exists()
    again = _fit(cache)
    assert again.missed == [] and again.hits == 1 and not again.warnings, again.stderr


def test_data_files_swapped_are_not_loaded_for_each_other(filled, tmp_path):
    """Two well-formed data files of one kernel (float64 and float32) swapped: each holds an entry
    the index does not say it holds. Loading one for the other would run float64 code on float32
    arrays; instead both are compiled afresh, with one warning."""
    cache = tmp_path / "cache"
    shutil.copytree(filled, cache)
    first, second = _files(cache, "*.nbc")
    contents = first.read_bytes()
    first.write_bytes(second.read_bytes())
    second.write_bytes(contents)
    run = _fit(cache, "numba_loops:float64", "numba_loops:float32")
    (message,) = run.warned(_cache_paths.DamagedCacheWarning)
    assert "another compiled kernel" in message and len(run.warnings) == 1
    assert run.missed == ["descend_loops", "descend_loops"]
    again = _fit(cache, "numba_loops:float64", "numba_loops:float32")
    assert again.missed == [] and again.hits == 2 and not again.warnings, again.stderr


@pytest.mark.slow
def test_a_folder_whose_every_file_was_overwritten_warns_once(tmp_path):
    """The issue's case: every index and data file of the ladder's folder overwritten, here for the
    kernels of a serial rung and of a parallel one (a driver made by ``Family.build`` calling a
    ``specialize``d chunk). One warning for the folder, every fit right, and the next process
    compiles nothing."""
    cache = tmp_path / "cache"
    steps = ("numba_loops:float64", "numba_tiled:float64")
    filled = _fit(cache, *steps)
    # descend_loops; numba_tiled's driver, its chunk and the tile kernel the chunk calls
    assert len(filled.missed) == 4 and not filled.warnings
    damaged = _files(cache, "*.nb[ic]")
    assert len(damaged) == 8
    for path in damaged:
        path.write_bytes(b"\x80\x04garbage")
    run = _fit(cache, *steps)
    assert len(run.warned(_cache_paths.DamagedCacheWarning)) == 1 and len(run.warnings) == 1, run.stderr
    assert run.missed == filled.missed
    again = _fit(cache, *steps)
    assert again.missed == [] and again.hits == 2 and not again.warnings, again.stderr  # the chunk is in
    # the driver's machine code: a loaded driver does not load it


# --------------------------------------------------------------------------- folders that cannot be used


def _a_file(tmp_path: Path) -> Path:
    path = tmp_path / "a-file"
    path.write_text("not a folder")
    return path


UNMAKEABLE = ["is-a-file", "under-a-file", "ladder-folder-is-a-file", "home-under-a-file"]


@pytest.mark.parametrize("case", UNMAKEABLE)
def test_a_cache_folder_that_cannot_be_made_means_kernels_compiled_in_memory(tmp_path, case):
    """LADDER_CACHE_DIR a regular file, or under one; the ladder's own folder a file; the user's
    home (the default root) one that cannot be written. Runs as root too: root may write anywhere,
    but not under a file. One warning names the folder; every fit is right; and nothing is
    cached anywhere else: not beside the source (Numba's fallback), not in the working directory,
    not in NUMBA_CACHE_DIR or the user's own Numba cache folder."""
    work, home, numba_dir = tmp_path / "work", tmp_path / "home", tmp_path / "numba-cache-dir"
    for folder in (work, home, numba_dir):
        folder.mkdir()
    cache = {"is-a-file": _a_file(tmp_path), "under-a-file": _a_file(tmp_path) / "cache"}.get(case)
    changes = {"HOME": str(home), "NUMBA_CACHE_DIR": str(numba_dir), "XDG_CACHE_HOME": None}
    if case == "ladder-folder-is-a-file":
        cache = tmp_path / "cache"
        _ladder_folder(cache).parent.mkdir(parents=True)
        _ladder_folder(cache).write_text("not a folder")
    if case == "home-under-a-file":
        changes["HOME"] = str(_a_file(tmp_path) / "home")
        folder = Path(
            changes["HOME"], ".cache", "vectorization-ladder", "numba", _cache_paths.cache_dir().name
        )
    else:
        folder = _ladder_folder(cache)
    run = _fit(cache, "numba_loops:float64", "numba_loops:float32", cwd=work, **changes)
    (message,) = run.warned(_cache_paths.UnusableCacheWarning)
    assert f"in {folder} (" in message and len(run.warnings) == 1, run.stderr
    assert run.in_memory == ["descend_loops", "descend_loops"]  # compiled, and no disk cache
    assert not any(work.iterdir()) and not any(numba_dir.iterdir()) and not any(home.iterdir())
    _no_numba_cache_beside_the_source()


def test_a_kernels_folder_that_is_a_file_means_kernels_compiled_in_memory(tmp_path):
    """A file where the folder of one source file's kernels should be (inside the ladder's folder):
    it cannot be read nor written. One warning naming the folder, fits right, nothing elsewhere."""
    cache = tmp_path / "cache"
    _fit(cache)
    (kernels,) = _ladder_folder(cache).iterdir()
    shutil.rmtree(kernels)
    kernels.write_text("not a folder")
    run = _fit(cache, "numba_loops:float64", "numba_loops:float32")
    (message,) = run.warned(_cache_paths.UnusableCacheWarning)
    assert str(_ladder_folder(cache)) in message and len(run.warnings) == 1, run.stderr
    assert run.missed == ["descend_loops", "descend_loops"]
    _no_numba_cache_beside_the_source()


@pytest.mark.slow
def test_a_save_that_fails_part_way_warns_and_leaves_nothing_half_written(tmp_path):
    """A disk that fills as a kernel is saved (here: a limit on file size, which root obeys too, so
    writes past 4 KiB fail as on a full disk). One warning, the fit right; the next process finds no
    half-written entry (no damage warning), compiles and saves the kernel."""
    cache = tmp_path / "cache"
    run = _fit(cache, TEST_FILE_SIZE_LIMIT="4096")
    (message,) = run.warned(_cache_paths.UnusableCacheWarning)
    assert "Cannot save into" in message and str(_ladder_folder(cache)) in message
    assert len(run.warnings) == 1 and run.missed == ["descend_loops"]
    assert not _files(cache, "*.nb[ic]") and not _files(cache, "*.tmp.*")
    later = _fit(cache)
    assert later.missed == ["descend_loops"] and not later.warnings, later.stderr
    assert _fit(cache).missed == []


@pytest.fixture
def restore_permissions():
    """Folders given back their permissions after the test, so that tmp_path can be removed."""
    folders: list[Path] = []
    yield folders
    for folder in folders:
        folder.chmod(0o755)


@pytest.mark.skipif(IGNORED, reason=WITHOUT_PERMISSION_BITS)
def test_a_read_only_folder_means_kernels_compiled_in_memory(tmp_path, restore_permissions):
    """LADDER_CACHE_DIR under a folder the user may not write: one warning, fits right."""
    parent = tmp_path / "read-only"
    parent.mkdir()
    parent.chmod(0o555)
    restore_permissions.append(parent)
    run = _fit(parent / "cache")
    (message,) = run.warned(_cache_paths.UnusableCacheWarning)
    assert str(_ladder_folder(parent / "cache")) in message and len(run.warnings) == 1
    assert run.in_memory == ["descend_loops"]
    _no_numba_cache_beside_the_source()


@pytest.mark.skipif(IGNORED, reason=WITHOUT_PERMISSION_BITS)
def test_a_folder_without_permission_means_kernels_compiled_in_memory(filled, tmp_path, restore_permissions):
    """The ladder's folder there, full, but the user may not even read it: one warning, fits right."""
    cache = tmp_path / "cache"
    shutil.copytree(filled, cache)
    _ladder_folder(cache).chmod(0)
    restore_permissions.append(_ladder_folder(cache))
    run = _fit(cache)
    (message,) = run.warned(_cache_paths.UnusableCacheWarning)
    assert str(_ladder_folder(cache)) in message and len(run.warnings) == 1
    assert run.missed == ["descend_loops"]
    _no_numba_cache_beside_the_source()


@pytest.mark.skipif(IGNORED, reason=WITHOUT_PERMISSION_BITS)
def test_a_read_only_cache_is_still_loaded(tmp_path, restore_permissions):
    """A cache the user may read but not write (filled by another account, or made read-only): what
    is in it loads without a word; a kernel not in it is compiled, and its save warns once."""
    cache = tmp_path / "cache"
    _fit(cache)
    folders = [path for path in cache.rglob("*") if path.is_dir()]
    for folder in folders:
        folder.chmod(0o555)
    restore_permissions.extend(folders)
    loaded = _fit(cache)
    assert loaded.missed == [] and not loaded.warnings
    run = _fit(cache, "numba_loops:float64", "numba_loops:float32")
    (message,) = run.warned(_cache_paths.UnusableCacheWarning)
    assert "Cannot save into" in message and len(run.warnings) == 1
    assert run.missed == ["descend_loops"] and run.hits == 1


def test_folders_left_by_other_numba_versions_and_sources_are_neither_read_nor_touched(filled, tmp_path):
    """Folders of another Numba version, or of another version of the ladder's source, beside this
    one's (after an upgrade, or a checkout of other code), even damaged: they are not read, do not
    warn, and are left as they are."""
    cache = tmp_path / "cache"
    shutil.copytree(filled, cache)
    ours = _ladder_folder(cache)
    others = [ours.with_name("numba-0.58.1-src-" + source_digest()), ours.with_name(ours.name[:-4] + "beef")]
    for other in others:
        shutil.copytree(ours, other)
        for path in other.glob("*/*.nb[ic]"):
            _overwrite(path)
    shutil.rmtree(ours)
    before = {path: path.read_bytes() for other in others for path in other.rglob("*") if path.is_file()}
    run = _fit(cache)
    assert run.missed == ["descend_loops"] and not run.warnings
    after = {path: path.read_bytes() for other in others for path in other.rglob("*") if path.is_file()}
    assert after == before


# --------------------------------------------------------------------------- processes at once


@pytest.mark.slow
def test_two_processes_compiling_into_one_empty_folder_at_once(tmp_path):
    """Two processes started together on an empty cache, compiling the same kernels (one float64
    first, the other float32 first, so they save different entries of one kernel at about the same
    time). Both fit right, neither warns, and a third process compiles nothing."""
    cache = tmp_path / "cache"
    steps = ["numba_loops:float64", "numba_fused:float64", "numba_loops:float32", "numba_fused:float32"]
    pair = [
        subprocess.Popen(
            [sys.executable, "-c", _FIT, *order],
            env=_environment(cache),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for order in (steps, steps[2:] + steps[:2])
    ]
    for process in pair:
        stdout, stderr = process.communicate(timeout=600)
        run = Run(subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr))
        assert not run.warnings, run.stderr
        assert len(run.missed) <= 6
    third = _fit(cache, *steps)
    assert third.missed == [] and third.hits == 4 and not third.warnings, third.stderr  # loaded drivers
    # hold their chunk's machine code: the chunk is not loaded on its own


_SLOW_SAVE = """
import sys, time
import numpy as np
from impls import _jit, _numba_cache

write = _numba_cache._write_framed

def slow(path, magic, value):  # the moment between a save's data file and its index, made long
    if magic == _numba_cache._INDEX_MAGIC:
        time.sleep(1.0)
    write(path, magic, value)

_numba_cache._write_framed = slow
sys.path.insert(0, sys.argv[1])
import tiny
kernel = _jit.compiled(tiny.add_one)
for kind in sys.argv[2:]:
    assert kernel(np.dtype(kind).type(1)) == 2
print(sum(kernel.stats.cache_misses.values()), sum(kernel.stats.cache_hits.values()))
"""


@pytest.mark.slow
def test_saves_of_one_kernel_by_two_processes_at_once_lose_neither(tmp_path):
    """Two processes save different entries of one kernel at once (its int64 and its float64
    machine code), each slowed down between writing its data file and the index that names it.
    Unlocked, both read the index before either wrote it and one entry is lost (or both claim one
    data file); under the folder's lock, a third process loads both."""
    (tmp_path / "tiny").mkdir()
    (tmp_path / "tiny" / "tiny.py").write_text("def add_one(x):\n    return x + 1\n")
    cache, folder = tmp_path / "cache", str(tmp_path / "tiny")

    def start(*kinds):
        command = [sys.executable, "-c", _SLOW_SAVE, folder, *kinds]
        env = _environment(cache)
        return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    for process in [start("int64"), start("float64")]:
        stdout, stderr = process.communicate(timeout=300)
        assert process.returncode == 0 and "Warning" not in stderr, stderr
        assert stdout.split() == ["1", "0"]
    third = start("int64", "float64")
    stdout, stderr = third.communicate(timeout=300)
    assert third.returncode == 0 and "Warning" not in stderr, stderr
    assert stdout.split() == ["0", "2"]


def test_a_reader_in_the_middle_of_a_save_finds_no_entry_rather_than_a_damaged_one(tmp_path, monkeypatch):
    """A save writes the data file first and the index that names it last: a process that reads
    the entry between the two writes (another process's save, here made to happen at that moment)
    finds no entry yet, a plain miss, never an index naming a data file not yet there (which would
    be damage, and a warning caused by the other process)."""
    files = _numba_cache._IndexDataFiles(str(tmp_path), "kernel", source_stamp="source")
    seen = []
    write = _numba_cache._write_framed

    def write_then_read(path, magic, value):
        write(path, magic, value)
        seen.append(files.load("key"))

    monkeypatch.setattr(_numba_cache, "_write_framed", write_then_read)
    files.save("key", b"machine code", on_damage=pytest.fail)
    assert seen[0] is None
    assert seen[1] == (str(tmp_path / "kernel.1.nbc"), b"machine code")
