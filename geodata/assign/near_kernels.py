"""Numba kernels for nearest-outer-edge search (used by :mod:`geodata.assign.outside`).

Metric for a point at latitude phi: the plane ``(dlon * cos(phi), dlat)``.

* ``tree_search``: branch-and-bound walk of an implicit FANOUT-ary bounding-box tree over
  the outer edges (consecutive ranges), nearest child first; exact for the metric.
* ``build_grid``: a coarse grid over the outer edges' surroundings; each cell keeps the
  short list of edges that can be nearest for *any* point of the cell: edges whose box
  lower bound (x scaled by the smallest cos(lat) in the cell) does not exceed an upper
  bound (max over the cell corners, x scaled by the largest cos(lat), of the distance to
  the edge nearest the centre).  Cells whose list would exceed ``maxc`` fall back to the
  tree.  Both paths find the same nearest polygon (ties: lower polygon index).
* ``sphere_nearest_range``: brute force on the sphere for far points.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .kernels import fmax, fmin

FANOUT = 4
_A = 6378137.0
_E2 = (1 / 298.257223563) * (2 - 1 / 298.257223563)
LOCAL_MAX_M = 100_000.0  # beyond this (or near the poles) use the sphere + pyproj.Geod


@njit(cache=True)
def _local_distance(x0, y0, x1, y1):
    """Ellipsoidal mid-latitude distance (m); rel. error < 5e-5 below 100 km, |lat| < 80."""
    pm = np.deg2rad(0.5 * (y0 + y1))
    s = np.sin(pm)
    w = np.sqrt(1.0 - _E2 * s * s)
    dx = np.deg2rad(x1 - x0) * (_A / w) * np.cos(pm)
    dy = np.deg2rad(y1 - y0) * (_A * (1.0 - _E2) / (w * w * w))
    d = np.sqrt(dx * dx + dy * dy)
    if d > LOCAL_MAX_M or abs(y0) > 80.0 or abs(y1) > 80.0:
        return -1.0  # caller falls back to the geodesic
    return d


@njit(cache=True)
def _seg(px, py, cp, x0, y0, x1, y1):
    ax = (x0 - px) * cp
    ay = y0 - py
    vx = (x1 - x0) * cp
    vy = y1 - y0
    ll = vx * vx + vy * vy
    s = 0.0
    if ll > 0.0:
        s = -(ax * vx + ay * vy) / ll
        s = 0.0 if s < 0.0 else (1.0 if s > 1.0 else s)
    qx = ax + s * vx
    qy = ay + s * vy
    return qx * qx + qy * qy, s


@njit(cache=True)
def _gap(lo, hi, v):
    """Distance from v to the interval [lo, hi] (0 inside)."""
    return lo - v if v < lo else (v - hi if v > hi else 0.0)


@njit(cache=True)
def _box_lb(bx0, by0, bx1, by1, px, py, cp):
    dx = _gap(bx0, bx1, px) * cp
    dy = _gap(by0, by1, py)
    return dx * dx + dy * dy


@njit(cache=True)
def tree_search(px, py, cp, best, be, bs, ex0, ey0, ex1, ey1, epoly, boxes, offs, st_i,
                st_lb):
    """Improve (best d2, edge, param) for one point by walking the edge tree."""
    ne = ex0.shape[0]
    nlev = offs.shape[0] - 1
    ch_node = np.empty(FANOUT, np.int64)
    ch_lb = np.empty(FANOUT)
    sp = 1
    st_i[0, 0] = nlev - 1
    st_i[0, 1] = 0
    st_lb[0] = 0.0
    while sp > 0:
        sp -= 1
        lev = st_i[sp, 0]
        c0 = st_i[sp, 1] * FANOUT
        if st_lb[sp] > best:
            continue
        if lev == 0:
            for e in range(c0, c0 + FANOUT if c0 + FANOUT < ne else ne):
                d2, s = _seg(px, py, cp, ex0[e], ey0[e], ex1[e], ey1[e])
                if d2 < best or (d2 == best and epoly[e] < epoly[be]):
                    best, be, bs = d2, e, s
            continue
        base = offs[lev - 1]
        m = 0
        for c in range(c0, c0 + FANOUT if c0 + FANOUT < offs[lev] - base else offs[lev] - base):
            k = base + c
            lb = _box_lb(boxes[k, 0], boxes[k, 1], boxes[k, 2], boxes[k, 3], px, py, cp)
            if lb <= best:  # insertion sort, descending lb
                j = m
                while j > 0 and ch_lb[j - 1] < lb:
                    ch_lb[j] = ch_lb[j - 1]
                    ch_node[j] = ch_node[j - 1]
                    j -= 1
                ch_lb[j] = lb
                ch_node[j] = c
                m += 1
        for j in range(m):  # nearest child ends on top of the stack
            st_i[sp, 0] = lev - 1
            st_i[sp, 1] = ch_node[j]
            st_lb[sp] = ch_lb[j]
            sp += 1
    return best, be, bs


@njit(cache=True)
def _cos_range(lat0, lat1):
    """(min, max) of cos(lat) over [lat0, lat1] (degrees)."""
    hi = fmin(fmax(abs(lat0), abs(lat1)), 90.0)
    lo = 0.0 if lat0 <= 0.0 <= lat1 else fmin(fmin(abs(lat0), abs(lat1)), 90.0)
    return np.cos(np.deg2rad(hi)), np.cos(np.deg2rad(lo))


@njit(cache=True)
def build_grid(gx0, gy0, gc, gn, ex0, ey0, ex1, ey1, epoly, boxes, offs, maxc):
    """CSR candidate lists (start[gn*gn+1], cand) of a gn x gn grid; start diff -1 = use tree."""
    ne = ex0.shape[0]
    ncell = gn * gn
    counts = np.zeros(ncell, np.int64)
    tmp = np.empty(ncell * maxc, np.int32)
    cap = FANOUT * offs.shape[0] + 4
    st_i = np.empty((cap, 2), np.int64)
    st_lb = np.empty(cap)
    nlev = offs.shape[0] - 1
    pad = 1e-9  # covers the rounding of floor((p - g0) / gc) at query time
    for iy in range(gn):
        cy0 = gy0 + iy * gc - pad
        cy1 = gy0 + (iy + 1) * gc + pad
        cmin, cmax = _cos_range(cy0, cy1)
        for ix in range(gn):
            cx0 = gx0 + ix * gc - pad
            cx1 = gx0 + (ix + 1) * gc + pad
            k = iy * gn + ix
            best, be, bs = tree_search(0.5 * (cx0 + cx1), 0.5 * (cy0 + cy1), cmax, np.inf,
                                       0, 0.0, ex0, ey0, ex1, ey1, epoly, boxes, offs, st_i,
                                       st_lb)
            ub = 0.0
            for corner in range(4):  # the farthest cell corner from that edge
                qx = cx1 if corner & 1 else cx0
                qy = cy1 if corner & 2 else cy0
                ub = fmax(ub, _seg(qx, qy, cmax, ex0[be], ey0[be], ex1[be], ey1[be])[0])
            ub = ub * (1.0 + 1e-9) + 1e-300
            n = 0
            sp = 1
            st_i[0, 0] = nlev - 1
            st_i[0, 1] = 0
            while sp > 0 and n <= maxc:
                sp -= 1
                lev = st_i[sp, 0]
                c0 = st_i[sp, 1] * FANOUT
                if lev == 0:
                    for e in range(c0, c0 + FANOUT if c0 + FANOUT < ne else ne):
                        dx = _gap(cx0 - fmax(ex0[e], ex1[e]), cx1 - fmin(ex0[e], ex1[e]), 0.0)
                        dy = _gap(cy0 - fmax(ey0[e], ey1[e]), cy1 - fmin(ey0[e], ey1[e]), 0.0)
                        if dx * dx * cmin * cmin + dy * dy <= ub:
                            if n < maxc:
                                tmp[k * maxc + n] = e
                            n += 1
                    continue
                base = offs[lev - 1]
                nchild = offs[lev] - base
                for c in range(c0, c0 + FANOUT if c0 + FANOUT < nchild else nchild):
                    dx = _gap(cx0 - boxes[base + c, 2], cx1 - boxes[base + c, 0], 0.0)
                    dy = _gap(cy0 - boxes[base + c, 3], cy1 - boxes[base + c, 1], 0.0)
                    if dx * dx * cmin * cmin + dy * dy <= ub:
                        st_i[sp, 0] = lev - 1
                        st_i[sp, 1] = c
                        sp += 1
            counts[k] = n if n <= maxc else -1
    start = np.zeros(ncell + 1, np.int64)
    valid = np.zeros(ncell, np.bool_)
    for k in range(ncell):
        valid[k] = counts[k] >= 0
        start[k + 1] = start[k] + (counts[k] if counts[k] > 0 else 0)
    cand = np.empty(start[ncell], np.int32)
    for k in range(ncell):
        for j in range(counts[k]):  # empty range when -1
            cand[start[k] + j] = tmp[k * maxc + j]
    return start, cand, valid


@njit(cache=True, nogil=True)
def nearest_range(lo, hi, lon, lat, opoly, qx, qy, dist, ex0, ey0, ex1, ey1, epoly, boxes,
                  offs, gx0, gy0, gc, gn, gstart, gcand, gvalid):
    """Nearest outer edge of points lo..hi-1 (serial; run on threads, GIL released)."""
    cap = FANOUT * offs.shape[0] + 4
    st_i = np.empty((cap, 2), np.int64)
    st_lb = np.empty(cap)
    ginv = 1.0 / gc
    for i in range(lo, hi):
        px = lon[i]
        py = lat[i]
        cp = np.cos(np.deg2rad(py))
        best = np.inf
        be = 0
        bs = 0.0
        ix = np.int64(np.floor((px - gx0) * ginv))
        iy = np.int64(np.floor((py - gy0) * ginv))
        k = iy * gn + ix
        if 0 <= ix < gn and 0 <= iy < gn and gvalid[k]:
            for j in range(gstart[k], gstart[k + 1]):
                e = gcand[j]
                d2, s = _seg(px, py, cp, ex0[e], ey0[e], ex1[e], ey1[e])
                if d2 < best or (d2 == best and epoly[e] < epoly[be]):
                    best, be, bs = d2, e, s
        else:
            best, be, bs = tree_search(px, py, cp, best, be, bs, ex0, ey0, ex1, ey1, epoly,
                                       boxes, offs, st_i, st_lb)
        opoly[i] = epoly[be]
        if bs == 0.0:
            qx[i], qy[i] = ex0[be], ey0[be]
        elif bs == 1.0:
            qx[i], qy[i] = ex1[be], ey1[be]
        else:
            qx[i] = ex0[be] + bs * (ex1[be] - ex0[be])
            qy[i] = ey0[be] + bs * (ey1[be] - ey0[be])
        dist[i] = 0.0 if best == 0.0 else _local_distance(px, py, qx[i], qy[i])


@njit(cache=True, nogil=True)
def sphere_nearest_range(lo, hi, lon, lat, opoly, qx, qy, ua, ub, epoly):
    """Brute-force nearest outer edge on the unit sphere (great-circle arcs), for the
    few points farther than LOCAL_MAX_M; the closest arc point goes to (qx, qy)."""
    ne = ua.shape[0]
    for i in range(lo, hi):
        la = np.deg2rad(lat[i])
        lg = np.deg2rad(lon[i])
        p0, p1, p2 = np.cos(la) * np.cos(lg), np.cos(la) * np.sin(lg), np.sin(la)
        best = np.inf
        bq0 = bq1 = bq2 = 0.0
        bp = 2147483647
        for e in range(ne):
            a0, a1, a2 = ua[e, 0], ua[e, 1], ua[e, 2]
            b0, b1, b2 = ub[e, 0], ub[e, 1], ub[e, 2]
            n0, n1, n2 = a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0
            nn = np.sqrt(n0 * n0 + n1 * n1 + n2 * n2)
            inside = False
            if nn > 1e-15:
                n0, n1, n2 = n0 / nn, n1 / nn, n2 / nn
                t = p0 * n0 + p1 * n1 + p2 * n2
                q0, q1, q2 = p0 - t * n0, p1 - t * n1, p2 - t * n2
                qn = np.sqrt(q0 * q0 + q1 * q1 + q2 * q2)
                if qn > 1e-15:
                    q0, q1, q2 = q0 / qn, q1 / qn, q2 / qn
                    # q between a and b on the arc: (a x q).n >= 0 and (q x b).n >= 0
                    s1 = ((a1 * q2 - a2 * q1) * n0 + (a2 * q0 - a0 * q2) * n1
                          + (a0 * q1 - a1 * q0) * n2)
                    s2 = ((q1 * b2 - q2 * b1) * n0 + (q2 * b0 - q0 * b2) * n1
                          + (q0 * b1 - q1 * b0) * n2)
                    inside = s1 >= 0.0 and s2 >= 0.0
            if not inside:
                da = (p0 - a0) * (p0 - a0) + (p1 - a1) * (p1 - a1) + (p2 - a2) * (p2 - a2)
                db = (p0 - b0) * (p0 - b0) + (p1 - b1) * (p1 - b1) + (p2 - b2) * (p2 - b2)
                if da <= db:
                    q0, q1, q2 = a0, a1, a2
                else:
                    q0, q1, q2 = b0, b1, b2
            d = (p0 - q0) * (p0 - q0) + (p1 - q1) * (p1 - q1) + (p2 - q2) * (p2 - q2)
            if d < best or (d == best and epoly[e] < bp):
                best, bp = d, epoly[e]
                bq0, bq1, bq2 = q0, q1, q2
        opoly[i] = bp
        qx[i] = np.rad2deg(np.arctan2(bq1, bq0))
        qy[i] = np.rad2deg(np.arcsin(fmin(1.0, fmax(-1.0, bq2))))


