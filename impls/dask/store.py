"""X in a Zarr store on disk, read block by block every epoch (``fit_zarr``): out of core.

Read from a store, a block is at most ``MAX_BLOCK_BYTES``, so that a worker whose memory is
smaller than X can hold the blocks it reads. A store is checked before the first epoch (a Zarr
array, every chunk file there and readable, every value finite), and every task that reads it
checks that the files it reads are still those (size and modification time): a store damaged,
deleted or rewritten under a fit is a ``ValueError`` naming the file, never another X or a
traceback from inside Zarr.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from functools import lru_cache
from importlib import import_module
from typing import Any

import numpy as np

from impls.dask.blocks import State, _kernel, rows_per_task
from impls.dask.cluster import client, with_workers, worker_threads

MAX_BLOCK_BYTES = 64 * 2**20  # at most this much of X per task that reads X from a store


Stamp = tuple[str, int, int]  # a file of a store: (its path inside the store, size in bytes, mtime in ns)
ABSENT = (-1, -1)  # the size and mtime of a chunk file that is not there (read as the fill value)


@dataclass(frozen=True)
class StoreBlock:
    """Rows [start, stop) of a Zarr array on disk: what a task reads when X is not in memory."""

    store: str  # the store's folder, an absolute path (worker processes have other working folders)
    start: int
    stop: int
    dtype: str  # the working dtype: the block is converted on reading
    columns: int  # X's columns, as checked before the first epoch
    files: tuple[Stamp, ...]  # the metadata file, then the chunk files the rows are in, as checked


def open_store(store) -> tuple[str, Any]:
    """The absolute path of the store and its Zarr array, or a ``ValueError`` saying what is there instead."""
    zarr = import_module("zarr")
    path = os.path.abspath(os.fspath(store))
    if not os.path.exists(path):
        raise ValueError(f"X must be a Zarr array: {path} does not exist")
    if not os.path.isdir(path):
        raise ValueError(f"X must be a Zarr array: {path} is a file, not a Zarr store (a folder)")
    if not any(os.path.isfile(os.path.join(path, name)) for name in ("zarr.json", ".zarray", ".zgroup")):
        raise ValueError(
            f"X must be a Zarr array: the folder {path} is not a Zarr store "
            "(it holds no zarr.json, nor Zarr format 2's .zarray)"
        )
    try:
        node = zarr.open(path, mode="r")
    except Exception as exc:  # its metadata: not JSON, not Zarr's, not readable
        raise ValueError(
            f"X must be a Zarr array: the metadata of the store at {path} cannot be read "
            f"({type(exc).__name__}: {exc})"
        ) from None
    if not isinstance(node, zarr.Array):
        names = sorted(node.array_keys())[:5]
        raise ValueError(
            f"X must be a Zarr array: {path} is a Zarr group, not an array"
            + (f" (its arrays: {', '.join(names)}; pass the path of one)" if names else " (with no arrays)")
        )
    return path, node


def _metadata_file(array) -> str:
    return "zarr.json" if array.metadata.zarr_format == 3 else ".zarray"


def _storage_grid(array) -> tuple[int, int]:
    """Rows and columns of X per stored object: per shard where the array is sharded, else per chunk."""
    rows, columns = getattr(array, "shards", None) or array.chunks
    return rows, columns


def _stamp(store: str, name: str) -> Stamp | None:
    try:
        st = os.stat(os.path.join(store, *name.split("/")))
    except FileNotFoundError:
        return None
    return name, st.st_size, st.st_mtime_ns


def store_files(store: str, array, fill_missing_chunks: bool = False) -> tuple[Stamp, dict[int, list[Stamp]]]:
    """The stamps of the store's metadata file and, per row of the storage grid, of its chunk files.

    A chunk file missing is a ``ValueError``: Zarr would read those rows as the array's fill value
    without a word, and a chunk file deleted by mistake would make X another array. Zarr also
    leaves out, by default, a chunk that is all fill value: with ``fill_missing_chunks``, a chunk
    file not there is read so, as Zarr reads it (and must still not be there at every epoch).
    """
    metadata = _stamp(store, _metadata_file(array))
    if metadata is None:
        raise ValueError(f"X (the Zarr array at {store}): its metadata file {_metadata_file(array)} is gone")
    (m, n), (grid_rows, grid_columns) = array.shape, _storage_grid(array)
    chunks: dict[int, list[Stamp]] = {}
    for i in range(-(-m // grid_rows)):
        for j in range(-(-n // grid_columns)):
            name = array.metadata.encode_chunk_key((i, j))
            stamp = _stamp(store, name)
            if stamp is None and fill_missing_chunks:
                stamp = (name, *ABSENT)
            elif stamp is None:
                raise ValueError(
                    f"X (the Zarr array at {store}): its chunk file {name} (rows {i * grid_rows} to "
                    f"{min(m, (i + 1) * grid_rows) - 1}) is missing; Zarr would read those rows as the "
                    f"fill value {array.fill_value}, not X. Zarr leaves out a chunk that is all fill "
                    "value unless the array is written with write_empty_chunks on (zarr.config.set("
                    "{'array.write_empty_chunks': True})); if that is why, fill_missing_chunks=True "
                    "reads such chunks as Zarr does."
                )
            chunks.setdefault(i, []).append(stamp)
    return metadata, chunks


@lru_cache(maxsize=8)
def _open_store(store: str, metadata: Stamp):
    """The Zarr array at ``store``, opened once per version of its metadata file."""
    return import_module("zarr").open_array(store, mode="r")


def _changed(block: StoreBlock) -> str | None:
    """How the files ``block`` reads differ from those checked before the first epoch, or None."""
    if not os.path.isdir(block.store):
        return (
            f"the store's folder is not there on {socket.gethostname()} (deleted, or not on a file "
            "system this worker shares)"
        )
    for name, size, mtime_ns in block.files:
        now = _stamp(block.store, name)
        if now is None and (size, mtime_ns) != ABSENT:
            return f"{name} was deleted"
        if now is not None and (size, mtime_ns) == ABSENT:
            return f"{name}, not there before (read as the fill value), was written"
        if now is not None and now[1:] != (size, mtime_ns):
            return f"{name} was rewritten ({size} bytes before, {now[1]} bytes now)"
    return None


def _check_unchanged(block: StoreBlock) -> None:
    change = _changed(block)
    if change:
        raise ValueError(
            f"X (the Zarr array at {block.store}) changed since it was checked before the first epoch: "
            f"{change}. Another process writing it? The fit stopped: its epochs would not all see one X."
        )


def read_block(block: StoreBlock) -> np.ndarray:
    """Rows [start, stop) of X as stored, if the files they come from are those checked; else a
    ``ValueError`` naming the store and the file. The files are checked before and after the
    read, so that a writer at work during it is seen too."""
    _check_unchanged(block)
    try:
        values = _open_store(block.store, block.files[0])[block.start : block.stop]
    except Exception as exc:  # a chunk that does not decode: Zarr and its codecs raise anything
        _check_unchanged(block)  # a file rewritten while it was read, rather than a damaged one
        raise ValueError(f"X (the Zarr array at {block.store}): {_unreadable(block, exc)}") from None
    _check_unchanged(block)
    expected = (block.stop - block.start, block.columns)
    if values.shape != expected:  # the kernel must not read past a block, whatever the store says
        raise ValueError(
            f"X (the Zarr array at {block.store}) changed since it was checked: rows {block.start} "
            f"to {block.stop - 1} read as shape {values.shape}, not {expected}"
        )
    return values


def _unreadable(block: StoreBlock, error: Exception) -> str:
    """Which chunk file of ``block`` does not decode, and why (or, failing that, the block's rows)."""
    try:
        array = _open_store(block.store, block.files[0])
    except Exception as exc:
        return f"its metadata cannot be read ({type(exc).__name__}: {exc})"
    (m, n), (chunk_rows, chunk_columns) = array.shape, array.chunks
    grid_rows, grid_columns = _storage_grid(array)
    for r in range(block.start - block.start % chunk_rows, block.stop, chunk_rows):
        for c in range(0, n, chunk_columns):
            try:
                array[r : r + chunk_rows, c : c + chunk_columns]
            except Exception as exc:
                name = array.metadata.encode_chunk_key((r // grid_rows, c // grid_columns))
                size = (_stamp(block.store, name) or (name, "?"))[1]
                return (
                    f"its chunk file {name} ({size} bytes; rows {r} to {min(m, r + chunk_rows) - 1}) "
                    f"does not decode as this array's: damaged (truncated or overwritten)? "
                    f"({type(exc).__name__}: {exc})"
                )
    return f"rows {block.start} to {block.stop - 1} cannot be read ({type(error).__name__}: {error})"


def store_block_terms(block: StoreBlock, y_block: np.ndarray, w: np.ndarray, b: float) -> np.ndarray:
    """One task of an out-of-core epoch: read a block of X from the store, and run the kernel on it."""
    X_block = np.ascontiguousarray(read_block(block), dtype=block.dtype)
    return _kernel()(X_block, y_block, w, b)


def store_block_check(block: StoreBlock) -> str | None:
    """Why a block of the store is not usable X in the working dtype (which file or value), or None."""
    try:
        X_block = read_block(block)
    except ValueError as exc:
        return str(exc)
    with np.errstate(over="ignore"):
        bad = ~np.isfinite(X_block.astype(block.dtype, copy=False))
    if bad.any():
        i, j = np.argwhere(bad)[0]
        return (
            f"X (the Zarr array at {block.store}) must be finite: "
            f"X[{block.start + i}, {j}] = {X_block[i, j]!r} is not finite in {block.dtype}"
        )
    return None


def prepare_store(
    store, y: np.ndarray, w0: np.ndarray, b0: float, dtype: np.dtype, array=None, fill_missing_chunks=False
) -> State:
    """A problem whose X stays in a Zarr store: y is held by the workers, X read every epoch.

    ``store``: the path of a 2-D Zarr array (``array``: that array, if the caller opened it with
    ``open_store``). Before the first epoch: every chunk file there (``store_files``), then every
    block read once by the workers, each chunk decoding and each value finite.
    """
    da = import_module("dask.array")
    path, array = open_store(store) if array is None else (os.path.abspath(os.fspath(store)), array)
    active = with_workers(client())
    metadata, chunk_files = store_files(path, array, fill_missing_chunks)
    (m, n), rows_per_chunk, grid_rows = array.shape, array.chunks[0], _storage_grid(array)[0]
    rows = rows_per_task(m, n, np.dtype(array.dtype).itemsize, worker_threads(active), MAX_BLOCK_BYTES)
    rows = max(rows_per_chunk, rows - rows % rows_per_chunk)  # whole chunks of the store per task
    X_blocks = []
    for start in range(0, m, rows):
        stop = min(m, start + rows)
        files = [
            stamp for i in range(start // grid_rows, (stop - 1) // grid_rows + 1) for stamp in chunk_files[i]
        ]
        X_blocks.append(StoreBlock(path, start, stop, str(dtype), n, (metadata, *files)))
    problems = active.gather(active.map(store_block_check, X_blocks, pure=False))
    problem = next((p for p in problems if p), None)
    if problem:
        raise ValueError(problem)
    y_blocks = active.scatter([y[block.start : block.stop] for block in X_blocks])
    return State(da.from_zarr(array), X_blocks, y_blocks, w0, b0, active)
