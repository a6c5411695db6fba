"""What a good grid is (docs/domain.md §2), as configurable numbers, and metric helpers for lon/lat geometry."""

from __future__ import annotations

import math
from dataclasses import dataclass

import shapely

M_PER_DEG = 111_320.0  # metres per degree of latitude (and of longitude at the equator)


@dataclass(frozen=True)
class Band:
    """Households per comprehensive grid: outside [low, high] is a deviation, `target` the ideal."""

    low: int
    high: int
    target: int
    max_residents: int = 2500

    def deviation(self, households: int) -> float:
        """Signed relative distance from the band: 0 inside it, -0.2 = 20 % below `low`."""
        if households < self.low:
            return (households - self.low) / self.low
        if households > self.high:
            return (households - self.high) / self.high
        return 0.0


# Urban 综合网格 300–500 households; rural grids "about 300" (we allow 200–400). ≤ 2,500 residents either way.
BANDS = {"community": Band(300, 500, 400), "village": Band(200, 400, 300)}


@dataclass(frozen=True)
class Rules:
    """Tolerances of the validity checks. Areas in square metres, distances in metres."""

    sliver_m2: float = 2_000.0      # a grid (or a left-over piece) smaller than this is a sliver
    tolerance_m2: float = 1.0       # gaps/overlaps below this are floating-point noise, not errors
    snap_m: float = 5.0             # drawn vertices this close to a border are moved onto it

    def band_for(self, village_kind: str | None) -> Band:
        return BANDS.get(village_kind or "village", BANDS["village"])


DEFAULT_RULES = Rules()


def deg2_to_m2(area_deg2: float, lat: float) -> float:
    """Area in square degrees at latitude `lat` → square metres (good to <0.1 % over a village)."""
    return float(area_deg2) * M_PER_DEG * M_PER_DEG * math.cos(math.radians(lat))


def m_to_deg(metres: float) -> float:
    return metres / M_PER_DEG


def area_m2(geom) -> float:
    if geom is None or geom.is_empty:
        return 0.0
    return deg2_to_m2(geom.area, shapely.get_y(geom.centroid))

