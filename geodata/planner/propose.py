"""Automatic proposal: K contiguous, compact grids that partition the village exactly and balance households.

The core is `geodata.partition.balanced_bisection` (recursive straight cuts at household quantiles,
rebuilt from one exact arrangement, so shared borders are bit-identical). Here we choose K from the
band and keep the codes of the current grids where a proposed grid mostly covers one.
"""

from __future__ import annotations

import math

import numpy as np

from geodata.partition import PartitionError, balanced_bisection

from .codes import inherit_codes
from .draft import DraftGrid, EditError, State
from .rules import Band


def candidate_counts(households: int, band: Band) -> list[int]:
    """Grid counts worth trying, best first: those that can put every grid inside the band, nearest
    to households / target; if none can (too few households), the count nearest to the target."""
    if households <= 0:
        return [1]
    lo, hi = math.ceil(households / band.high), max(1, households // band.low)
    ideal = households / band.target
    ks = list(range(max(1, lo), hi + 1)) or [max(1, round(ideal))]
    return sorted(set(ks), key=lambda k: (abs(k - ideal), k))


def propose(village, lon, lat, band: Band, k: int | None = None, current: State = (),
            weights=None) -> tuple[State, int]:
    """A proposal of `k` grids (or the best count for the band). Returns (state, k).

    Guarantees (tested): the grids tile the village exactly, each is one polygon (per part of a
    multi-part village), and with k chosen from the band every grid is inside it whenever the households
    allow a straight-cut partition to reach it (balanced_bisection's balance guarantee).
    """
    xy = np.column_stack([np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)])
    if k is not None:
        if not isinstance(k, (int, np.integer)) or k < 1 or k > 999:
            raise EditError("网格数量应为 1–999 的整数")
        tries = [int(k)]
    else:
        tries = candidate_counts(len(xy), band)[:3]
    best = None
    for kk in tries:
        try:
            pieces, labels = balanced_bisection(village, xy, kk, weights)
        except PartitionError as exc:
            raise EditError(f"无法自动划分：{exc}") from exc
        counts = np.bincount(labels, minlength=kk) if len(labels) else np.zeros(kk, int)
        outside_band = int(((counts < band.low) | (counts > band.high)).sum())
        if best is None or outside_band < best[0]:
            best = (outside_band, pieces, kk)
        if outside_band == 0:
            break
    _, pieces, kk = best
    state = tuple(DraftGrid(None, p) for p in pieces)
    return inherit_codes(state, current), kk
