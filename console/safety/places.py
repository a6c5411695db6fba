"""Key places and 护路护线 lines near a point, in a scope. Reads only (an indexed box, then exact distances)."""

from __future__ import annotations

import json

import numpy as np
import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session

from console.store import AreaScope
from console.store.safety_models import KeyPlace, SafetyLine

from . import geo
from console.store.codes import KEY_PLACE_KINDS, LINE_KINDS, RISK_LEVELS

RISK_ORDER = {"high": 0, "medium": 1, "low": 2}


def places_near(s: Session, scope: AreaScope, lon: float, lat: float, radius_m: float) -> list[dict]:
    """Key places in the scope within `radius_m`, nearest first."""
    x0, y0, x1, y1 = geo.bbox(lon, lat, radius_m)
    rows = s.execute(select(KeyPlace.id, KeyPlace.name, KeyPlace.kind, KeyPlace.risk_level, KeyPlace.address,
                            KeyPlace.lon, KeyPlace.lat, KeyPlace.grid_code).where(
        KeyPlace.lon.between(x0, x1), KeyPlace.lat.between(y0, y1), scope.clause(KeyPlace))).all()
    if not rows:
        return []
    idx, dist = geo.within(lon, lat, np.array([r.lon for r in rows]), np.array([r.lat for r in rows]), radius_m)
    return [{"id": rows[i].id, "name": rows[i].name, "kind": rows[i].kind,
             "kind_label": KEY_PLACE_KINDS.get(rows[i].kind, rows[i].kind), "risk_level": rows[i].risk_level,
             "risk_label": RISK_LEVELS.get(rows[i].risk_level, rows[i].risk_level), "address": rows[i].address,
             "grid_code": rows[i].grid_code, "distance_m": round(float(d))} for i, d in zip(idx.tolist(), dist)]


def lines_near(s: Session, scope: AreaScope, lon: float, lat: float, radius_m: float) -> list[dict]:
    """护路护线 sections in the scope passing within `radius_m`, nearest first."""
    x0, y0, x1, y1 = geo.bbox(lon, lat, radius_m)
    rows = s.execute(select(SafetyLine).where(SafetyLine.max_lon >= x0, SafetyLine.min_lon <= x1,
                                              SafetyLine.max_lat >= y0, SafetyLine.min_lat <= y1,
                                              scope.clause(SafetyLine))).scalars().all()
    out = []
    for r in rows:
        d = geo.shape_distance_m(lon, lat, shapely.from_geojson(r.geometry))
        if d <= radius_m:
            out.append({"id": r.id, "name": r.name, "kind_label": LINE_KINDS.get(r.kind, r.kind),
                        "risk_label": RISK_LEVELS.get(r.risk_level, r.risk_level), "grids": r.grids.split(","),
                        "distance_m": round(d)})
    return sorted(out, key=lambda x: (x["distance_m"], x["id"]))


def line_geojson(row: SafetyLine) -> dict:
    return json.loads(row.geometry)
