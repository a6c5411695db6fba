"""GCJ-02 ("Mars coordinates", used by 高德/腾讯 map exports) to and from WGS84, vectorised with numpy.

No CRS library implements GCJ-02: it is an obfuscation of WGS84 longitude/latitude by a published
closed-form offset (Krasovsky ellipsoid constants, a sum of sines). The forward direction is that
formula; the inverse has no closed form and is solved by fixed-point iteration, which converges
because the offset varies slowly (its Jacobian is close to zero), to well below 1e-7 degrees
(about 1 cm) in a handful of steps.

Outside the rough box the obfuscation applies to (mainland China), GCJ-02 equals WGS84.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import shapely

# Krasovsky 1940 semi-major axis and first eccentricity squared, as used by the GCJ-02 formula.
_A = 6378245.0
_EE = 0.00669342162296594323

# The box the offset is applied in (the usual "out of China" test of published implementations).
_LON_MIN, _LON_MAX = 72.004, 137.8347
_LAT_MIN, _LAT_MAX = 0.8293, 55.8271

_MAX_ITERATIONS = 30
_TOLERANCE_DEG = 1e-10


def in_china(lon, lat) -> np.ndarray:
    """True where the GCJ-02 offset applies (inside the rough mainland-China box)."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    return (lon >= _LON_MIN) & (lon <= _LON_MAX) & (lat >= _LAT_MIN) & (lat <= _LAT_MAX)


def _offset(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 minus WGS84, in degrees, at WGS84 (lon, lat); zero outside the China box."""
    x = lon - 105.0
    y = lat - 35.0
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    d_lat = (
        -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
        + common
        + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
        + (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    )
    d_lon = (
        300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
        + common
        + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
        + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    )
    rad_lat = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    d_lon = (d_lon * 180.0) / (_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    inside = in_china(lon, lat)
    return np.where(inside, d_lon, 0.0), np.where(inside, d_lat, 0.0)


def _as_arrays(lon, lat) -> tuple[np.ndarray, np.ndarray, bool]:
    lon_a = np.asarray(lon, dtype=float)
    lat_a = np.asarray(lat, dtype=float)
    scalar = lon_a.ndim == 0 and lat_a.ndim == 0
    lon_a, lat_a = np.broadcast_arrays(lon_a, lat_a)
    return lon_a, lat_a, scalar


def _result(lon: np.ndarray, lat: np.ndarray, scalar: bool):
    if scalar:
        return float(lon), float(lat)
    return lon, lat


def wgs84_to_gcj02(lon, lat):
    """WGS84 (lon, lat) in degrees to GCJ-02. Scalars give a tuple of floats, arrays a tuple of arrays."""
    lon_a, lat_a, scalar = _as_arrays(lon, lat)
    d_lon, d_lat = _offset(lon_a, lat_a)
    return _result(lon_a + d_lon, lat_a + d_lat, scalar)


def gcj02_to_wgs84(lon, lat):
    """GCJ-02 (lon, lat) in degrees to WGS84, by fixed-point iteration on the forward formula:
    w <- g - offset(w). Accurate to better than 1e-7 degrees; points outside China are returned as given."""
    g_lon, g_lat, scalar = _as_arrays(lon, lat)
    w_lon = g_lon.copy()
    w_lat = g_lat.copy()
    for _ in range(_MAX_ITERATIONS):
        d_lon, d_lat = _offset(w_lon, w_lat)
        n_lon = g_lon - d_lon
        n_lat = g_lat - d_lat
        step = max(
            float(np.max(np.abs(n_lon - w_lon), initial=0.0)),
            float(np.max(np.abs(n_lat - w_lat), initial=0.0)),
        )
        w_lon, w_lat = n_lon, n_lat
        if step < _TOLERANCE_DEG:
            break
    return _result(w_lon, w_lat, scalar)


def transform_geometry(geom, func: Callable):
    """Apply func(lon_array, lat_array) -> (lon_array, lat_array) to every vertex of a shapely
    geometry (or array of geometries), keeping its structure. Z is dropped."""

    def _xy(coords: np.ndarray) -> np.ndarray:
        x, y = func(coords[:, 0], coords[:, 1])
        return np.column_stack([np.asarray(x, dtype=float), np.asarray(y, dtype=float)])

    return shapely.transform(geom, _xy, include_z=False)
