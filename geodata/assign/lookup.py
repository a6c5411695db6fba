"""Hierarchical look-ups: point(s) -> county / town / village / grid codes.

Codes are prefix-hierarchical (docs/domain.md §1): a 15-character grid code
starts with its 12-digit village code, whose first 9 digits are the town and first 6
the county.  The village of a grid is taken from ``grid_to_village`` when given (a
mapping grid_code -> village_code, e.g. from the grid table), otherwise from the
grid code's first 12 characters; town and county are always prefixes of the village.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping
from weakref import WeakKeyDictionary

import numpy as np

from .index import AssignResult, PolygonIndex

LEVEL_LENGTHS = {"county": 6, "town": 9, "village": 12}
_TABLES: "WeakKeyDictionary[PolygonIndex, dict]" = WeakKeyDictionary()


def _village_of(grid: str, grid_to_village: Mapping[str, str] | None) -> str:
    village = grid[:12] if grid_to_village is None else grid_to_village[grid]
    if not isinstance(village, str) or len(village) != 12:
        raise ValueError(f"grid {grid!r}: village code {village!r} is not 12 characters")
    return village


def area_tables(index: PolygonIndex, grid_to_village: Mapping[str, str] | None = None
                ) -> dict[str, np.ndarray]:
    """Per-polygon code tables ``{level: object[n_polygons + 1]}`` (last entry None).

    Cached per index when ``grid_to_village`` is None.
    """
    if grid_to_village is None and index in _TABLES:
        return _TABLES[index]
    missing = [] if grid_to_village is None else [g for g in index.codes
                                                  if g not in grid_to_village]
    if missing:
        raise ValueError(f"{len(missing)} grid code(s) missing from grid_to_village: "
                         f"{missing[:5]}")
    village = [_village_of(g, grid_to_village) for g in index.codes]
    tables = {"grid": np.array(list(index.codes) + [None], dtype=object),
              "village": np.array(village + [None], dtype=object)}
    for level in ("town", "county"):
        n = LEVEL_LENGTHS[level]
        tables[level] = np.array([v[:n] for v in village] + [None], dtype=object)
    if grid_to_village is None:
        _TABLES[index] = tables
    return tables


@dataclass(eq=False)
class AreaAssignment:
    """Vectorised hierarchy for n points: object arrays, None where outside."""

    county: np.ndarray
    town: np.ndarray
    village: np.ndarray
    grid: np.ndarray
    result: AssignResult  # poly_idx, outside, nearest_* of the grid assignment


def assign_areas(index: PolygonIndex, lon, lat,
                 grid_to_village: Mapping[str, str] | None = None,
                 nearest: bool = True) -> AreaAssignment:
    """County/town/village/grid code of every point (None where outside all grids)."""
    res = index.assign(lon, lat, nearest=nearest)
    tables = area_tables(index, grid_to_village)
    idx = res.poly_idx
    return AreaAssignment(county=tables["county"][idx], town=tables["town"][idx],
                          village=tables["village"][idx], grid=tables["grid"][idx],
                          result=res)


def point_to_areas(index: PolygonIndex, lon: float, lat: float,
                   grid_to_village: Mapping[str, str] | None = None) -> dict:
    """Areas containing one point.

    Returns ``{"county", "town", "village", "grid"}`` (codes, or None when the point is
    outside every grid) plus ``"inside"`` (bool), ``"nearest_grid"`` (the grid itself
    when inside, else the closest grid) and ``"nearest_distance_m"`` (0.0 when inside,
    else the geodesic distance to the closest grid in metres).
    """
    res = index.assign([lon], [lat])
    i = int(res.poly_idx[0])
    if i >= 0:
        grid = index.codes[i]
        village = _village_of(grid, grid_to_village)
        return {"county": village[:6], "town": village[:9], "village": village,
                "grid": grid, "inside": True, "nearest_grid": grid,
                "nearest_distance_m": 0.0}
    j = int(res.nearest_idx[0])
    return {"county": None, "town": None, "village": None, "grid": None, "inside": False,
            "nearest_grid": index.codes[j] if j >= 0 else None,
            "nearest_distance_m": float(res.nearest_distance_m[0])}
