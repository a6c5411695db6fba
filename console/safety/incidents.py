"""Incidents (突发事件 / 群体性事件): an alert raised to a response level, its timeline and its closing.

Every write checks `incident:command` and the alert's area scope, writes a timeline row and an audit row in the
same transaction; every read checks the scope of the incident. Refusals are Chinese sentences (`IncidentError`)
or `AccessDenied` (audited by `guard`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.security import guard
from console.security.guard import Viewer
from console.security.permissions import INCIDENT_COMMAND, VIEW_ALERTS
from console.store import Alert
from console.store.codes import OPEN_ALERT_STATES
from console.store.safety_models import Incident, IncidentAction

from . import response_plan
from console.store.codes import INCIDENT_ACTIONS, INCIDENT_STATES

NOTE_MAX = 500
LOCATED = ("lon", "lat", "county_code", "town_code", "village_code", "grid_code", "assign_generation")


class IncidentError(ValueError):
    """An action the incident's state or the input does not allow; the message says why in Chinese."""


def _note(text) -> str:
    text = (text or "").strip() if isinstance(text, str) else ""
    if len(text) > NOTE_MAX:
        raise IncidentError(f"记录不能超过 {NOTE_MAX} 字（现为 {len(text)} 字）")
    return text


def _log(s: Session, viewer: Viewer, incident: Incident, kind: str, note: str, now: datetime, detail=None) -> None:
    s.add(IncidentAction(incident_id=incident.id, at=now, actor=viewer.username, kind=kind, note=note))
    guard.audit(viewer, f"incident.{kind}", f"incident:{incident.id}", guard.GRANTED,
                {"alert": incident.alert_id, "level": incident.level, **(detail or {})}, session=s)


def raise_incident(s: Session, viewer: Viewer, alert_id: int, level_key, note: str, now: datetime) -> Incident:
    """Raise an open alert the viewer may see to an incident at a level of the plan (inside the caller's
    transaction). Refused: without the permission, outside the scope, a level not in the plan, an alert
    already raised or already closed."""
    # refusals are audited on their own connection: nothing may be written in `s` before the checks pass
    guard.require(viewer, INCIDENT_COMMAND, f"alert:{alert_id}", log_grant=False)
    lv = response_plan.level(level_key)
    note = _note(note)
    alert = s.get(Alert, alert_id)
    if alert is None:
        raise IncidentError(f"没有编号为 {alert_id} 的预警")
    guard.require_area(viewer, alert.finest_area, f"alert:{alert_id}")
    existing = s.scalar(select(Incident).where(Incident.alert_id == alert_id))
    if existing is not None:
        raise IncidentError(f"该预警已于 {existing.raised_at:%Y-%m-%d %H:%M} 升级为突发事件（编号 {existing.id}，"
                            f"{response_plan.LEVELS[existing.level].label}），不能重复启动")
    if alert.state not in OPEN_ALERT_STATES:
        raise IncidentError("该预警已办结或为误报，不能升级为突发事件")
    inc = Incident(alert_id=alert.id, level=lv.key, state="active", title=alert.title, raised_at=now,
                   raised_by=viewer.username, **{c: getattr(alert, c) for c in LOCATED})
    s.add(inc)
    s.flush()
    _log(s, viewer, inc, "raise", note or f"启动{lv.label}响应，牵头：{lv.lead}", now)
    return inc


def _for_command(s: Session, viewer: Viewer, incident_id: int) -> Incident:
    guard.require(viewer, INCIDENT_COMMAND, f"incident:{incident_id}", log_grant=False)
    inc = s.get(Incident, incident_id)
    if inc is None:
        raise IncidentError(f"没有编号为 {incident_id} 的突发事件")
    guard.require_area(viewer, inc.finest_area, f"incident:{incident_id}")
    if inc.state != "active":
        raise IncidentError("该突发事件已结束响应，不能再记录")
    return inc


def log_action(s: Session, viewer: Viewer, incident_id: int, note: str, now: datetime) -> None:
    note = _note(note)
    if not note:
        raise IncidentError("请填写处置记录的内容")
    _log(s, viewer, _for_command(s, viewer, incident_id), "note", note, now)


def change_level(s: Session, viewer: Viewer, incident_id: int, level_key, note: str, now: datetime) -> None:
    lv = response_plan.level(level_key)
    inc = _for_command(s, viewer, incident_id)
    if lv.key == inc.level:
        raise IncidentError(f"响应级别已是{lv.label}")
    old = response_plan.LEVELS[inc.level].label
    inc.level = lv.key
    _log(s, viewer, inc, "level", _note(note) or f"由{old}调整为{lv.label}", now, {"from": old})


def close(s: Session, viewer: Viewer, incident_id: int, note: str, now: datetime) -> None:
    inc = _for_command(s, viewer, incident_id)
    inc.state, inc.closed_at, inc.closed_by = "closed", now, viewer.username
    _log(s, viewer, inc, "close", _note(note) or "结束响应", now)


def get(s: Session, viewer: Viewer, incident_id: int) -> Incident:
    """The incident, if the viewer may see it (view:alerts and its scope; refusals audited)."""
    guard.require(viewer, VIEW_ALERTS, f"incident:{incident_id}")
    inc = s.get(Incident, incident_id)
    if inc is None:
        raise IncidentError(f"没有编号为 {incident_id} 的突发事件")
    guard.require_area(viewer, inc.finest_area, f"incident:{incident_id}")
    return inc


def timeline(s: Session, incident_id: int) -> list[dict]:
    rows = s.scalars(select(IncidentAction).where(IncidentAction.incident_id == incident_id)
                     .order_by(IncidentAction.at, IncidentAction.id)).all()
    return [{"at": r.at, "actor": r.actor, "kind": r.kind, "kind_label": INCIDENT_ACTIONS.get(r.kind, r.kind),
             "note": r.note} for r in rows]


def active(s: Session, scope, limit: int = 50) -> list[Incident]:
    """Active incidents in a scope, most serious level first, then newest."""
    rows = s.scalars(select(Incident).where(Incident.state == "active", scope.clause(Incident))
                     .order_by(Incident.raised_at.desc()).limit(limit)).all()
    return sorted(rows, key=lambda r: response_plan.ORDER.index(r.level))


def state_label(inc: Incident) -> str:
    return INCIDENT_STATES.get(inc.state, inc.state)


def incident_of_alert(s: Session, scope, alert_id: int) -> int | None:
    """The incident an alert in the scope was raised to, if any."""
    return s.scalar(select(Incident.id).where(Incident.alert_id == alert_id, scope.clause(Incident)))


def active_summary(s: Session, scope) -> tuple[int, str]:
    """(active incidents in the scope, the most serious level's short label or "") — a count for the hall's wall."""
    from sqlalchemy import func

    rows = dict(s.execute(select(Incident.level, func.count()).where(Incident.state == "active", scope.clause(Incident))
                          .group_by(Incident.level)).all())
    top = next((k for k in response_plan.ORDER if rows.get(k)), None)
    return sum(rows.values()), response_plan.LEVELS[top].label.split("（")[0] if top else ""
