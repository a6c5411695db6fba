"""Draft, evaluation and households as GeoJSON and rows for the planner page (plain data, no Dash)."""

from __future__ import annotations

import numpy as np
from shapely.geometry import mapping

from geodata.planner.draft import State

from .evaluate import Evaluation

STATUS_COLOURS = {"ok": "#38a169", "low": "#d69e2e", "high": "#e53e3e", "empty": "#a0aec0", "crowded": "#c53030",
                  "special": "#805ad5"}


def _round(obj, nd: int = 7):
    if isinstance(obj, (list, tuple)):
        return [_round(o, nd) for o in obj]
    return round(obj, nd) if isinstance(obj, float) else obj


def grids_geojson(state: State, ev: Evaluation) -> dict:
    features = []
    bad = {i for p in ev.errors for i in p.grids}
    for i, (g, t) in enumerate(zip(state, ev.balance.tallies)):
        geom = mapping(g.geometry)
        features.append({"type": "Feature", "id": i, "geometry": {"type": geom["type"],
                                                                  "coordinates": _round(geom["coordinates"])},
                         "properties": {"index": i, "code": g.code or "", "label": g.label,
                                        "households": t.households, "residents": t.residents, "status": t.status,
                                        "colour": STATUS_COLOURS[t.status], "error": i in bad}})
    return {"type": "FeatureCollection", "features": features}


def problems_geojson(ev: Evaluation, lon: np.ndarray, lat: np.ndarray) -> dict:
    """Gaps, overlaps, parts outside — and the households no grid holds — for the warning layer."""
    features = []
    for p in ev.problems:
        if p.geometry is None or p.geometry.is_empty or p.kind in ("multipart", "sliver"):
            continue
        geom = mapping(p.geometry)
        features.append({"type": "Feature", "geometry": {"type": geom["type"], "coordinates": _round(geom["coordinates"])},
                         "properties": {"kind": p.kind, "message": p.message}})
    lost = ev.balance.unassigned
    for k in lost[:2000]:
        features.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [round(float(lon[k]), 6),
                                                                                        round(float(lat[k]), 6)]},
                         "properties": {"kind": "unassigned", "message": "未归属任何网格的住户"}})
    return {"type": "FeatureCollection", "features": features}


def households_geojson(lon: np.ndarray, lat: np.ndarray) -> dict:
    """Household positions only (no names, no addresses): what the planner balances."""
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [round(float(x), 6), round(float(y), 6)]},
         "properties": {}} for x, y in zip(lon, lat)]}


def leaflet_positions(geom) -> list | None:
    """[[lat, lon], …] of a single-ring polygon for dl.Polygon; None when it cannot be edited by vertices."""
    if geom.geom_type != "Polygon" or len(geom.interiors):
        return None
    return [[round(y, 9), round(x, 9)] for x, y in list(geom.exterior.coords)[:-1]]


def bounds(geom) -> list[list[float]]:
    x0, y0, x1, y1 = geom.bounds
    return [[y0, x0], [y1, x1]]
