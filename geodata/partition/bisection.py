"""Balanced recursive bisection of a polygon by point counts (e.g. "propose K grids for this village")."""
from __future__ import annotations

import numpy as np
import shapely

from ._common import (
    PartitionError,
    arrangement_faces,
    as_polygonal,
    as_xy,
    assemble,
    metric_xscale,
    resolve_connectivity,
)

_MIN_AREA_FRAC = 1e-7  # a cut may not leave a side with less than this share of the current piece


def _half_box(bounds, axis: int, c: float, pad: float):
    minx, miny, maxx, maxy = bounds
    if axis == 0:
        return shapely.box(minx - pad, miny - pad, c, maxy + pad)
    return shapely.box(minx - pad, miny - pad, maxx + pad, c)


def _area_cut(P, axis: int, lo: float, hi: float, frac: float, pad: float) -> float:
    """Coordinate c in (lo, hi) whose lower half-plane holds ~``frac`` of P's area (bisection)."""
    total = P.area
    a, b = lo, hi
    for _ in range(30):
        c = 0.5 * (a + b)
        if shapely.intersection(P, _half_box(P.bounds, axis, c, pad)).area < frac * total:
            a = c
        else:
            b = c
    return 0.5 * (a + b)


def _cut_coordinate(P, axis: int, v: np.ndarray, w: np.ndarray, target: float, frac: float, pad: float) -> float:
    """Cut strictly between two distinct point coordinates, at the split whose lower weight is closest
    to ``target``. When the best split leaves one side without points (fewer points than pieces, or
    coincident points), the cut is placed by area instead."""
    lo_b = P.bounds[axis]
    hi_b = P.bounds[axis + 2]
    order = np.argsort(v, kind="stable")
    vs, ws = v[order], w[order]
    n = len(vs)
    if n == 0:
        return _area_cut(P, axis, lo_b, hi_b, frac, pad)
    cw = np.concatenate([[0.0], np.cumsum(ws)])  # weight of the first s points
    valid = np.ones(n + 1, dtype=bool)
    valid[1:n] = vs[1:] > vs[:-1]
    valid[0] = vs[0] > lo_b  # a split must leave room inside the piece's extent
    valid[n] = vs[-1] < hi_b
    cand = np.nonzero(valid)[0]
    if len(cand) == 0:
        return _area_cut(P, axis, lo_b, hi_b, frac, pad)
    err = np.abs(cw[cand] - target)
    s = int(cand[np.argmin(err)])
    if 0 < s < n:
        return 0.5 * (vs[s - 1] + vs[s])
    # no split between distinct coordinates can do better than leaving a side without points (fewer
    # points than pieces, coincident points, one dominant weight): cut by area, not next to a point
    return _area_cut(P, axis, lo_b, hi_b, frac, pad)


def _evaluate(P, axis, c, idx, xy, w, pad, xs):
    """Cut P at ``axis == c``; make both sides single connected parts; return (A, B, side_of_point)."""
    hb = _half_box(P.bounds, axis, c, pad)
    A0 = shapely.intersection(P, hb)
    B0 = shapely.difference(P, hb)
    pa = [g for g in shapely.get_parts(A0) if g.geom_type == "Polygon" and g.area > 0]
    pb = [g for g in shapely.get_parts(B0) if g.geom_type == "Polygon" and g.area > 0]
    if not pa or not pb:
        return None
    pts = xy[idx]
    if len(pa) == 1 and len(pb) == 1:
        side = (pts[:, axis] >= c).astype(np.int64)
        return pa[0], pb[0], side
    parts = np.array(pa + pb, dtype=object)
    nside = np.array([0] * len(pa) + [1] * len(pb))
    # point -> part (containment, else nearest part)
    owner = np.full(len(pts), -1, dtype=np.int64)
    for k, g in enumerate(parts):
        m = (owner < 0) & shapely.contains_xy(g, pts[:, 0], pts[:, 1])
        owner[m] = k
    if (owner < 0).any():
        lost = np.nonzero(owner < 0)[0]
        qi, ti = shapely.STRtree(parts).query_nearest(shapely.points(pts[lost]), all_matches=False)
        owner[lost[qi]] = ti
    pw = np.bincount(owner, weights=w[idx], minlength=len(parts))
    # adjacency between A-parts and B-parts: length of their common border (along the cut)
    ii, jj, ll = [], [], []
    for a in range(len(pa)):
        for b in range(len(pa), len(parts)):
            if shapely.intersects(parts[a], parts[b]):
                ln = shapely.length(shapely.intersection(parts[a].boundary, parts[b].boundary))
                if ln > 0:
                    ii.append(a), jj.append(b), ll.append(ln)
    labels = np.full(len(parts), -1, dtype=np.int64)
    area = shapely.area(parts)
    for sd in (0, 1):
        cand = np.nonzero(nside == sd)[0]
        best = cand[np.lexsort((-area[cand], -pw[cand]))[0]]
        labels[best] = sd
    labels = resolve_connectivity(parts, labels, main_face=None, face_weight=pw, xs=xs,
                                  adjacency=(np.array(ii, dtype=np.int64), np.array(jj, dtype=np.int64),
                                             np.array(ll, dtype=float)))
    A = shapely.union_all(parts[labels == 0])
    B = shapely.union_all(parts[labels == 1])
    return A, B, labels[owner]


def _split(P, idx, k, xy, w, xs, pad, leaves, cuts):
    if k == 1:
        leaves.append(P)
        return
    k1 = k // 2
    frac = k1 / k
    minx, miny, maxx, maxy = P.bounds
    long_axis = 0 if (maxx - minx) * xs >= (maxy - miny) else 1
    W = float(w[idx].sum())
    ideal = W * frac
    tol = 0.5 * (float(w[idx].max()) if len(idx) else 0.0) + 1e-9 * max(W, 1.0)
    best = None
    for axis in (long_axis, 1 - long_axis):
        target = ideal
        for attempt in range(4):
            c = _cut_coordinate(P, axis, xy[idx, axis], w[idx], target, frac, pad)
            res = _evaluate(P, axis, c, idx, xy, w, pad, xs)
            if res is None:
                break
            A, B, side = res
            amin = _MIN_AREA_FRAC * P.area
            if A.area < amin or B.area < amin:
                break
            wa = float(w[idx][side == 0].sum())
            err = abs(wa - ideal)
            if best is None or err < best[0] - 1e-12:
                best = (err, axis, c, A, B, side)
            if err <= tol:
                break
            target = target - (wa - ideal)  # compensate what the fragment hand-over moved
        if best is not None and best[0] <= tol:
            break
    if best is None:  # no usable point-driven cut: plain area bisection along the long axis
        axis = long_axis
        c = _area_cut(P, axis, P.bounds[axis], P.bounds[axis + 2], frac, pad)
        res = _evaluate(P, axis, c, idx, xy, w, pad, xs)
        if res is None:
            raise PartitionError("could not bisect a piece (degenerate geometry)")
        best = (0.0, axis, c) + res
    _, axis, c, A, B, side = best
    # cut segments for the final exact arrangement (slightly extended so they always reach the border)
    lo, hi = (P.bounds[1 - axis] - pad, P.bounds[3 - axis] + pad)
    line = shapely.linestrings([[c, lo], [c, hi]] if axis == 0 else [[lo, c], [hi, c]])
    eps = 2e-8 * pad  # ~1e-9 of the parent's extent
    for seg in shapely.get_parts(shapely.intersection(line, P)):
        if seg.geom_type != "LineString" or seg.length <= 0:
            continue
        t = shapely.get_coordinates(seg)[:, 1 - axis]
        a, b = t.min() - eps, t.max() + eps
        cuts.append(shapely.linestrings([[c, a], [c, b]] if axis == 0 else [[a, c], [b, c]]))
    _split(A, idx[side == 0], k1, xy, w, xs, pad, leaves, cuts)
    _split(B, idx[side == 1], k - k1, xy, w, xs, pad, leaves, cuts)


def _containing(geoms, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(lowest index of a geometry whose interior contains each point or -1, number of such geometries)."""
    first = np.full(len(xy), -1, dtype=np.int64)
    count = np.zeros(len(xy), dtype=np.int64)
    if len(xy) == 0:
        return first, count
    if len(geoms) <= 64:
        for i, g in enumerate(geoms):
            shapely.prepare(g)
            m = shapely.contains_xy(g, xy[:, 0], xy[:, 1])
            first[m & (first < 0)] = i
            count += m
        return first, count
    qi, ti = shapely.STRtree(np.asarray(geoms, dtype=object)).query(shapely.points(xy), predicate="within")
    count += np.bincount(qi, minlength=len(xy))
    o = np.lexsort((ti, qi))
    qi, ti = qi[o], ti[o]
    head = np.ones(len(qi), dtype=bool)
    head[1:] = qi[1:] != qi[:-1]
    first[qi[head]] = ti[head]
    return first, count


def label_points(pieces, points_xy) -> np.ndarray:
    """Index of the piece whose interior contains each point (``shapely.contains_xy``); points on a
    shared border or outside every piece get the nearest piece (lowest index on ties)."""
    xy = np.zeros((0, 2)) if len(np.asarray(points_xy)) == 0 else as_xy(points_xy, "points_xy")
    labels, _ = _containing(pieces, xy)
    lost = np.nonzero(labels < 0)[0]
    if len(lost):
        pts = shapely.points(xy[lost])
        d = np.stack([shapely.distance(g, pts) for g in pieces])  # (pieces, lost)
        labels[lost] = np.argmin(d, axis=0)
    return labels


def balanced_bisection(parent, points_xy, k: int, weights=None, *, xscale: float | None = None):
    """Partition ``parent`` into ``k`` contiguous, compact pieces with (nearly) equal point weight.

    Recursive bisection: a piece that must become k pieces is cut by a straight line across the longer
    side of its bounding box (x measured as x*cos(lat)) at the (weighted) point quantile k//2 : k-k//2,
    strictly between two distinct point coordinates (so no point lies on a cut). If the cut leaves a
    side in several parts (concave parent), each side keeps its heaviest part and the other parts go to
    the side they share the longest border with; the cut is then re-placed (up to 3x) to compensate,
    and the other axis is tried, keeping the most balanced result. With fewer points than pieces the
    cut is placed by area. The final pieces are rebuilt from one exact arrangement and the labels are
    RECOMPUTED from them (``label_points``), so they always agree with the geometry.

    Returns ``(pieces, labels)``; labels[i] = index of the piece containing point i.

    Guarantees: exactly k non-empty pieces that tile ``parent`` exactly with bit-identical shared
    vertices; every piece is a single Polygon (MultiPolygon only for islands of a MultiPolygon parent).
    Balance: when every cut hits its target -- always the case when the pieces being cut are convex
    and no two points share a cut coordinate -- unweighted pieces get floor(m/k) or ceil(m/k) points,
    and weighted pieces are within ceil(log2 k) * max(weight) of W/k. Otherwise (concave parent,
    coincident points) balance is best effort.
    """
    parent = as_polygonal(parent)
    xy = as_xy(points_xy, "points_xy") if len(np.asarray(points_xy)) else np.zeros((0, 2))
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise PartitionError("k must be a positive integer")
    k = int(k)
    m = len(xy)
    if weights is None:
        w = np.ones(m)
    else:
        w = np.asarray(weights, dtype=float)
        if w.shape != (m,) or not np.isfinite(w).all() or (w < 0).any():
            raise PartitionError("weights must be a finite non-negative (m,) array")
    if k == 1:
        return [parent], np.zeros(m, dtype=np.int64)
    xs = metric_xscale(parent) if xscale is None else float(xscale)
    minx, miny, maxx, maxy = parent.bounds
    pad = 0.05 * max(maxx - minx, maxy - miny)
    leaves, cuts = [], []
    _split(parent, np.arange(m), k, xy, w, xs, pad, leaves, cuts)

    faces, fpts = arrangement_faces(parent, cuts)
    labels, cnt = _containing(leaves, shapely.get_coordinates(fpts))
    labels[cnt != 1] = -1
    if len(faces) > k or (labels < 0).any():
        labels = resolve_connectivity(faces, labels, main_face=None, xs=xs)
    pieces = assemble(faces, labels, k)
    empty = [i for i, g in enumerate(pieces) if g.is_empty]
    if empty:
        raise PartitionError(f"pieces {empty} vanished while rebuilding the partition")
    return pieces, label_points(pieces, xy)
