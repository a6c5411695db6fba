"""Is a grid file that says WGS84 (or CGCS2000) really GCJ-02? 高德/腾讯 exports are GCJ-02 but carry no mark
of it, so a file with a neutral name lands 400-550 m off in Ankang. The test: the grids sit inside their
village clearly better after undoing the GCJ-02 offset than as read. That covers both the size and the
direction of the shift (a true WGS84 file only gets worse). Pure function; docs/planner-import.md."""

from __future__ import annotations

from collections.abc import Sequence

import pyproj
import shapely

from geodata.planner import gcj02

# How much better the converted grids must fit, as a share of the grids' area inside the village.
MIN_GAIN = 0.02
MIN_FIT = 0.9
ALREADY_FITS = 0.99
_GEOD = pyproj.Geod(ellps="WGS84")


def _inside_share(geom, village) -> float:
    area = geom.area
    return shapely.intersection(geom, village).area / area if area > 0 else 0.0


def offset_m(lon: float, lat: float) -> float:
    """The GCJ-02 offset at a WGS84 point, in metres."""
    glon, glat = gcj02.wgs84_to_gcj02(lon, lat)
    return float(_GEOD.inv(lon, lat, glon, glat)[2])


def gcj02_shift(geoms: Sequence, village) -> float | None:
    """The GCJ-02 offset in metres at the village when `geoms` (read as WGS84) look like GCJ-02
    coordinates of grids of `village`; None when they do not."""
    parts = [shapely.make_valid(g) for g in geoms if g is not None and not g.is_empty]
    if not parts or village is None or village.is_empty:
        return None
    union = shapely.union_all(parts)
    village = shapely.make_valid(village)
    as_read = _inside_share(union, village)
    if as_read >= ALREADY_FITS:
        return None
    converted = _inside_share(gcj02.transform_geometry(union, gcj02.gcj02_to_wgs84), village)
    if converted < MIN_FIT or converted - as_read < MIN_GAIN:
        return None
    point = village.representative_point()
    return offset_m(point.x, point.y)
