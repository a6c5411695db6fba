"""Households and residents per draft grid (with the assignment engine), and deviation from the band."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from geodata.assign import PolygonIndex

from .draft import State
from .rules import Band

STATUS_LABELS = {"ok": "达标", "low": "偏少", "high": "偏多", "empty": "无住户", "crowded": "人口超限", "special": "专属网格"}


@dataclass(frozen=True)
class GridTally:
    index: int
    households: int
    residents: int
    deviation: float        # 0 inside the band; signed fraction outside it
    status: str             # STATUS_LABELS key


@dataclass(frozen=True)
class Balance:
    tallies: tuple[GridTally, ...]
    labels: np.ndarray      # grid index of each household, -1 when in no grid (a gap, or an invalid grid)
    band: Band

    @property
    def unassigned(self) -> np.ndarray:
        return np.nonzero(self.labels < 0)[0]


def locate(state: State, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Grid index of each point in the state (-1: in no usable grid). Invalid grids are left out."""
    usable = [i for i, g in enumerate(state) if not g.geometry.is_empty and g.geometry.is_valid]
    labels = np.full(len(lon), -1, dtype=np.int64)
    if not usable or not len(lon):
        return labels
    index = PolygonIndex.build([str(i) for i in usable], [state[i].geometry for i in usable])
    found = index.locate(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    inside = found >= 0
    labels[inside] = np.asarray(usable)[found[inside]]
    return labels


def tally(state: State, lon, lat, residents, band: Band) -> Balance:
    """Per-grid households (points) and residents (the points' weights), with status against the band."""
    lon = np.asarray(lon, dtype=float)
    residents = np.asarray(residents, dtype=np.int64)
    labels = locate(state, lon, np.asarray(lat, dtype=float))
    n = len(state)
    inside = labels >= 0
    households = np.bincount(labels[inside], minlength=n)
    people = np.bincount(labels[inside], weights=residents[inside], minlength=n).astype(np.int64)
    tallies = []
    for i, g in enumerate(state):
        h, r = int(households[i]), int(people[i])
        dev = band.deviation(h)
        if g.kind != "comprehensive":
            status = "special"      # 专属网格 (school, hospital, …) are exempt from the band
            dev = 0.0
        elif h == 0:
            status = "empty"
        elif r > band.max_residents:
            status = "crowded"
        else:
            status = "low" if dev < 0 else "high" if dev > 0 else "ok"
        tallies.append(GridTally(i, h, r, dev, status))
    return Balance(tuple(tallies), labels, band)
