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
    result = compute(np.array([r[0] for r in c], float), np.array([r[1] for r in c], float),
                     np.array([r[2] or 0 for r in c], float), np.array([r[3] for r in c], dtype=object),
                     np.array([r[0] for r in h], float), np.array([r[1] for r in h], float),
                     np.array([r[3] for r in h], float), np.array([r[2] for r in h], dtype=str))
    share = result.share
    return {"area": area_code, "cameras": len(c),
            "households": int(result.households.sum()), "covered": int(result.covered.sum()),
            "grids": [{"grid_code": str(g), "households": int(n), "covered": int(k),
                       "share": None if np.isnan(p) else round(float(p), 3)}
                      for g, n, k, p in zip(result.grid_codes, result.households, result.covered, share)],
            "gaps": result.gaps(top)}


def compute(lons, lats, directions, kinds, px, py, weights, grids) -> coverage.GridCoverage:
    fov, rng = coverage.view_of(kinds)
    geoms = coverage.sectors(lons, lats, directions, fov, rng) if lons.size else np.empty(0, dtype=object)
    return coverage.by_grid(geoms, px, py, weights, grids)
