"""Geometry → compact GeoJSON: WKB polygons simplified per level, coordinates rounded."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import shapely
from shapely import wkb

# Simplification tolerance in degrees per level of the areas drawn (1e-3 ° ≈ 100 m).
TOLERANCE = {"county": 0.002, "town": 0.0008, "village": 0.0003, "grid": 0.0001}
PRECISION = {"county": 4, "town": 4, "village": 5, "grid": 5}

DATA_DIR = Path(__file__).resolve().parents[2] / "geodata" / "data"
BASEMAP_FILES = {
    "provinces": "context_province_tianditu_cgcs2000.geojson",
    "cities": "context_city_tianditu_cgcs2000.geojson",
    "outline": "ankang_city_tianditu_cgcs2000.geojson",
    "counties": "ankang_counties_tianditu_cgcs2000.geojson",
    "rivers": "rivers_wdbii_ankang_bbox.geojson",
}
CLIPPED_CONTEXT = ("provinces", "cities")  # polygon layers shipped clipped to a rectangle around Ankang
BASEMAP_TOLERANCE = {"provinces": 0.01, "cities": 0.005, "outline": 0.001, "counties": 0.001, "rivers": 0.002}


def _round(coords, digits: int):
    if isinstance(coords, (float, int)):
        return round(coords, digits)
    return [_round(c, digits) for c in coords]


def shape_to_geometry(geom, level: str) -> dict:
    simple = shapely.simplify(geom, TOLERANCE.get(level, 0.0005), preserve_topology=True)
    mapping = shapely.geometry.mapping(simple)
    return {"type": mapping["type"], "coordinates": _round(mapping["coordinates"], PRECISION.get(level, 5))}


def wkb_to_geometry(blob: bytes, level: str) -> dict:
    return shape_to_geometry(wkb.loads(blob), level)


def feature(geometry: dict | None, properties: dict, fid: str | int | None = None) -> dict:
    out = {"type": "Feature", "geometry": geometry, "properties": properties}
    if fid is not None:
        out["id"] = fid
    return out


def point(lon: float, lat: float) -> dict:
    return {"type": "Point", "coordinates": [round(lon, 5), round(lat, 5)]}


def collection(features: list[dict]) -> dict:
    return {"type": "FeatureCollection", "features": features}


def dumps(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@lru_cache(maxsize=8)
def basemap(name: str) -> bytes:
    """One of the shipped context layers, simplified, as GeoJSON bytes. KeyError for unknown names."""
    path = DATA_DIR / BASEMAP_FILES[name]
    raw = json.loads(path.read_text(encoding="utf-8"))
    tol = BASEMAP_TOLERANCE[name]
    feats, borders = [], []
    for f in raw["features"]:
        geom = shapely.geometry.shape(f["geometry"])
        simple = shapely.simplify(geom, tol, preserve_topology=True)
        mapping = shapely.geometry.mapping(simple)
        props = {k: v for k, v in (f.get("properties") or {}).items() if k in ("code", "name", "rank")}
        feats.append(feature({"type": mapping["type"], "coordinates": _round(mapping["coordinates"], 4)}, props))
        if name in CLIPPED_CONTEXT:
            borders.append(simple.boundary)
    if borders:
        feats += _borders_inside(borders, tol)
    return dumps(collection(feats))


def _borders_inside(borders: list, tol: float) -> list[dict]:
    """The context polygons' borders without the edges of the rectangle the shipped data was clipped to: drawn as
    lines (the polygons themselves are filled without a stroke), so a view wider than the data shows no box."""
    lines = shapely.union_all(borders)
    x0, y0, x1, y1 = lines.bounds
    frame = shapely.box(x0, y0, x1, y1).exterior.buffer(2 * tol)  # simplified edges wander up to `tol`
    inside = shapely.difference(lines, frame)
    if inside.is_empty:
        return []
    mapping = shapely.geometry.mapping(inside)
    return [feature({"type": mapping["type"], "coordinates": _round(mapping["coordinates"], 4)}, {"border": True})]
