"""Point → areas for ingest: one PolygonIndex of the current grids per database per process, cached."""

from __future__ import annotations

import math
import threading

from shapely import wkb
from sqlalchemy import Engine, select

from console.store import Grid
from console.store.codes import area_codes_of
from geodata.assign import PolygonIndex

_LOCK = threading.Lock()
_CACHE: dict[str, "GridLocator"] = {}
_BY_ENGINE: dict[int, tuple[Engine, "GridLocator"]] = {}
# Generous outer box of 安康市 (the exact test is "inside a current grid").
CITY_BOX = (108.0, 31.4, 110.2, 33.9)


class GridLocator:
    def __init__(self, codes: list[str], villages: dict[str, str], polygons):
        self.index = PolygonIndex.build(codes, polygons)
        self.villages = villages

    @classmethod
    def from_engine(cls, engine: Engine) -> "GridLocator":
        with engine.connect() as conn:
            rows = conn.execute(select(Grid.code, Grid.village_code, Grid.geom_wkb)
                                .where(Grid.generation_high.is_(None)).order_by(Grid.code)).all()
        return cls([r.code for r in rows], {r.code: r.village_code for r in rows},
                   [wkb.loads(bytes(r.geom_wkb)) for r in rows])

    def areas(self, lon: float, lat: float) -> dict | None:
        """{county, town, village, grid} or None when the point is outside Ankang's grids."""
        if not (CITY_BOX[0] <= lon <= CITY_BOX[2] and CITY_BOX[1] <= lat <= CITY_BOX[3]):
            return None
        # `lookup` only locates: no nearest-grid search for outside points (ingest never needs it, and its
        # numba kernel would compile on the first outside point, stalling the server for seconds).
        grid = self.index.lookup(lon, lat)
        if grid is None:
            return None
        village = self.villages[grid]
        return {**area_codes_of(village), "grid": grid}


def near_city(lon: float, lat: float, margin_deg: float = 0.5) -> bool:
    """Within ~50 km of the city's box: a tagged person just across the border, not a garbage coordinate."""
    return (CITY_BOX[0] - margin_deg <= lon <= CITY_BOX[2] + margin_deg
            and CITY_BOX[1] - margin_deg <= lat <= CITY_BOX[3] + margin_deg)


def locator(engine: Engine) -> GridLocator:
    hit = _BY_ENGINE.get(id(engine))  # fast path: rendering the URL costs more than the point lookup
    if hit is not None and hit[0] is engine:
        return hit[1]
    key = str(engine.url)
    with _LOCK:
        if key not in _CACHE:
            _CACHE[key] = GridLocator.from_engine(engine)
        _BY_ENGINE[id(engine)] = (engine, _CACHE[key])
        return _CACHE[key]


def reset_cache() -> None:
    """Call after a grid redraw (new generation) so the next lookup rebuilds the index."""
    with _LOCK:
        _CACHE.clear()
        _BY_ENGINE.clear()


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Haversine distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371008.8 * math.asin(math.sqrt(a))
