"""Coverage for a viewer's area: cameras and households in scope, per grid the share covered, the gap ranking.

Reads only; scoped by the viewer's area scope; needs `layer:cameras` (the camera layer's own permission:
counts of households, no personal data). The geometry is `coverage` (pure).
"""

from __future__ import annotations

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from console.security import guard
from console.security.guard import Viewer
from console.security.permissions import LAYER_CAMERAS
from console.store import Camera, Household
from console.store.codes import KEY_PLACE_KINDS, RISK_LEVELS
from console.store.safety_models import KeyPlace

from . import coverage


def area_coverage(s: Session, viewer: Viewer, area_code: str, top: int = 20, online_only: bool = True) -> dict:
    """Per grid of the area (a code prefix in the viewer's scope): households, covered, share; the gaps."""
    guard.require(viewer, LAYER_CAMERAS, f"coverage:{area_code}")
    guard.require_area(viewer, area_code, f"coverage:{area_code}")
    return scoped_coverage(s, viewer.scope, area_code, top, online_only)


def scoped_coverage(s: Session, scope, area_code: str, top: int = 20, online_only: bool = True) -> dict:
    """`area_coverage` for a caller that has checked the permission (the map layer): only the scope here."""
    cams = select(Camera.lon, Camera.lat, Camera.direction, Camera.kind).where(
        Camera.grid_code.like(f"{area_code}%"), Camera.lon.is_not(None), scope.clause(Camera))
    if online_only:
        cams = cams.where(Camera.status == "online")
    c = s.execute(cams).all()
    # households by building: one point per building, weighted by its households
    h = s.execute(select(func.min(Household.lon), func.min(Household.lat), func.min(Household.grid_code),
                         func.count()).where(Household.grid_code.like(f"{area_code}%"), Household.lon.is_not(None),
                                             scope.clause(Household))
                  .group_by(Household.building_id)).all()
    geoms = camera_sectors(np.array([r[0] for r in c], float), np.array([r[1] for r in c], float),
                           np.array([r[2] or 0 for r in c], float), np.array([r[3] for r in c], dtype=object))
    places = key_place_coverage(s, scope, area_code, geoms)
    un = places["uncovered"]  # they weigh in the gap ranking by risk level (docs/video.md "Gap ranking")
    result = coverage.by_grid(geoms, np.array([r[0] for r in h], float), np.array([r[1] for r in h], float),
                              np.array([r[3] for r in h], float), np.array([r[2] for r in h], dtype=str),
                              places=(np.array([p["lon"] for p in un], float), np.array([p["lat"] for p in un], float),
                                      coverage.place_weights([p["risk_level"] for p in un]),
                                      np.array([p["grid_code"] or "" for p in un], dtype=str)))
    share = result.share
    grids = [{"grid_code": str(g), "households": int(n), "covered": int(k),
              "share": None if np.isnan(p) else round(float(p), 3), **places["by_grid"].get(str(g), NO_PLACES)}
             for g, n, k, p in zip(result.grid_codes, result.households, result.covered, share)]
    seen = {g["grid_code"] for g in grids}
    grids += [{"grid_code": g, "households": 0, "covered": 0, "share": None, **v}
              for g, v in sorted(places["by_grid"].items()) if g not in seen]
    gaps = result.gaps(top)
    by_risk: dict[str, dict[str, int]] = {}
    for p in un:
        counts = by_risk.setdefault(p["grid_code"], {})
        counts[p["risk_level"]] = counts.get(p["risk_level"], 0) + 1
    for g in gaps:
        g.update(places["by_grid"].get(g["grid_code"], NO_PLACES))
        g["uncovered_places_by_risk"] = by_risk.get(g["grid_code"], {})
    return {"area": area_code, "cameras": len(c),
            "households": int(result.households.sum()), "covered": int(result.covered.sum()),
            "key_places": places["total"], "key_places_covered": places["covered"],
            "grids": grids, "gaps": gaps, "uncovered_places": places["uncovered"]}


NO_PLACES = {"key_places": 0, "key_places_covered": 0, "key_places_share": None}


def key_place_coverage(s: Session, scope, area_code: str, geoms: np.ndarray) -> dict:
    """Key places of the area inside some sector: per grid {key_places, key_places_covered, key_places_share},
    totals, and the uncovered places (highest risk first) — where a camera is owed (docs/safety.md)."""
    rows = s.execute(select(KeyPlace.id, KeyPlace.name, KeyPlace.kind, KeyPlace.risk_level, KeyPlace.lon,
                            KeyPlace.lat, KeyPlace.grid_code).where(
        KeyPlace.grid_code.like(f"{area_code}%"), KeyPlace.lon.is_not(None), scope.clause(KeyPlace))
        .order_by(KeyPlace.id)).all()
    inside = coverage.covered(geoms, np.array([r.lon for r in rows], float), np.array([r.lat for r in rows], float))
    by_grid: dict[str, dict] = {}
    for r, ok in zip(rows, inside.tolist()):
        g = by_grid.setdefault(r.grid_code, {"key_places": 0, "key_places_covered": 0})
        g["key_places"] += 1
        g["key_places_covered"] += int(ok)
    for g in by_grid.values():
        g["key_places_share"] = round(g["key_places_covered"] / g["key_places"], 3)
    risk = {"high": 0, "medium": 1, "low": 2}
    uncovered = sorted(({"id": r.id, "name": r.name, "kind": KEY_PLACE_KINDS.get(r.kind, r.kind),
                         "risk_level": r.risk_level, "risk": RISK_LEVELS.get(r.risk_level, r.risk_level),
                         "grid_code": r.grid_code, "lon": r.lon, "lat": r.lat}
                        for r, ok in zip(rows, inside.tolist()) if not ok),
                       key=lambda p: (risk.get(p["risk_level"], 3), p["grid_code"] or "", p["id"]))
    return {"by_grid": by_grid, "total": len(rows), "covered": int(inside.sum()), "uncovered": uncovered}


def camera_sectors(lons, lats, directions, kinds) -> np.ndarray:
    if not lons.size:
        return np.empty(0, dtype=object)
    fov, rng = coverage.view_of(kinds)
    return coverage.sectors(lons, lats, directions, fov, rng)


def compute(lons, lats, directions, kinds, px, py, weights, grids, places=None) -> coverage.GridCoverage:
    """The whole computation on arrays (the benchmark's): `places` = every key place as (lon, lat, risk level,
    grid); those no sector covers weigh in the gap ranking."""
    geoms = camera_sectors(lons, lats, directions, kinds)
    if places is not None:
        qx, qy, risk, qg = (np.asarray(a) for a in places)
        out = ~coverage.covered(geoms, qx, qy)
        places = (qx[out], qy[out], coverage.place_weights(risk[out]), qg[out])
    return coverage.by_grid(geoms, px, py, weights, grids, places)
