"""Where an area's name goes on the map: inside the polygon, at its pole of inaccessibility (the inner point
farthest from every edge), so a label never sits on a sliver or a border and a click on it opens that area
(docs/console.md, "Map symbols"). Pure geometry, computed once per geometry on the server."""

from __future__ import annotations

import math
from functools import lru_cache

import shapely
from shapely import affinity, wkb
from shapely.geometry import MultiPolygon, Point, Polygon
from shapely.ops import polylabel

# The search stops at 1/200 of the polygon's larger side: a few hundred metres for a county, metres for a grid.
RESOLUTION = 200


def _largest(geom) -> Polygon | None:
    if isinstance(geom, Polygon):
        return geom
    if isinstance(geom, MultiPolygon):
        return max(geom.geoms, key=lambda g: g.area)
    if hasattr(geom, "geoms"):  # a collection: its polygonal parts
        parts = [g for g in geom.geoms if isinstance(g, (Polygon, MultiPolygon))]
        return _largest(max(parts, key=lambda g: g.area)) if parts else None
    return None


def label_point(geom) -> tuple[float, float] | None:
    """(lon, lat) of the label of a polygon in degrees: the pole of inaccessibility of its largest part, measured
    in a locally true-scale plane (a degree of longitude is cos(latitude) of a degree of latitude). None for an
    empty or non-polygonal geometry."""
    part = _largest(geom) if geom is not None and not geom.is_empty else None
    if part is None or part.is_empty:
        return None
    if not part.is_valid:
        part = _largest(shapely.make_valid(part)) or part
    lat0 = part.centroid.y
    k = math.cos(math.radians(lat0))
    plane = affinity.scale(part, xfact=k, yfact=1.0, origin=(0, 0))
    minx, miny, maxx, maxy = plane.bounds
    tol = max(maxx - minx, maxy - miny) / RESOLUTION or 1e-9
    pole = polylabel(plane, tolerance=tol)
    lon, lat = pole.x / k, pole.y
    if not part.contains(Point(lon, lat)):  # degenerate input: any point inside will do
        rep = part.representative_point()
        lon, lat = rep.x, rep.y
    return round(lon, 5), round(lat, 5)


@lru_cache(maxsize=8192)
def label_point_wkb(blob: bytes) -> tuple[float, float] | None:
    """`label_point` of a stored WKB geometry, remembered per geometry (boundaries change only with a new
    generation, which is a new blob)."""
    return label_point(wkb.loads(blob))
