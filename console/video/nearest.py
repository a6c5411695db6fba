"""The cameras nearest to a point, by distance and by where they look. Pure and vectorised (numpy).

A fixed camera (枪机, 卡口) that looks away from the alert counts as `AWAY_FACTOR` times farther than it is;
a dome (球机) turns, so it always counts as facing. Distances are great-circle metres.
"""

from __future__ import annotations

import numpy as np

EARTH_M = 6_371_008.8
AWAY_FACTOR = 2.0
# Horizontal field of view by camera kind (degrees), when the device list gives none (docs/video.md).
DEFAULT_FOV = {"bullet": 60.0, "dome": 360.0, "hemisphere": 90.0, "face": 40.0, "vehicle": 30.0}


def distances_m(lon: float, lat: float, lons: np.ndarray, lats: np.ndarray) -> np.ndarray:
    lon1, lat1 = np.radians(lon), np.radians(lat)
    lon2, lat2 = np.radians(lons), np.radians(lats)
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_M * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def bearings_deg(lons: np.ndarray, lats: np.ndarray, lon: float, lat: float) -> np.ndarray:
    """Initial bearing from each camera to the point, degrees clockwise from north."""
    lon1, lat1 = np.radians(lons), np.radians(lats)
    lon2, lat2 = np.radians(lon), np.radians(lat)
    y = np.sin(lon2 - lon1) * np.cos(lat2)
    x = np.cos(lat1) * np.sin(lat2) - np.sin(lat1) * np.cos(lat2) * np.cos(lon2 - lon1)
    return np.degrees(np.arctan2(y, x)) % 360


def facing(directions: np.ndarray, fovs: np.ndarray, bearings: np.ndarray) -> np.ndarray:
    """True where the bearing lies inside the camera's field of view (centred on its direction)."""
    off = np.abs((bearings - directions + 180) % 360 - 180)
    return (fovs >= 360) | (off <= fovs / 2)


def nearest(lon: float, lat: float, lons: np.ndarray, lats: np.ndarray, directions: np.ndarray,
            fovs: np.ndarray, usable: np.ndarray, n: int, max_m: float = 5_000) -> tuple[np.ndarray, np.ndarray,
                                                                                      np.ndarray]:
    """(indices, distances in metres, facing flags) of up to `n` usable cameras within `max_m`, best first.

    `usable` masks cameras out (offline, outside the viewer's scope, no position)."""
    d = distances_m(lon, lat, lons, lats)
    ok = usable & np.isfinite(d) & (d <= max_m)
    idx = np.flatnonzero(ok)
    if idx.size == 0 or n <= 0:
        empty = np.array([], dtype=int)
        return empty, np.array([]), np.array([], dtype=bool)
    faces = facing(directions[idx], fovs[idx], bearings_deg(lons[idx], lats[idx], lon, lat))
    score = np.where(faces, d[idx], d[idx] * AWAY_FACTOR)
    k = min(n, idx.size)
    part = np.argpartition(score, k - 1)[:k]
    order = part[np.lexsort((idx[part], score[part]))]  # ties: the lower index first (stable answers)
    return idx[order], d[idx[order]], faces[order]
