"""PolygonIndex: exact point -> polygon assignment on a uniform raster of edge lists.

Tie rule (exact, see docs/assignment.md): a point is assigned to the polygon that
contains the points ``(lon + d, lat + e)`` for all sufficiently small ``0 < e << d``,
i.e. the polygon immediately *east* of it, taking the *north* side when the eastward
direction runs along a boundary.  Consequences:

* a point on a north-south (or any non-horizontal) shared edge -> the polygon on its east;
* a point on an east-west shared edge -> the polygon on its north;
* a vertex -> the polygon whose corner contains the direction just north of due east
  (east-north-east);
* outer boundary: west and south sides belong to the polygon, east and north sides are
  outside (reported with their nearest polygon at distance 0).

Polygons are assumed to be non-overlapping (a coverage).  Points in an overlap get
one of the overlapping polygons (deterministically), not an error.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Sequence

import numpy as np
import shapely

from . import kernels as K
from .outside import OuterEdges, outer_edge_mask
from .validate import as_points, check_polygons

CELLS_PER_EDGE = 8.0       # default raster density (cells per polygon edge)
MAX_CELLS = 16_000_000     # one int32 word per cell: <= 64 MB
_TOL = 1e-9                # degrees; cell lists are padded by this much
_PAD = 1e-7                # degrees between the polygons' bbox and the raster border
TILE_CELLS = 8             # large queries are sorted by tiles of 8 x 8 cells first
SORT_MIN_POINTS = 100_000  # below this the index's working set is touched too little to pay


@dataclass(eq=False)
class AssignResult:
    """Result of :meth:`PolygonIndex.assign` for ``n`` points.

    ``poly_idx``            int32[n], index into the index's codes, -1 when outside.
    ``outside``             int64[m], indices of the points outside every polygon.
    ``nearest_idx``         int32[m], nearest polygon of each outside point.
    ``nearest_distance_m``  float64[m], geodesic distance (metres) to that polygon.
    ``codes``               object[n] (property, built on first access): code or None.
    ``nearest_codes``       object[m] (property): codes of ``nearest_idx``.
    """

    poly_idx: np.ndarray
    outside: np.ndarray
    nearest_idx: np.ndarray
    nearest_distance_m: np.ndarray
    code_table: np.ndarray = field(repr=False)  # object[n_polygons + 1], last is None

    def __len__(self) -> int:
        return self.poly_idx.shape[0]

    @property
    def inside(self) -> np.ndarray:
        return self.poly_idx >= 0

    @cached_property
    def codes(self) -> np.ndarray:
        return self.code_table[self.poly_idx]  # -1 picks the trailing None

    @cached_property
    def nearest_codes(self) -> np.ndarray:
        return self.code_table[self.nearest_idx]


class PolygonIndex:
    """Exact point-in-polygon index over a set of non-overlapping polygons."""

    def __init__(self):  # use PolygonIndex.build
        raise TypeError("use PolygonIndex.build(codes, polygons)")

    # ------------------------------------------------------------------ build
    @classmethod
    def build(cls, codes: Sequence[str], polygons, cell_size_deg: float | None = None
              ) -> "PolygonIndex":
        """Validate ``polygons`` (shapely Polygon/MultiPolygon, lon/lat) and index them.

        ``cell_size_deg``: raster cell size; default gives ~``CELLS_PER_EDGE`` cells per
        edge.  Either way the raster is coarsened to stay within ``MAX_CELLS`` cells.
        Raises :class:`InvalidPolygonsError`.
        """
        codes, geoms = check_polygons(codes, polygons)
        self = object.__new__(cls)
        self.codes = tuple(codes)
        self._code_table = np.array(list(codes) + [None], dtype=object)
        self._code_pos = None
        x0, y0, x1, y1, down, poly = _extract_edges(geoms)
        self._raster(x0, y0, x1, y1, down, poly, cell_size_deg)
        outer = outer_edge_mask(x0, y0, x1, y1)
        self._outer = OuterEdges(x0[outer], y0[outer], x1[outer], y1[outer], poly[outer])
        return self

    def _raster(self, x0, y0, x1, y1, down, poly, cell_size):
        swap = (y0 > y1) | ((y0 == y1) & (x0 > x1))  # canonical: lower endpoint first
        xl = np.where(swap, x1, x0)
        yl = np.where(swap, y1, y0)
        xh = np.where(swap, x0, x1)
        yh = np.where(swap, y0, y1)
        dy = yh - yl
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(dy > 0.0, (xh - xl) / np.where(dy > 0.0, dy, 1.0), 0.0)
        lab = (poly.astype(np.int32) << 1) | down.astype(np.int32)
        bx0, by0 = min(xl.min(), xh.min()), yl.min()
        bx1, by1 = max(xl.max(), xh.max()), yh.max()
        w = bx1 - bx0 + 2 * _PAD
        h = by1 - by0 + 2 * _PAD
        if cell_size is None:
            cell_size = math.sqrt(w * h / max(CELLS_PER_EDGE * xl.shape[0], 1.0))
        cell_size = float(cell_size)
        if not (cell_size > 0.0 and math.isfinite(cell_size)):
            raise ValueError(f"cell_size_deg must be a positive number, got {cell_size!r}")
        while math.ceil(w / cell_size) * math.ceil(h / cell_size) > MAX_CELLS:
            cell_size *= 1.05 * math.sqrt(math.ceil(w / cell_size) * math.ceil(h / cell_size)
                                          / MAX_CELLS)
        self.cell_size = cell_size
        self.nx = max(int(math.ceil(w / cell_size)), 1)
        self.ny = max(int(math.ceil(h / cell_size)), 1)
        self.x0 = float(bx0 - _PAD)
        self.y0 = float(by0 - _PAD)
        self.bounds = (float(bx0), float(by0), float(bx1), float(by1))
        self._tiles_x = -(-self.nx // TILE_CELLS)
        self._tiles_y = -(-self.ny // TILE_CELLS)
        start, F, ent_e = K.build_csr(xl, yl, xh, yh, t, lab, self.x0, self.y0, cell_size,
                                      self.nx, self.ny, _TOL)
        if int(np.diff(start).max(initial=0)) >= 1 << 24:
            raise ValueError("raster too coarse: a cell holds more than 2**24 edges")
        self._F = F
        self._ent_e = ent_e
        self._exh = np.ascontiguousarray(xh)
        self._word, self._btab = K.sweep_labels(start, F, ent_e, self._exh, self.x0,
                                                self.y0, cell_size, self.nx, self.ny, _TOL)
        self.n_edges = int(xl.shape[0])

    # ----------------------------------------------------------------- queries
    def __len__(self) -> int:
        return len(self.codes)

    def __repr__(self) -> str:
        return (f"PolygonIndex({len(self)} polygons, {self.n_edges} edges, "
                f"{self.nx}x{self.ny} cells of {self.cell_size:.5g} deg)")

    @property
    def stats(self) -> dict:
        pure = float(np.mean(self._word >= -1))
        return {"polygons": len(self), "edges": self.n_edges, "outer_edges": len(self._outer),
                "nx": self.nx, "ny": self.ny, "cell_size_deg": self.cell_size,
                "entries": int(self._F.shape[0]), "pure_cell_share": pure,
                "nbytes": int(sum(a.nbytes for a in (self._word, self._btab, self._F,
                                                     self._ent_e, self._exh)))}

    def locate(self, lon, lat) -> np.ndarray:
        """Polygon index (int32, -1 outside) of each point; no nearest search."""
        x, y = as_points(lon, lat)
        return self._locate(x, y)

    def _locate(self, x, y):
        n = x.shape[0]
        tiles = self._tiles_x * self._tiles_y
        perm = None
        if n >= SORT_MIN_POINTS and n >= 4 * tiles:  # query in raster-tile order (cache-friendly)
            x, y, perm = K.tile_order(x, y, self.x0, self.y0, self.cell_size * TILE_CELLS,
                                      self._tiles_x, self._tiles_y)
        out = np.empty(n, np.int32)
        K.run_threads(K.locate_range, n, x, y, out, self._word, self._btab,
                      self._F, self._ent_e, self._exh, self.x0, self.y0, self.cell_size, self.nx,
                      self.ny)
        if perm is None:
            return out
        back = np.empty(n, np.int32)
        back[perm] = out
        return back

    def assign(self, lon, lat, nearest: bool = True) -> AssignResult:
        """Assign points (lon/lat degrees) to polygons.

        Raises :class:`InvalidPointsError` for NaN/inf or out-of-range coordinates.
        With ``nearest=False`` the nearest-polygon arrays are left empty.
        """
        x, y = as_points(lon, lat)
        idx = self._locate(x, y)
        out = np.flatnonzero(idx < 0)
        if nearest:
            near, dist = self._outer.nearest(x[out], y[out])
        else:
            near, dist = np.empty(0, np.int32), np.empty(0)
        return AssignResult(idx, out, near, dist, self._code_table)

    def lookup(self, lon: float, lat: float) -> str | None:
        """Code of the polygon assigned to one point, or None when outside."""
        x, y = as_points(lon, lat)
        if x.shape[0] != 1:
            raise ValueError("lookup takes a single point; use assign for many")
        i = int(self._locate(x, y)[0])
        return self.codes[i] if i >= 0 else None

    def nearest(self, lon, lat) -> tuple[np.ndarray, np.ndarray]:
        """(nearest polygon index, geodesic distance m) to the polygons' outer boundary.

        Meaningful for points outside every polygon (inside points get their distance
        to the outer boundary of the whole set, not 0).
        """
        x, y = as_points(lon, lat)
        return self._outer.nearest(x, y)

    def code_index(self, code: str) -> int:
        """Position of ``code`` in ``codes`` (KeyError if unknown)."""
        if self._code_pos is None:
            self._code_pos = {c: i for i, c in enumerate(self.codes)}
        return self._code_pos[code]


def _extract_edges(geoms: np.ndarray):
    """Every ring edge (x0, y0, x1, y1), its 'down' flag and its polygon id.

    ``down`` is True when the edge runs southwards in its ring after re-orienting the
    ring (exterior counter-clockwise, holes clockwise): the polygon is on its east side.
    """
    parts, part_src = shapely.get_parts(geoms, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    is_ext = np.ones(rings.shape[0], bool)
    is_ext[1:] = ring_part[1:] != ring_part[:-1]
    xy, cring = shapely.get_coordinates(rings, return_index=True)
    same = cring[1:] == cring[:-1]
    x0 = xy[:-1, 0][same]
    y0 = xy[:-1, 1][same]
    x1 = xy[1:, 0][same]
    y1 = xy[1:, 1][same]
    ering = cring[:-1][same]
    keep = (x0 != x1) | (y0 != y1)
    x0, y0, x1, y1, ering = x0[keep], y0[keep], x1[keep], y1[keep], ering[keep]
    ox, oy = xy[:, 0].min(), xy[:, 1].min()  # shift for a well-conditioned shoelace
    cross = (x0 - ox) * (y1 - oy) - (x1 - ox) * (y0 - oy)
    area2 = np.bincount(ering, weights=cross, minlength=rings.shape[0])
    flip = (area2 > 0.0) != is_ext  # ring runs the wrong way round
    down = (y1 < y0) != flip[ering]
    poly = part_src[ring_part[ering]].astype(np.int32)
    return (np.ascontiguousarray(x0), np.ascontiguousarray(y0), np.ascontiguousarray(x1),
            np.ascontiguousarray(y1), down, poly)


def assign_points(codes: Sequence[str], polygons, lon, lat,
                  cell_size_deg: float | None = None) -> AssignResult:
    """Convenience: ``PolygonIndex.build(codes, polygons).assign(lon, lat)``."""
    return PolygonIndex.build(codes, polygons, cell_size_deg).assign(lon, lat)
