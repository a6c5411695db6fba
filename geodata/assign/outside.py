"""Nearest polygon (and geodesic distance) for points that fall outside every polygon.

Only the *outer* edges take part: an edge whose exact twin (same two endpoints) belongs
to another polygon lies inside the union and can never be the closest boundary of an
outside point.  The outer edges keep their ring order (spatially coherent) and get an
implicit ``FANOUT``-ary bounding-box tree over consecutive ranges, walked depth first,
nearest child first, skipping every box whose distance lower bound is above the best
distance found so far (exact branch-and-bound).  For large queries a coarse grid of
per-cell candidate lists (built once, lazily) answers most points with a short scan;
see :mod:`geodata.assign.near_kernels`.  Equal distances go to the lower polygon index.

Metric: for a point at latitude ``phi`` the search uses the local equirectangular plane
``(dlon * cos(phi), dlat)``; the closest boundary point found there is mapped back to
lon/lat and the reported distance is the ellipsoidal distance between the point and
that boundary point.  Points farther than 100 km (or beyond |lat| 80) are redone by brute
force on the sphere (great-circle arcs; few such points are expected) and measured with
``pyproj.Geod``.  Distances: below 100 km (and |lat| < 80) the mid-latitude formula on the
WGS84 ellipsoid (``hypot(dlon * N cos(phi_m), dlat * M)``, relative error < 5e-5 versus
``pyproj.Geod``), otherwise ``pyproj.Geod(ellps="WGS84").inv`` (CGCS2000's ellipsoid
differs by < 0.1 mm).  The closest point is found in the local plane (or on the sphere),
so versus the true geodesic minimum the error is far below 0.1 % in practice.
"""
from __future__ import annotations

import math

import numpy as np
from pyproj import Geod

from . import near_kernels as NK
from .kernels import run_threads
from .near_kernels import FANOUT

_GEOD = Geod(ellps="WGS84")


def outer_edge_mask(x0, y0, x1, y1) -> np.ndarray:
    """True for edges with no exact twin (same endpoints, any direction) elsewhere."""
    n = x0.shape[0]
    if n == 0:
        return np.zeros(0, bool)
    swap = (y0 > y1) | ((y0 == y1) & (x0 > x1))
    keys = np.empty((n, 4))
    keys[:, 0] = np.where(swap, x1, x0)
    keys[:, 1] = np.where(swap, y1, y0)
    keys[:, 2] = np.where(swap, x0, x1)
    keys[:, 3] = np.where(swap, y0, y1)
    keys += 0.0  # -0.0 -> 0.0 so that equal numbers compare equal
    order = np.lexsort((keys[:, 3], keys[:, 2], keys[:, 1], keys[:, 0]))
    k = keys[order]
    new = np.ones(n, bool)
    new[1:] = (k[1:] != k[:-1]).any(axis=1)
    run = np.cumsum(new) - 1
    counts = np.bincount(run)
    mask = np.empty(n, bool)
    mask[order] = counts[run] == 1
    return mask


def _tree(x0, y0, x1, y1):
    """Boxes of all tree levels, concatenated, and each level's offset.

    Level 0 nodes cover FANOUT consecutive edges; level k nodes cover FANOUT level k-1
    nodes; the last level has a single root.
    """
    cur = np.stack([np.minimum(x0, x1), np.minimum(y0, y1),
                    np.maximum(x0, x1), np.maximum(y0, y1)], axis=1)
    levels = []
    while True:
        idx = np.arange(0, cur.shape[0], FANOUT)
        cur = np.stack([np.minimum.reduceat(cur[:, 0], idx), np.minimum.reduceat(cur[:, 1], idx),
                        np.maximum.reduceat(cur[:, 2], idx), np.maximum.reduceat(cur[:, 3], idx)],
                       axis=1)
        levels.append(cur)
        if cur.shape[0] == 1:
            break
    offs = np.cumsum([0] + [lv.shape[0] for lv in levels]).astype(np.int64)
    return np.ascontiguousarray(np.concatenate(levels)), offs


class OuterEdges:
    """Outer boundary edges of a polygon set, ready for nearest-polygon queries."""

    GRID_MIN_POINTS = 5_000  # build the candidate grid lazily, for large queries only
    GRID_MAX_CAND = 32

    def __init__(self, x0, y0, x1, y1, poly):
        self.x0, self.y0, self.x1, self.y1 = (np.ascontiguousarray(a, np.float64)
                                              for a in (x0, y0, x1, y1))
        self.poly = np.ascontiguousarray(poly, np.int32)
        self._unit = None
        self._grid = None
        if len(self):
            self.boxes, self.level_offs = _tree(self.x0, self.y0, self.x1, self.y1)

    def __len__(self) -> int:
        return self.x0.shape[0]

    def _candidate_grid(self, use: bool):
        if not use:
            return (0.0, 0.0, 1.0, 0, np.zeros(1, np.int64), np.empty(0, np.int32),
                    np.zeros(0, np.bool_))
        if self._grid is None:
            x0 = min(self.x0.min(), self.x1.min())
            x1 = max(self.x0.max(), self.x1.max())
            y0 = min(self.y0.min(), self.y1.min())
            y1 = max(self.y0.max(), self.y1.max())
            size = max(x1 - x0, y1 - y0) * 1.2 + 0.02  # the edges' box plus a margin
            gn = int(min(256, max(16, math.sqrt(16.0 * len(self)))))
            gx0 = 0.5 * (x0 + x1) - 0.5 * size
            gy0 = 0.5 * (y0 + y1) - 0.5 * size
            start, cand, valid = NK.build_grid(gx0, gy0, size / gn, gn, self.x0, self.y0,
                                               self.x1, self.y1, self.poly, self.boxes,
                                               self.level_offs, self.GRID_MAX_CAND)
            self._grid = (gx0, gy0, size / gn, gn, start, cand, valid)
        return self._grid

    def nearest(self, lon: np.ndarray, lat: np.ndarray):
        """(polygon index int32, distance in metres float64) for each point."""
        n = lon.shape[0]
        if n == 0:
            return np.empty(0, np.int32), np.empty(0)
        if len(self) == 0:
            return np.full(n, -1, np.int32), np.full(n, np.inf)
        lon = np.ascontiguousarray(lon, np.float64)
        lat = np.ascontiguousarray(lat, np.float64)
        poly = np.empty(n, np.int32)
        qx = np.empty(n)
        qy = np.empty(n)
        dist = np.empty(n)
        grid = self._candidate_grid(n >= self.GRID_MIN_POINTS)
        run_threads(NK.nearest_range, n, lon, lat, poly, qx, qy, dist, self.x0, self.y0,
                    self.x1, self.y1, self.poly, self.boxes, self.level_offs, *grid,
                    min_chunk=2_000)
        far = np.flatnonzero(dist < 0.0)
        if far.size:  # > 100 km or polar: redo on the sphere, then the geodesic
            fp = np.empty(far.size, np.int32)
            fx = np.empty(far.size)
            fy = np.empty(far.size)
            if self._unit is None:
                self._unit = (_unit(self.x0, self.y0), _unit(self.x1, self.y1))
            run_threads(NK.sphere_nearest_range, far.size, lon[far], lat[far], fp, fx, fy,
                        self._unit[0], self._unit[1], self.poly, min_chunk=200)
            poly[far] = fp
            dist[far] = _GEOD.inv(lon[far], lat[far], fx, fy)[2]
        return poly, dist


def _unit(lon, lat):
    lo, la = np.deg2rad(lon), np.deg2rad(lat)
    return np.ascontiguousarray(np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo),
                                          np.sin(la)], axis=1))
