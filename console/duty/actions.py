"""What a duty officer does to an alert, each step kept as history (who, when, from → to, note).

Every action checks `alert:act` through `security.guard.require(…, session=s)`, so the audit row and the
change commit together. `auto_escalate` moves unacknowledged alerts past their deadline to 已上报.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.security import guard
from console.security.permissions import ALERT_ACT
from console.store import Alert
from console.store.codes import OPEN_ALERT_STATES
from console.store.duty_models import AlertChange, AlertHistory, AlertInfo

ACTIONS = {
    # action: (label, allowed from-states, to-state, note required)
    "acknowledge": ("签收", ("new", "escalated"), "acknowledged", False),
    "dispatch": ("派单", ("new", "acknowledged", "escalated", "dispatched"), "dispatched", True),
    "escalate": ("上报", ("new", "acknowledged", "dispatched"), "escalated", False),
    "resolve": ("办结", ("acknowledged", "dispatched", "escalated"), "resolved", True),
    "false_alarm": ("误报", ("new", "acknowledged", "dispatched", "escalated"), "false_alarm", False),
}
OPEN_STATES = OPEN_ALERT_STATES


class ActionError(ValueError):
    """The action does not fit the alert's state, or lacks its note. The message is for the user."""


def check(action: str, state: str, note: str) -> str:
    """Pure: the state the action leads to, or ActionError."""
    if action not in ACTIONS:
        raise ActionError(f"未知操作: {action}")
    label, sources, target, needs_note = ACTIONS[action]
    if state not in sources:
        raise ActionError(f"当前状态不能{label}")
    if needs_note and not (note or "").strip():
        raise ActionError(f"{label}需要填写{'派往对象和说明' if action == 'dispatch' else '处理结果'}")
    return target


def act(s: Session, viewer, alert_id: int, action: str, note: str = "", *, assignee: str | None = None,
        now: datetime | None = None) -> Alert:
    """Apply one action inside the caller's transaction (commit after). Raises AccessDenied / ActionError."""
    now = now or datetime.utcnow()
    alert = s.get(Alert, alert_id)
    if alert is None:
        raise ActionError("预警不存在")
    if isinstance(viewer, guard.Viewer):  # the secured console: audited in this transaction
        guard.require(viewer, ALERT_ACT, f"alert:{alert_id}", detail={"action": action}, session=s)
    elif not viewer.can(ALERT_ACT):  # the demo viewer before security is wired
        raise guard.AccessDenied(permission=ALERT_ACT, object=f"alert:{alert_id}")
    if not viewer.scope.allows(alert.finest_area):
        raise ActionError("该预警不在您的数据范围内")
    if action == "dispatch" and not (assignee or "").strip():
        raise ActionError("派单需要选择派往对象")
    target = check(action, alert.state, note)
    _move(s, alert, action, target, viewer.username, note.strip(), now)
    if action == "dispatch":
        info = s.get(AlertInfo, alert_id)
        if info is not None:
            info.assignee = (assignee or "").strip()[:64]
    return alert


def _move(s: Session, alert: Alert, action: str, target: str, actor: str, note: str, now: datetime) -> None:
    s.add(AlertHistory(alert_id=alert.id, at=now, actor=actor, action=action, from_state=alert.state,
                       to_state=target, note=note))
    alert.state, alert.updated_at = target, now
    s.add(AlertChange(alert_id=alert.id, at=now))


def auto_escalate(s: Session, now: datetime | None = None, limit: int | None = None) -> list[int]:
    """Escalate every new alert whose acknowledge deadline has passed (at most `limit`, oldest first).
    Returns their ids (commit after)."""
    now = now or datetime.utcnow()
    rows = s.execute(select(Alert).join(AlertInfo, AlertInfo.alert_id == Alert.id)
                     .where(Alert.state == "new", AlertInfo.ack_due_at < now).order_by(Alert.id).limit(limit)
                     ).scalars().all()
    for alert in rows:
        _move(s, alert, "escalate", "escalated", "system", "超时未签收，自动上报", now)
    return [a.id for a in rows]


def history(s: Session, alert_id: int) -> list[AlertHistory]:
    return list(s.scalars(select(AlertHistory).where(AlertHistory.alert_id == alert_id).order_by(AlertHistory.id)))
