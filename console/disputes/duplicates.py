"""Likely duplicates, flagged before saving: a shared party identity number, or the same place and category
within N days (same village and category, and the same place text or within `radius_m`)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

DEFAULT_WINDOW_DAYS = 30
DEFAULT_RADIUS_M = 200.0


@dataclass(frozen=True)
class Duplicate:
    code: str
    reason: str


def distance_m(lon1, lat1, lon2, lat2) -> float:
    if None in (lon1, lat1, lon2, lat2):
        return math.inf
    k = math.pi / 180
    x = (lon2 - lon1) * k * math.cos((lat1 + lat2) / 2 * k)
    y = (lat2 - lat1) * k
    return 6371000.0 * math.hypot(x, y)


def find(candidate: Mapping, existing: Iterable[Mapping], *, window_days: int = DEFAULT_WINDOW_DAYS,
         radius_m: float = DEFAULT_RADIUS_M) -> list[Duplicate]:
    """`candidate` and each existing case: code, category, village_code, place, lon, lat, registered_at,
    party_ids (set of identity numbers). Existing cases outside the window are ignored."""
    at: datetime = candidate["registered_at"]
    window = timedelta(days=window_days)
    ids = {i.upper() for i in candidate.get("party_ids", ()) if i}
    out = []
    for case in existing:
        if abs(case["registered_at"] - at) > window:
            continue
        shared = ids & {i.upper() for i in case.get("party_ids", ()) if i}
        if shared:
            out.append(Duplicate(case["code"], f"当事人相同（{len(shared)}人）"))
            continue
        if case["category"] == candidate["category"] and case.get("village_code") == candidate.get("village_code"):
            same_place = (case.get("place") or "").strip() == (candidate.get("place") or "").strip() != ""
            near = distance_m(candidate.get("lon"), candidate.get("lat"), case.get("lon"), case.get("lat")) <= radius_m
            if same_place or near:
                out.append(Duplicate(case["code"], f"{window_days}天内同地点同类别"))
    return out
