"""Input validation for the assignment engine: clear errors naming the bad items."""
from __future__ import annotations

from collections import Counter
from typing import Sequence

import numpy as np
import shapely

from .kernels import count_bad_points

_SHOW = 5  # how many offending items an error message lists


class InvalidPointsError(ValueError):
    """Point coordinates that cannot be assigned (NaN/inf, out of lon/lat range, shape)."""

    def __init__(self, message: str, indices: np.ndarray | None = None):
        super().__init__(message)
        self.indices = np.empty(0, np.int64) if indices is None else indices


class InvalidPolygonsError(ValueError):
    """Polygons/codes that cannot be indexed (empty, invalid, duplicates, mismatch)."""

    def __init__(self, message: str, indices: Sequence[int] = ()):
        super().__init__(message)
        self.indices = list(indices)


def _first(idx) -> str:
    idx = list(idx)
    more = f", ... (+{len(idx) - _SHOW} more)" if len(idx) > _SHOW else ""
    return ", ".join(str(int(i)) for i in idx[:_SHOW]) + more


def _codes(codes, idx) -> str:
    idx = list(idx)
    return ", ".join(repr(codes[i]) for i in idx[:_SHOW]) + (", ..." if len(idx) > _SHOW else "")


def as_points(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """Float64 contiguous 1-D lon/lat (copied only if needed), validated."""
    try:
        x = np.ascontiguousarray(lon, dtype=np.float64)
        y = np.ascontiguousarray(lat, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidPointsError(f"coordinates are not numeric: {exc}") from None
    if x.ndim == 0:
        x = x.reshape(1)
    if y.ndim == 0:
        y = y.reshape(1)
    if x.ndim != 1 or y.ndim != 1:
        raise InvalidPointsError(f"lon and lat must be 1-D, got shapes {x.shape} and {y.shape}")
    if x.shape != y.shape:
        raise InvalidPointsError(f"lon and lat differ in length: {x.shape[0]} != {y.shape[0]}")
    if x.shape[0] and count_bad_points(x, y):
        finite = np.isfinite(x) & np.isfinite(y)
        nonfinite = np.flatnonzero(~finite)
        with np.errstate(invalid="ignore"):
            out = np.flatnonzero(finite & ((np.abs(x) > 180.0) | (np.abs(y) > 90.0)))
        parts = []
        if nonfinite.size:
            parts.append(f"{nonfinite.size} point(s) with NaN/inf coordinates "
                         f"(indices {_first(nonfinite)})")
        if out.size:
            parts.append(f"{out.size} point(s) outside lon [-180, 180] / lat [-90, 90] "
                         f"(indices {_first(out)})")
        bad = np.union1d(nonfinite, out).astype(np.int64)
        raise InvalidPointsError("invalid points: " + "; ".join(parts), bad)
    return x, y


def check_polygons(codes: Sequence[str], polygons) -> tuple[list[str], np.ndarray]:
    """Validate codes and polygons; return (codes as list of str, geometry array).

    Checks, in order: lengths, codes (non-empty str, unique), geometry type
    (Polygon/MultiPolygon), empty, non-finite coordinates, validity
    (``shapely.is_valid_reason``), zero area.
    """
    codes = list(codes)
    geoms = np.empty(len(polygons), dtype=object)
    geoms[:] = list(polygons)
    if len(codes) != geoms.shape[0]:
        raise InvalidPolygonsError(
            f"codes and polygons differ in length: {len(codes)} codes, {geoms.shape[0]} polygons")
    if not codes:
        raise InvalidPolygonsError("no polygons given")
    bad_code = [i for i, c in enumerate(codes) if not isinstance(c, str) or not c]
    if bad_code:
        raise InvalidPolygonsError(
            f"{len(bad_code)} code(s) are not non-empty strings (indices {_first(bad_code)})",
            bad_code)
    dup = {c for c, n in Counter(codes).items() if n > 1}
    if dup:
        where = [i for i, c in enumerate(codes) if c in dup]
        shown = ", ".join(repr(c) for c in sorted(dup)[:_SHOW])
        raise InvalidPolygonsError(
            f"{len(dup)} duplicate code(s): {shown} (indices {_first(where)})", where)
    is_geom = np.array([isinstance(g, shapely.Geometry) for g in geoms], bool)
    type_id = np.full(geoms.shape[0], -1)
    type_id[is_geom] = shapely.get_type_id(geoms[is_geom])
    wrong = np.flatnonzero(~np.isin(type_id, (3, 6)))
    if wrong.size:
        kinds = sorted({type(geoms[i]).__name__ for i in wrong})
        raise InvalidPolygonsError(
            f"{wrong.size} item(s) are not Polygon/MultiPolygon ({', '.join(kinds)}; "
            f"indices {_first(wrong)}, codes {_codes(codes, wrong)})", wrong.tolist())
    empty = np.flatnonzero(shapely.is_empty(geoms))
    if empty.size:
        raise InvalidPolygonsError(
            f"{empty.size} empty polygon(s) (indices {_first(empty)}, "
            f"codes {_codes(codes, empty)})", empty.tolist())
    nonfinite = np.flatnonzero(~np.isfinite(shapely.bounds(geoms)).all(axis=1))
    if nonfinite.size:
        raise InvalidPolygonsError(
            f"{nonfinite.size} polygon(s) with NaN/inf coordinates (indices "
            f"{_first(nonfinite)}, codes {_codes(codes, nonfinite)})", nonfinite.tolist())
    invalid = np.flatnonzero(~shapely.is_valid(geoms))
    if invalid.size:
        reasons = shapely.is_valid_reason(geoms[invalid[:_SHOW]])
        shown = "; ".join(f"index {int(i)} (code {codes[i]!r}): {r}"
                          for i, r in zip(invalid[:_SHOW], reasons))
        more = f"; ... (+{invalid.size - _SHOW} more)" if invalid.size > _SHOW else ""
        raise InvalidPolygonsError(
            f"{invalid.size} invalid polygon(s): {shown}{more}", invalid.tolist())
    flat = np.flatnonzero(shapely.area(geoms) <= 0.0)
    if flat.size:
        raise InvalidPolygonsError(
            f"{flat.size} zero-area polygon(s) (indices {_first(flat)}, "
            f"codes {_codes(codes, flat)})", flat.tolist())
    return codes, geoms
