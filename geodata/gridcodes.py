"""Grid numbering (docs/domain.md §1): village code + 3-digit serial, west→east, north→south.

"North→south, west→east" is read like text: grids are cut into rows by the latitude of their label
point (as many rows as the square root of the count suggests), rows are taken from north to south,
and each row from west to east. Grids the planner keeps unchanged keep their codes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import shapely


def reading_order(polygons: Sequence[shapely.Geometry]) -> np.ndarray:
    """Indices of `polygons` in reading order (north→south rows, west→east inside a row)."""
    n = len(polygons)
    if n == 0:
        return np.empty(0, dtype=np.int64)
    pts = shapely.point_on_surface(np.asarray(polygons, dtype=object))
    x, y = shapely.get_x(pts), shapely.get_y(pts)
    rows = max(1, round(math.sqrt(n)))
    span = (y.max() - y.min()) or 1.0
    band = np.minimum(((y.max() - y) / span * rows).astype(int), rows - 1)
    return np.lexsort((x, band))


def grid_codes(village_code: str, polygons: Sequence[shapely.Geometry], start: int = 1) -> list[str]:
    """Codes for new grids of one village, aligned with `polygons`."""
    order = reading_order(polygons)
    codes = [""] * len(polygons)
    for serial, idx in enumerate(order, start=start):
        if serial > 999:
            raise ValueError(f"村社区 {village_code} 的网格数超过 999 个")
        codes[idx] = f"{village_code}{serial:03d}"
    return codes
