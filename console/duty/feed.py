"""What changed since a cursor: the duty page's push/poll channel reads only this.

The cursor is the last `alert_change.id` the client has seen. SQLite serialises writers, so change ids
appear in commit order and a client never skips a change by reading past a not-yet-committed one.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from console.store import Alert
from console.store.codes import ALERT_SEVERITIES, ALERT_STATES, OPEN_ALERT_STATES
from console.store.duty_models import AlertChange, AlertInfo

from .desk import grid_names
from .rules import RULE_LABELS

MAX_BATCH = 500
BEIJING = timedelta(hours=8)


def head(s: Session) -> int:
    return s.scalar(select(func.coalesce(func.max(AlertChange.id), 0))) or 0


def local(t: datetime | None, fmt: str = "%m-%d %H:%M:%S") -> str:
    """Stored times are UTC; the console shows Beijing time."""
    return (t + BEIJING).strftime(fmt) if t else ""


def row(alert: Alert, info: AlertInfo | None = None) -> dict:
    """The JSON the page draws: one list row and one map marker."""
    return {"id": alert.id, "rule": alert.rule, "rule_label": RULE_LABELS.get(alert.rule, alert.rule),
            "kind": alert.kind, "severity": alert.severity, "severity_label": ALERT_SEVERITIES.get(alert.severity, ""),
            "state": alert.state, "state_label": ALERT_STATES.get(alert.state, alert.state), "title": alert.title,
            "raised_at": local(alert.raised_at), "updated_at": local(alert.updated_at),
            "lon": alert.lon, "lat": alert.lat, "county": alert.county_code, "town": alert.town_code,
            "village": alert.village_code, "grid": alert.grid_code,
            "assignee": info.assignee if info else None,
            "open": "1" if alert.state in OPEN_ALERT_STATES else "0"}  # the 未办结 filter of the list


def changes(s: Session, scope, cursor: int, limit: int = MAX_BATCH) -> dict:
    """{"cursor": new cursor, "alerts": [rows changed after `cursor`, in the viewer's scope], "more": bool}."""
    ids = s.execute(select(AlertChange.id, AlertChange.alert_id).where(AlertChange.id > cursor)
                    .order_by(AlertChange.id).limit(limit)).all()
    if not ids:
        return {"cursor": cursor, "alerts": [], "more": False}
    wanted = {r.alert_id for r in ids}
    rows = s.execute(select(Alert, AlertInfo).outerjoin(AlertInfo, AlertInfo.alert_id == Alert.id)
                     .where(Alert.id.in_(wanted), scope.clause(Alert))).all()
    return {"cursor": ids[-1].id, "alerts": grid_names(s, [row(a, i) for a, i in rows]), "more": len(ids) == limit}


def open_alerts(s: Session, scope, states=OPEN_ALERT_STATES, limit: int = 2000) -> list[dict]:
    rows = s.execute(select(Alert, AlertInfo).outerjoin(AlertInfo, AlertInfo.alert_id == Alert.id)
                     .where(Alert.state.in_(states), scope.clause(Alert)).order_by(Alert.id.desc()).limit(limit)).all()
    return grid_names(s, [row(a, i) for a, i in rows])


def detail_of(info: AlertInfo | None) -> dict:
    return json.loads(info.detail) if info and info.detail else {}
