"""The exact orientation predicate of the point-in-polygon engine (kernels.py): whether a point lies on or east of
a canonical edge, decided by a float filter and, when the float result is too close to call, by a Shewchuk expansion
of the determinant — so a point exactly on an edge always behaves as lying on it."""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _two_sum(a, b):
    x = a + b
    bv = x - a
    av = x - bv
    return x, (a - av) + (b - bv)


@njit(cache=True)
def _two_diff(a, b):
    x = a - b
    bv = a - x
    av = x + bv
    return x, (a - av) + (bv - b)


@njit(cache=True)
def _split(a):
    c = 134217729.0 * a  # 2**27 + 1
    hi = c - (c - a)
    return hi, a - hi


@njit(cache=True)
def _two_product(a, b):
    x = a * b
    ahi, alo = _split(a)
    bhi, blo = _split(b)
    err = x - ahi * bhi - alo * bhi - ahi * blo
    return x, alo * blo - err


@njit(cache=True)
def exact_sign_det(a1, a0, b1, b0, c1, c0, e1, e0):
    """Exact sign of (a1+a0)(b1+b0) - (c1+c0)(e1+e0) via a Shewchuk expansion."""
    terms = np.empty(16)
    terms[0], terms[1] = _two_product(a1, b1)
    terms[2], terms[3] = _two_product(a1, b0)
    terms[4], terms[5] = _two_product(a0, b1)
    terms[6], terms[7] = _two_product(a0, b0)
    terms[8], terms[9] = _two_product(-c1, e1)
    terms[10], terms[11] = _two_product(-c1, e0)
    terms[12], terms[13] = _two_product(-c0, e1)
    terms[14], terms[15] = _two_product(-c0, e0)
    # grow a nonoverlapping expansion term by term (Shewchuk's Grow-Expansion)
    h = np.zeros(17)
    m = 0
    for i in range(16):
        q = terms[i]
        for j in range(m):
            q, h[j] = _two_sum(q, h[j])
        h[m] = q
        m += 1
    for j in range(m - 1, -1, -1):  # sign of the most significant non-zero component
        if h[j] > 0.0:
            return 1
        if h[j] < 0.0:
            return -1
    return 0


@njit(cache=True)
def on_or_east(px, py, xl, yl, xh, yh):
    """Exact test: (px, py) lies on or east of the line through the canonical edge."""
    a = px - xl
    b = yh - yl
    c = py - yl
    e = xh - xl
    left = a * b
    right = c * e
    det = left - right
    bound = 3.3306690738754716e-16 * (abs(left) + abs(right))
    if det > bound:
        return True
    if -det > bound:
        return False
    a1, a0 = _two_diff(px, xl)
    b1, b0 = _two_diff(yh, yl)
    c1, c0 = _two_diff(py, yl)
    e1, e0 = _two_diff(xh, xl)
    return exact_sign_det(a1, a0, b1, b0, c1, c0, e1, e0) >= 0
