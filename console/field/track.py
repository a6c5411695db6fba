"""A patrol's GPS track: which fixes count, the line they draw and its length. Pure (no database).

A fix coarser than ACCURACY_LIMIT_M (or without an accuracy) is kept out of the line and the distance: a
3,000 m fix in a valley would add kilometres the worker never walked (docs/field.md §7)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Iterable, Sequence

from .codes import ACCURACY_LIMIT_M

EARTH_RADIUS_M = 6_371_008.8


def haversine_m(a: Sequence[float], b: Sequence[float]) -> float:
    """Great-circle distance in metres between two (lon, lat) points."""
    lon1, lat1, lon2, lat2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def usable(accuracy: float | None) -> bool:
    return accuracy is not None and accuracy <= ACCURACY_LIMIT_M


@dataclass(frozen=True)
class Track:
    coords: tuple[tuple[float, float], ...]  # the usable fixes in time order
    distance_m: float
    dropped: int  # fixes left out for their accuracy

    @property
    def geojson(self) -> str:
        """A LineString (a single fix: a Point; none: empty text)."""
        if not self.coords:
            return ""
        if len(self.coords) == 1:
            return json.dumps({"type": "Point", "coordinates": list(self.coords[0])})
        return json.dumps({"type": "LineString", "coordinates": [list(c) for c in self.coords]},
                          separators=(",", ":"))

    @property
    def last(self) -> tuple[float, float] | None:
        return self.coords[-1] if self.coords else None


def summarise(fixes: Iterable) -> Track:
    """`fixes`: objects with lon, lat, accuracy, t (any order; sorted by t here, so a replayed or merged track
    sums the same)."""
    ordered = sorted(fixes, key=lambda f: f.t)
    coords = [(round(f.lon, 7), round(f.lat, 7)) for f in ordered if usable(f.accuracy)]
    distance = sum(haversine_m(a, b) for a, b in zip(coords, coords[1:]))
    return Track(tuple(coords), round(distance, 1), len(ordered) - len(coords))
