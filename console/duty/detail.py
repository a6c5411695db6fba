"""What the duty officer sees for one alert: the alert, its history, the person/case record (masked), the nearest
cameras (distance, status) and the responsible grid worker. Reads only; scope-checked; sensitive views audited."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.store import Alert, Area, Camera, Event, GridWorker, Person, SpecialPerson
from console.store.codes import ALERT_SEVERITIES, ALERT_STATES, CAMERA_STATUS, GRID_ROLES, SPECIAL_CATEGORIES
from console.store.duty_models import AlertInfo
from console.store.masking import mask_id, mask_name, mask_phone

from console.store import names as area_names

from . import actions, desk
from .feed import local
from .geo import distance_m
from .rules import RULE_LABELS

NEAR_DEG = 0.05  # ≈ 5 km search box for cameras


def nearest_cameras(s: Session, lon: float, lat: float, n: int = 5) -> list[dict]:
    rows = s.execute(select(Camera.id, Camera.name, Camera.device_id, Camera.status, Camera.lon, Camera.lat).where(
        Camera.lon.between(lon - NEAR_DEG, lon + NEAR_DEG), Camera.lat.between(lat - NEAR_DEG, lat + NEAR_DEG))).all()
    out = sorted(({"id": r.id, "name": r.name, "device_id": r.device_id, "status": r.status,
                   "status_label": CAMERA_STATUS.get(r.status, r.status),
                   "distance_m": round(distance_m(lon, lat, r.lon, r.lat))} for r in rows),
                 key=lambda c: c["distance_m"])
    return out[:n]


def person_record(s: Session, person_id: int | None, scope=None) -> dict | None:
    """Masked by default (first 6 + last 4 of the id number, 3+4 of the phone). With `scope`: None for a
    person registered outside it (an alert in the viewer's town about someone from elsewhere)."""
    if person_id is None:
        return None
    p = s.get(Person, person_id)
    if p is None or (scope is not None and not scope.allows(p.finest_area)):
        return None
    specials = s.scalars(select(SpecialPerson).where(SpecialPerson.person_id == person_id)).all()
    return {"name": mask_name(p.name), "id_number": mask_id(p.id_number), "phone": mask_phone(p.phone),
            "categories": [SPECIAL_CATEGORIES.get(x.category, x.category) for x in specials],
            "risk_level": next((x.risk_level for x in specials if x.risk_level is not None), None)}


def alert_detail(s: Session, viewer, alert_id: int) -> dict | None:
    alert = s.get(Alert, alert_id)
    if alert is None or not viewer.scope.allows(alert.finest_area):
        return None
    info = s.get(AlertInfo, alert_id)
    person_id = info.person_id if info else None
    event = s.get(Event, alert.event_id) if alert.event_id else None
    names = dict(s.execute(select(Area.code, Area.name).where(Area.code.in_(
        [c for c in (alert.county_code, alert.town_code, alert.village_code) if c]))).all())
    out = {
        "id": alert.id, "title": alert.title, "rule": RULE_LABELS.get(alert.rule, alert.rule),
        "severity": alert.severity, "severity_label": ALERT_SEVERITIES.get(alert.severity, alert.severity),
        "state": alert.state, "state_label": ALERT_STATES.get(alert.state, alert.state),
        "raised_at": local(alert.raised_at, "%Y-%m-%d %H:%M:%S"), "grid": alert.grid_code,
        "village": alert.village_code, "lon": alert.lon, "lat": alert.lat,
        "grid_name": area_names.names(s, [alert.grid_code]).get(alert.grid_code, alert.grid_code or ""),
        "allowed": sorted(desk.allowed_actions(alert.state)),
        "report": desk.reporter_text(event.payload) if event else None,
        "place": " ".join(names[c] for c in (alert.county_code, alert.town_code, alert.village_code) if c in names),
        "assignee": info.assignee if info else None,
        "detail": json.loads(info.detail) if info and info.detail else {},
        "source": desk.source_label(s, event),
        "history": [{"at": local(h.at), "actor": h.actor, "action": h.action,
                     "to": ALERT_STATES.get(h.to_state, h.to_state), "note": h.note}
                    for h in actions.history(s, alert_id)],
        "person": None, "cameras": [], "workers": [],
    }
    if person_id is not None and hasattr(viewer, "can") and viewer.can("view:persons"):
        out["person"] = person_record(s, person_id, viewer.scope)
        if out["person"] is not None:
            _audit_view(viewer, f"person:{person_id}")
    if alert.lon is not None:
        out["cameras"] = nearest_cameras(s, alert.lon, alert.lat)
    if alert.grid_code:
        out["workers"] = [{"id": w.id, "role": GRID_ROLES.get(w.role, w.role), "name": w.name,
                           "phone": mask_phone(w.phone)}
                          for w in s.scalars(select(GridWorker).where(GridWorker.grid_code == alert.grid_code))]
    return out


def _audit_view(viewer, obj: str) -> None:
    from console.security import guard

    if isinstance(viewer, guard.Viewer):  # the secured console records every sensitive record view
        guard.audit(viewer, "record.view", obj)
