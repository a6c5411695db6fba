"""Shared machinery: exact planar arrangement -> labelled faces -> connected pieces.

Every partition in this package is built the same way, which is what makes it exact:

1. collect *cut lines* (Voronoi / power-diagram edges, bisection cuts) and the parent's boundary;
2. node them all together once (``shapely.union_all`` of the linework) and ``polygonize`` -> faces.
   Because the faces come from ONE noded arrangement, two faces that touch share bit-identical
   segments, and the faces tile the parent exactly (up to the noding of cut/boundary crossings);
3. label every face with a piece (nearest seed, power distance, containing approximate piece);
4. :func:`resolve_connectivity` makes each label edge-connected (fragments go to the neighbour they
   share the longest border with; islands of a MultiPolygon parent go to the nearest piece);
5. :func:`assemble` dissolves faces per label with ``coverage_union`` (keeps vertices exactly), so
   neighbouring pieces share identical vertices along their common border.

No snapping / ``set_precision`` is applied to the result: it would move the parent's own vertices and
break ``union == parent``; the arrangement already gives matching shared edges.
"""
from __future__ import annotations

import math

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry


class PartitionError(ValueError):
    """Raised when a partition cannot be produced (empty parent, a piece vanished, bad arguments)."""


# ---------------------------------------------------------------------------------------------------
# input normalisation
# ---------------------------------------------------------------------------------------------------
def as_polygonal(parent) -> BaseGeometry:
    """Return ``parent`` as a valid non-empty Polygon/MultiPolygon (``make_valid`` + keep areal parts)."""
    if not isinstance(parent, BaseGeometry):
        raise TypeError(f"parent must be a shapely geometry, got {type(parent).__name__}")
    g = parent
    if g.geom_type not in ("Polygon", "MultiPolygon") or not g.is_valid:
        g = shapely.make_valid(g)
        parts = [p for p in shapely.get_parts(g) if p.geom_type in ("Polygon", "MultiPolygon")]
        g = shapely.union_all(parts) if parts else shapely.Polygon()
    if g.is_empty or g.area <= 0.0:
        raise PartitionError("parent has no area")
    return g


def metric_xscale(geom: BaseGeometry) -> float:
    """Factor applied to x so that distances are roughly isotropic: cos(mid-latitude) for lon/lat
    coordinates (1 deg of longitude is shorter than 1 deg of latitude), 1.0 for anything else."""
    minx, miny, maxx, maxy = geom.bounds
    if -180.0 <= minx and maxx <= 360.0 and -90.0 <= miny and maxy <= 90.0:
        return max(0.05, math.cos(math.radians(0.5 * (miny + maxy))))
    return 1.0


def as_xy(a, name: str) -> np.ndarray:
    arr = np.asarray(a, dtype=float)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise PartitionError(f"{name} must have shape (n, 2), got {arr.shape}")
    if not np.isfinite(arr).all():
        raise PartitionError(f"{name} contains NaN/inf")
    return arr


# ---------------------------------------------------------------------------------------------------
# arrangement
# ---------------------------------------------------------------------------------------------------
def arrangement_faces(parent: BaseGeometry, lines) -> tuple[np.ndarray, np.ndarray]:
    """Node ``lines`` with the parent's boundary and return ``(faces, points)``: the faces of the
    arrangement that lie inside ``parent`` and one interior point of each."""
    lines = [g for g in np.atleast_1d(np.asarray(lines, dtype=object)) if g is not None and not g.is_empty]
    noded = shapely.union_all(np.array([parent.boundary, *lines], dtype=object))
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    if len(faces) == 0:
        raise PartitionError("polygonize produced no faces")
    faces = faces[shapely.area(faces) > 0.0]
    pts = shapely.point_on_surface(faces)
    shapely.prepare(parent)
    inside = shapely.contains(parent, pts)
    return faces[inside], pts[inside]


def _segments(geoms: np.ndarray, xs: float):
    """All ring segments of polygonal ``geoms``: canonical endpoints (p <= q), owner index, length."""
    polys, poly_owner = shapely.get_parts(geoms, return_index=True)  # get_rings skips MultiPolygons
    rings, ring_of_poly = shapely.get_rings(polys, return_index=True)
    ring_owner = poly_owner[ring_of_poly]
    coords, ring_of = shapely.get_coordinates(rings, return_index=True)
    same = ring_of[1:] == ring_of[:-1]
    a = coords[:-1][same] + 0.0  # + 0.0 turns -0.0 into 0.0 so bitwise keys agree
    b = coords[1:][same] + 0.0
    owner = ring_owner[ring_of[:-1][same]]
    swap = (a[:, 0] > b[:, 0]) | ((a[:, 0] == b[:, 0]) & (a[:, 1] > b[:, 1]))
    p = np.where(swap[:, None], b, a)
    q = np.where(swap[:, None], a, b)
    length = np.hypot((q[:, 0] - p[:, 0]) * xs, q[:, 1] - p[:, 1])
    return p, q, owner, length


def _segment_keys(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    raw = np.ascontiguousarray(np.hstack([p, q]))
    return raw.view(np.dtype((np.void, raw.dtype.itemsize * 4))).ravel()


def shared_edges(geoms: np.ndarray, xs: float = 1.0):
    """Bit-exact shared segments between polygonal ``geoms``.

    Returns ``(i, j, length)`` (i < j, aggregated per pair) and ``(p, q, unmatched_mask)`` describing
    segments that appear only once (outer boundary, or a T-junction / mismatch if not on the parent's
    boundary)."""
    p, q, owner, length = _segments(geoms, xs)
    if len(p) == 0:
        e = np.zeros(0, dtype=np.int64)
        return (e, e, np.zeros(0)), (p, q, np.zeros(0, dtype=bool))
    _, inv, counts = np.unique(_segment_keys(p, q), return_inverse=True, return_counts=True)
    inv = inv.ravel()
    order = np.argsort(inv, kind="stable")
    si = inv[order]
    dup = np.nonzero(si[1:] == si[:-1])[0]
    fa = owner[order[dup]]
    fb = owner[order[dup + 1]]
    ln = length[order[dup]]
    keep = fa != fb
    fa, fb, ln = fa[keep], fb[keep], ln[keep]
    i = np.minimum(fa, fb)
    j = np.maximum(fa, fb)
    if len(i):
        n = int(max(i.max(), j.max())) + 1
        pk, pinv = np.unique(i * n + j, return_inverse=True)
        tot = np.bincount(pinv.ravel(), weights=ln)
        i, j = pk // n, pk % n
    else:
        tot = np.zeros(0)
    unmatched = counts[inv] == 1
    return (i, j, tot), (p, q, unmatched)


# ---------------------------------------------------------------------------------------------------
# connectivity
# ---------------------------------------------------------------------------------------------------
def _components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Connected-component id of each of ``n`` nodes given undirected edges ``a``-``b``."""
    parent = np.arange(n)

    def find(x: int) -> int:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    for x, y in zip(a.tolist(), b.tolist()):
        rx, ry = find(x), find(y)
        if rx != ry:
            parent[max(rx, ry)] = min(rx, ry)
    return np.array([find(x) for x in range(n)], dtype=np.int64)


def resolve_connectivity(
    faces: np.ndarray,
    labels: np.ndarray,
    main_face: np.ndarray | None = None,
    face_weight: np.ndarray | None = None,
    xs: float = 1.0,
    adjacency=None,
) -> np.ndarray:
    """Relabel faces so that every label is ONE edge-connected group of faces.

    For each label, the group containing ``main_face[label]`` (or, if that is -1/absent, the heaviest
    group by ``face_weight`` then area) is kept; every other face (and every face labelled -1) is
    handed, breadth-first, to the neighbouring label it shares the longest border with. Faces not
    edge-reachable at all (islands of a MultiPolygon parent) join the label of the nearest face.
    Deterministic: ties go to the lower label / lower face index.
    """
    labels = np.asarray(labels, dtype=np.int64).copy()
    nf = len(faces)
    if adjacency is None:
        (ei, ej, el), _ = shared_edges(faces, xs)
    else:
        ei, ej, el = adjacency
    area = shapely.area(faces)
    fw = np.zeros(nf) if face_weight is None else np.asarray(face_weight, dtype=float)

    # 1. keep only the main group of every label
    same = (labels[ei] == labels[ej]) & (labels[ei] >= 0)
    comp = _components(nf, ei[same], ej[same])
    keep = np.zeros(nf, dtype=bool)
    for lab in np.unique(labels[labels >= 0]).tolist():
        idx = np.nonzero(labels == lab)[0]
        groups = comp[idx]
        mf = -1 if main_face is None or lab >= len(main_face) else int(main_face[lab])
        if mf >= 0 and labels[mf] == lab:
            g = comp[mf]
        else:
            ug, ginv = np.unique(groups, return_inverse=True)
            w = np.bincount(ginv, weights=fw[idx], minlength=len(ug))
            a = np.bincount(ginv, weights=area[idx], minlength=len(ug))
            g = ug[np.lexsort((-a, -w))[0]]
        keep[idx[groups == g]] = True
    labels[~keep] = -1
    if keep.all():
        return labels

    # 2. breadth-first hand-over by longest shared border; islands by distance
    tree = None
    while (labels < 0).any():
        la, lb = labels[ei], labels[ej]
        m1 = (la >= 0) & (lb < 0)
        m2 = (lb >= 0) & (la < 0)
        u = np.concatenate([ej[m1], ei[m2]])
        lab = np.concatenate([la[m1], lb[m2]])
        ln = np.concatenate([el[m1], el[m2]])
        if len(u):
            n_lab = int(labels.max()) + 1
            key, kinv = np.unique(u * n_lab + lab, return_inverse=True)
            tot = np.bincount(kinv.ravel(), weights=ln)
            ku, kl = key // n_lab, key % n_lab
            order = np.lexsort((kl, -tot, ku))  # per face: longest border first, then lowest label
            ku, kl = ku[order], kl[order]
            first = np.ones(len(ku), dtype=bool)
            first[1:] = ku[1:] != ku[:-1]
            labels[ku[first]] = kl[first]
            continue
        # nothing edge-adjacent: attach the unassigned face closest to an assigned one
        assigned = np.nonzero(labels >= 0)[0]
        todo = np.nonzero(labels < 0)[0]
        tree = shapely.STRtree(faces[assigned])
        (qi, ti), dist = tree.query_nearest(faces[todo], return_distance=True, all_matches=True)
        best = np.lexsort((assigned[ti], todo[qi], dist))[0]
        labels[todo[qi[best]]] = labels[assigned[ti[best]]]
    return labels


def assemble(faces: np.ndarray, labels: np.ndarray, n: int) -> list:
    """Dissolve faces per label (``coverage_union`` keeps the shared vertices bit-identical)."""
    order = np.argsort(labels, kind="stable")
    sl = labels[order]
    starts = np.searchsorted(sl, np.arange(n), side="left")
    ends = np.searchsorted(sl, np.arange(n), side="right")
    out = []
    for k in range(n):
        idx = order[starts[k]:ends[k]]
        if len(idx) == 0:
            out.append(shapely.Polygon())
        elif len(idx) == 1:
            out.append(faces[idx[0]])
        else:
            g = shapely.coverage_union_all(faces[idx])
            if g.geom_type == "MultiPolygon" and len(g.geoms) == 1:
                g = g.geoms[0]
            out.append(g)
    return out
