"""What the duty desk shows around one alert (docs/duty.md §5): which actions its state allows,
what the reporter wrote, where it came from, and the map around it — the grids of its village with its own
grid marked, and the cameras within 5 km."""

from __future__ import annotations

import json

from shapely import wkb
from sqlalchemy import select
from sqlalchemy.orm import Session

from console.store.names import names
from console.store import Camera, Event, Grid
from console.store.codes import CAMERA_STATUS
from console.store.duty_models import DutySource

from . import actions
from .geo import distance_m

NEAR_DEG = 0.05  # ≈ 5 km around the alert
TEXT_KEYS = ("text", "description", "content", "note", "summary")


def allowed_actions(state: str | None) -> frozenset[str]:
    """The actions whose transition table (actions.ACTIONS) starts from `state`."""
    return frozenset(k for k, (_label, sources, _to, _note) in actions.ACTIONS.items() if state in sources)


def reporter_text(payload: str | dict | None) -> str | None:
    """The free text a reporter sent with the event (payload.text and its usual synonyms), or None."""
    if isinstance(payload, str):
        try:
            payload = json.loads(payload or "{}")
        except ValueError:
            return None
    if not isinstance(payload, dict):
        return None
    for key in TEXT_KEYS:
        value = payload.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def source_label(s: Session, event: Event | None) -> tuple[str, str]:
    """(what a person reads, the technical reference for a hover): the source system's title, not its key name."""
    if event is None:
        return "系统巡检", ""
    title = s.scalar(select(DutySource.title).where(DutySource.name == event.source))
    return (title or event.source), f"{event.source} / {event.source_event_id}"


def alert_map(s: Session, grid_code: str | None, village_code: str | None, lon: float | None,
              lat: float | None) -> dict:
    """{"grids": GeoJSON (the village's current grids, `mine` on the alert's grid), "cameras": GeoJSON (within
    NEAR_DEG, status and distance), "bounds": [[s, w], [n, e]] of the alert's grid (or None)}."""
    village = village_code or (grid_code[:12] if grid_code else None)
    grid_features, bounds = [], None
    if village:
        rows = s.execute(select(Grid.code, Grid.name, Grid.geom_wkb, Grid.min_lon, Grid.min_lat, Grid.max_lon,
                                Grid.max_lat).where(Grid.village_code == village,
                                                    Grid.generation_high.is_(None))).all()
        for r in rows:
            mine = r.code == grid_code
            geom = wkb.loads(r.geom_wkb).simplify(1e-5, preserve_topology=True)
            grid_features.append({"type": "Feature", "geometry": geom.__geo_interface__,
                                  "properties": {"code": r.code, "name": r.name, "mine": mine}})
            if mine:
                bounds = [[r.min_lat, r.min_lon], [r.max_lat, r.max_lon]]
    cams = []
    if lon is not None and lat is not None:
        rows = s.execute(select(Camera.device_id, Camera.name, Camera.status, Camera.lon, Camera.lat).where(
            Camera.lon.between(lon - NEAR_DEG, lon + NEAR_DEG),
            Camera.lat.between(lat - NEAR_DEG, lat + NEAR_DEG))).all()
        cams = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [r.lon, r.lat]},
                 "properties": {"name": r.name, "status": r.status,
                                "status_label": CAMERA_STATUS.get(r.status, r.status),
                                "distance_m": round(distance_m(lon, lat, r.lon, r.lat))}} for r in rows]
    return {"grids": {"type": "FeatureCollection", "features": grid_features},
            "cameras": {"type": "FeatureCollection", "features": cams}, "bounds": bounds}


def grid_names(s: Session, rows: list[dict]) -> list[dict]:
    """Feed rows with `grid_name` (and `place`: the village) beside their codes, one lookup for the batch."""
    known = names(s, {c for r in rows for c in (r.get("grid"), r.get("village"))})
    for r in rows:
        r["grid_name"] = known.get(r.get("grid"), r.get("grid") or "")
        r["village_name"] = known.get(r.get("village"), "")
    return rows
