"""Place → areas: a point is assigned to its current grid (geodata.assign), for every record that is registered or
imported with a location (disputes, ledgers). One locator per database, rebuilt after the grids change."""

from __future__ import annotations

import threading

import shapely
from sqlalchemy import select

from .codes import area_codes_of
from .areas import Grid
from geodata.assign import PolygonIndex, point_to_areas

_LOCK = threading.Lock()
_CACHE: dict[str, GridLocator] = {}


class GridLocator:
    def __init__(self, codes, polygons, village_of, generation_of):
        self.index = PolygonIndex.build(codes, polygons)
        self.village_of = village_of
        self.generation_of = generation_of

    @classmethod
    def from_session(cls, session) -> GridLocator:
        rows = session.execute(select(Grid.code, Grid.village_code, Grid.generation_low, Grid.geom_wkb)
                               .where(Grid.generation_high.is_(None))).all()
        if not rows:
            raise LookupError("库中没有现行网格，无法定位案件")
        return cls([r[0] for r in rows], shapely.from_wkb([r[3] for r in rows]),
                   {r[0]: r[1] for r in rows}, {r[0]: r[2] for r in rows})

    def locate(self, lon: float, lat: float) -> dict | None:
        """{county_code, town_code, village_code, grid_code, assign_generation} or None when outside every grid."""
        found = point_to_areas(self.index, lon, lat, self.village_of)
        if not found["inside"]:
            return None
        return {"county_code": found["county"], "town_code": found["town"], "village_code": found["village"],
                "grid_code": found["grid"], "assign_generation": self.generation_of[found["grid"]]}

    def locate_many(self, lon, lat) -> list[dict | None]:
        """`locate` for many points in one pass of the index (a 50,000-row ledger). The points of one grid share one
        dict (read-only: 50,000 rows in a few hundred grids keep a few hundred dicts, not 50,000)."""
        if len(lon) == 0:
            return []
        res = self.index.assign(lon, lat, nearest=False)
        by_index: dict[int, dict | None] = {-1: None}
        out: list[dict | None] = []
        for i in res.poly_idx.tolist():
            where = by_index.get(i, by_index)
            if where is by_index:
                where = by_index[i] = self._areas(self.index.codes[i]) if i >= 0 else None
            out.append(where)
        return out

    def _areas(self, grid: str) -> dict:
        codes = area_codes_of(self.village_of.get(grid) or grid[:12])
        return {"county_code": codes["county"], "town_code": codes["town"], "village_code": codes["village"],
                "grid_code": grid, "assign_generation": self.generation_of[grid]}


def locator_for(session) -> GridLocator:
    """One locator per database (built on first use; rebuild with `forget` after grids change)."""
    key = str(session.get_bind().url)
    with _LOCK:
        loc = _CACHE.get(key)
        if loc is None:
            loc = _CACHE[key] = GridLocator.from_session(session)
        return loc


def forget(session=None) -> None:
    with _LOCK:
        if session is None:
            _CACHE.clear()
        else:
            _CACHE.pop(str(session.get_bind().url), None)
