"""The candidates the planner races: every kernel of the compiled rungs, with its knobs swept,
and one that no rung ships.

A candidate is a kernel family (``fused``, ``tiled``, ``blocked``, and ``skewed``: the block
kernel with each row read whole and each block's gradient one block late, see
``numba_blocked.block_pass``) and the two integers its chunk reads. Each family has one compiled
parallel driver, and the knobs are run-time arguments, so a candidate costs no compilation of its
own.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cache
from typing import Any

from impls import numba_blocked, numba_fused, numba_tiled
from impls._common import Problem, resolve_dtype
from impls.numba_fused import NO_KNOBS, run_descent

FAMILIES = {
    "fused": numba_fused.FAMILY,
    "tiled": numba_tiled.FAMILY,
    "blocked": numba_blocked.FAMILY,
    "skewed": numba_blocked.SKEWED,
}
PREFETCH_DISTANCES = (numba_blocked.NO_PREFETCH, 1024, 2048, 4096, 8192, 16384)
#: The skewed block kernel's distances: the shorter ones (it reads ahead by its order already).
SKEWED_DISTANCES = (numba_blocked.NO_PREFETCH, 1024, 2048, 4096)
TILE_SIZES = (16 * 1024, 64 * 1024, numba_tiled.TILE_BYTES)


@dataclass(frozen=True)
class Candidate:
    """One kernel with its knobs: a family of ``FAMILIES`` and the two integers its chunk reads."""

    family: str
    knobs: tuple[int, int] = NO_KNOBS

    @property
    def prefetches(self) -> bool:
        """Whether the kernel asks for rows ahead of those it reads (the tiled kernel never does)."""
        if self.family in ("blocked", "skewed"):
            return self.knobs[1] >= 0
        return self.family == "fused" and self.knobs[0] > 0

    @property
    def name(self) -> str:
        first, second = self.knobs
        if self.family == "tiled":
            return f"tiled-{first // 1024}k"
        if self.family in ("blocked", "skewed"):
            return f"{self.family}-r{first}-" + ("nopf" if second < 0 else f"pf{second}")
        return self.family if first == 0 else f"{self.family}-pf{first}"


CANDIDATES: tuple[Candidate, ...] = (
    Candidate("fused"),
    *(Candidate("fused", (ahead, 0)) for ahead in PREFETCH_DISTANCES if ahead > 0),
    *(Candidate("tiled", (tile_bytes, 0)) for tile_bytes in TILE_SIZES),
    *(
        Candidate("blocked", (rows, ahead))
        for rows in numba_blocked.BLOCK_SIZES
        for ahead in PREFETCH_DISTANCES
    ),
    *(
        Candidate("skewed", (rows, ahead))
        for rows in numba_blocked.SKEWED_SIZES
        for ahead in SKEWED_DISTANCES
    ),
)
BY_NAME = {candidate.name: candidate for candidate in CANDIDATES}


def rule_of_thumb(n: int, dtype: Any) -> Candidate:
    """The candidate chosen without measuring: ``numba_blocked``'s own knobs for rows of ``n``."""
    return Candidate("blocked", numba_blocked.rule_of_thumb(n, resolve_dtype(dtype).itemsize))


@cache
def families() -> dict[str, tuple[Any, tuple]]:
    """(compiled parallel descent, its kernels) per family, loaded from Numba's disk cache when it can be."""
    return {name: family.build() for name, family in FAMILIES.items()}


def drivers() -> dict[str, Any]:
    """The compiled parallel descent of each family."""
    return {name: driver for name, (driver, _) in families().items()}


def run(candidate: Candidate, problem: Problem, epochs: int = 1):
    """``epochs`` epochs of ``candidate`` on a validated problem: (w, b, costs)."""
    return run_descent(drivers()[candidate.family], problem, problem.lr, epochs, candidate.knobs)


def warm_up(problem: Problem, candidates: tuple[Candidate, ...] = CANDIDATES) -> None:
    """Run every candidate once on a few rows: compile or load its kernel, touch its buffers."""
    small = dataclasses.replace(problem, X=problem.X[:64], y=problem.y[:64])
    for candidate in candidates:
        run(candidate, small)
