"""Pure validity check for a partition (used by tests and the world builder)."""
from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from ._common import shared_edges


def check_partition(parent, pieces, tol_rel: float = 1e-9, *, allow_multipart: bool | None = None,
                    check_edges: bool = True) -> list[str]:
    """Human-readable problems with ``pieces`` as an exact partition of ``parent``; [] when fine.

    Checks: empty / invalid / non-polygonal pieces; multipart pieces (allowed only when
    ``allow_multipart`` -- default: only if the parent is a MultiPolygon, and then each part of a piece
    must lie in a different part of the parent); gap (parent minus union), area outside the parent,
    pairwise overlaps (areas compared with ``tol_rel * parent.area``); and, with ``check_edges``, that
    every border segment not on the parent's boundary is shared bit-identically by two pieces (no
    T-junctions / mismatched vertices)."""
    problems: list[str] = []
    if not isinstance(parent, BaseGeometry) or parent.is_empty or parent.area <= 0:
        return ["parent is empty or not polygonal"]
    pieces = list(pieces)
    if not pieces:
        return ["no pieces"]
    A = parent.area
    tol = tol_rel * A
    if allow_multipart is None:
        allow_multipart = parent.geom_type == "MultiPolygon"
    parent_parts = shapely.get_parts(parent)
    usable = []
    for i, g in enumerate(pieces):
        if not isinstance(g, BaseGeometry) or g.geom_type not in ("Polygon", "MultiPolygon"):
            problems.append(f"piece {i} is not a Polygon/MultiPolygon ({type(g).__name__ if g is None else g.geom_type})")
            continue
        if not g.is_empty and not g.is_valid:
            problems.append(f"piece {i} is invalid: {shapely.is_valid_reason(g)}")
            continue
        if g.is_empty or g.area <= tol:
            problems.append(f"piece {i} is empty (area {0.0 if g.is_empty else g.area:.3g})")
            continue
        usable.append(i)
        if g.geom_type == "MultiPolygon" and len(g.geoms) > 1:
            if not allow_multipart:
                problems.append(f"piece {i} is a MultiPolygon with {len(g.geoms)} parts")
            else:
                where = [int(np.argmax(shapely.contains(parent_parts, p.point_on_surface()))) for p in g.geoms]
                if len(set(where)) < len(where):
                    problems.append(f"piece {i} has {len(where)} parts, several inside the same parent part")
    if not usable:
        return problems
    geoms = np.array([pieces[i] for i in usable], dtype=object)
    union = shapely.union_all(geoms)
    common = shapely.intersection(union, parent).area  # (difference is slow on near-equal outlines)
    gap = A - common
    if gap > tol:
        problems.append(f"gap: {gap:.3g} of the parent ({gap / A:.3g} relative) is not covered")
    out = union.area - common
    if out > tol:
        outside = shapely.area(shapely.difference(geoms, parent))
        bad = [usable[k] for k in np.nonzero(outside > tol)[0]]
        problems.append(f"area {out:.3g} ({out / A:.3g} relative) lies outside the parent (pieces {bad})")
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="intersects")
    m = a < b
    a, b = a[m], b[m]
    if len(a):
        ov = shapely.area(shapely.intersection(geoms[a], geoms[b]))
        for k in np.nonzero(ov > tol)[0]:
            problems.append(f"pieces {usable[a[k]]} and {usable[b[k]]} overlap (area {ov[k]:.3g})")
    if check_edges and len(geoms) > 1:
        _, (p, q, unmatched) = shared_edges(geoms)
        if unmatched.any():
            mid = 0.5 * (p[unmatched] + q[unmatched])
            boundary = parent.boundary
            shapely.prepare(boundary)  # prepared dwithin uses an index: fast for big outlines
            off = ~shapely.dwithin(boundary, shapely.points(mid), 1e-9 * np.sqrt(A))
            if off.any():
                x, y = mid[off][0]
                problems.append(f"{int(off.sum())} border segment(s) inside the parent are not shared "
                                f"bit-identically by two pieces (T-junction / mismatched vertices), e.g. "
                                f"near ({x:.9f}, {y:.9f})")
    return problems
