"""The command-hall wall (指挥大厅大屏, docs/console.md): the live alert banner and the kiosk panels' figures.

Aggregates only — counts and times, never an alert's text or a person — so the wall account (display:wall,
no record views) may show them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from console.store import Alert, AreaScope, Dispute
from console.store.codes import ALERT_STATES, DISPUTE_STATES, OPEN_ALERT_STATES, OPEN_DISPUTE_STATES

PANELS = ("overview", "alerts", "disputes", "ranking")  # the kiosk's rotation, in order
PANEL_TITLES = {"overview": "全市态势", "alerts": "预警处置", "disputes": "矛盾纠纷", "ranking": "县区排名"}
MIN_INTERVAL, MAX_INTERVAL, DEFAULT_INTERVAL = 5, 600, 20  # seconds a panel stays up


def interval_seconds(value) -> int:
    """The rotation interval from settings or the address (?interval=30): clamped, a bad value gives the default."""
    try:
        n = int(str(value).strip())
    except (TypeError, ValueError):
        return DEFAULT_INTERVAL
    return min(max(n, MIN_INTERVAL), MAX_INTERVAL)


def next_panel(current: str | None, panels=PANELS) -> str:
    if current not in panels:
        return panels[0]
    return panels[(panels.index(current) + 1) % len(panels)]


def since_text(seconds: float | None) -> str:
    """How long the oldest unacknowledged alert has waited, as the wall shows it."""
    if seconds is None:
        return "—"
    s = max(0, int(seconds))
    if s < 60:
        return f"{s} 秒"
    if s < 3600:
        return f"{s // 60} 分钟"
    if s < 86400:
        return f"{s // 3600} 小时 {s % 3600 // 60} 分"
    return f"{s // 86400} 天 {s % 86400 // 3600} 小时"


@dataclass(frozen=True)
class Banner:
    unacknowledged: int
    oldest: datetime | None  # UTC
    as_of: datetime  # UTC: when these figures were read

    def waited(self) -> float | None:
        return (self.as_of - self.oldest).total_seconds() if self.oldest else None


def banner(session: Session, scope: AreaScope, now: datetime) -> Banner:
    n, oldest = session.execute(select(func.count(), func.min(Alert.raised_at)).where(
        Alert.state == "new", scope.clause(Alert))).one()
    return Banner(int(n or 0), oldest, now)


def alert_states(session: Session, scope: AreaScope) -> dict[str, int]:
    """Open alerts by state, in the code table's order, with 中文 labels as keys."""
    rows = dict(session.execute(select(Alert.state, func.count()).where(
        Alert.state.in_(OPEN_ALERT_STATES), scope.clause(Alert)).group_by(Alert.state)).all())
    return {ALERT_STATES[s]: int(rows.get(s, 0)) for s in OPEN_ALERT_STATES}


def dispute_states(session: Session, scope: AreaScope) -> dict[str, int]:
    rows = dict(session.execute(select(Dispute.state, func.count()).where(
        Dispute.state.in_(OPEN_DISPUTE_STATES), scope.clause(Dispute)).group_by(Dispute.state)).all())
    return {DISPUTE_STATES[s]: int(rows.get(s, 0)) for s in OPEN_DISPUTE_STATES}
