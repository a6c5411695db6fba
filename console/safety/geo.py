"""Radius queries on points and lines (great-circle metres). Pure and vectorised (numpy + shapely 2)."""

from __future__ import annotations

import numpy as np
import shapely
import shapely.ops

EARTH_M = 6_371_008.8
M_PER_DEG_LAT = 110_574.0


def distances_m(lon: float, lat: float, lons, lats) -> np.ndarray:
    lon1, lat1 = np.radians(lon), np.radians(lat)
    lon2, lat2 = np.radians(np.asarray(lons, float)), np.radians(np.asarray(lats, float))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_M * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def bbox(lon: float, lat: float, radius_m: float) -> tuple[float, float, float, float]:
    """A box in degrees holding every point within `radius_m` (for an indexed pre-filter)."""
    dy = radius_m / M_PER_DEG_LAT * 1.01
    dx = dy / max(np.cos(np.radians(lat)), 1e-6)
    return lon - dx, lat - dy, lon + dx, lat + dy


def within(lon: float, lat: float, lons, lats, radius_m: float) -> tuple[np.ndarray, np.ndarray]:
    """(indices, distances) of the points within `radius_m`, nearest first (ties: lower index first)."""
    d = distances_m(lon, lat, lons, lats)
    idx = np.flatnonzero(np.isfinite(d) & (d <= radius_m))
    order = idx[np.lexsort((idx, d[idx]))]
    return order, d[order]


def shape_distance_m(lon: float, lat: float, shape: shapely.Geometry) -> float:
    """Distance from the point to a line or polygon (0 inside): its nearest point (found in a local metre-like
    scale), then the great-circle distance to it. Exact enough for kilometres at Ankang's latitudes."""
    kx = np.cos(np.radians(lat))
    local = shapely.transform(shape, lambda xy: np.column_stack([(xy[:, 0] - lon) * kx, xy[:, 1] - lat]))
    near = shapely.ops.nearest_points(local, shapely.Point(0, 0))[0]
    return float(distances_m(lon, lat, [lon + near.x / kx], [lat + near.y])[0])


def line_length_m(line: shapely.LineString) -> float:
    xy = np.asarray(line.coords)
    if len(xy) < 2:
        return 0.0
    return float(sum(distances_m(x0, y0, [x1], [y1])[0] for (x0, y0), (x1, y1) in zip(xy[:-1], xy[1:])))
