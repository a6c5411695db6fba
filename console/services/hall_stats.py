"""Command-hall figures: month-on-month / year-on-year changes and the county ranking (docs/console.md, 指挥大厅).

The arithmetic is pure (tested without a browser or a database); the queries only count records by month and
county inside the viewer's scope — aggregates, never a record.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from console.store import Alert, Area, AreaScope, Dispute, Event
from console.store.codes import CITY_CODE

Month = tuple[int, int]  # (year, month)


def previous_month(m: Month) -> Month:
    y, mo = m
    return (y - 1, 12) if mo == 1 else (y, mo - 1)


def last_complete_month(now: datetime) -> Month:
    """The month the figures compare: the last one that has ended (the current month is still partial)."""
    return previous_month((now.year, now.month))


def change(current: int, before: int) -> float | None:
    """Relative change (0.25 = +25 %); None when there is nothing to compare with (before = 0)."""
    if not before:
        return None
    return (current - before) / before


@dataclass(frozen=True)
class Comparison:
    month: Month
    current: int
    previous_month: int
    previous_year: int

    @property
    def mom(self) -> float | None:  # 环比
        return change(self.current, self.previous_month)

    @property
    def yoy(self) -> float | None:  # 同比
        return change(self.current, self.previous_year)


def compare(monthly: Mapping[Month, int], month: Month) -> Comparison:
    """环比 against the month before, 同比 against the same month a year earlier; missing months count 0."""
    y, m = month
    return Comparison(month, monthly.get(month, 0), monthly.get(previous_month(month), 0), monthly.get((y - 1, m), 0))


def percent_text(value: float | None) -> str:
    """"+12.5%", "-3.0%", "持平" or "—" (no base to compare with)."""
    if value is None:
        return "—"
    if abs(value) < 0.0005:
        return "持平"
    return f"{value * 100:+.1f}%"


@dataclass(frozen=True)
class Ranked:
    rank: int
    code: str
    name: str
    value: int
    detail: dict


def rank(rows: Iterable[tuple[str, str, int, dict]]) -> list[Ranked]:
    """Rows (code, name, value, detail) ranked by value, highest first; equal values share a rank
    (1, 2, 2, 4 — standard competition ranking) and are listed by code so that the order is stable."""
    ordered = sorted(rows, key=lambda r: (-r[2], r[0]))
    out: list[Ranked] = []
    for i, (code, name, value, detail) in enumerate(ordered):
        place = out[-1].rank if out and out[-1].value == value else i + 1
        out.append(Ranked(place, code, name, value, detail))
    return out


# ---- queries (counts only) -------------------------------------------------------------------------------------

def _month_key(column, dialect: str):
    if dialect == "sqlite":
        return func.strftime("%Y-%m", column)
    return func.to_char(column, "YYYY-MM")


def monthly_counts(session: Session, scope: AreaScope, model, column, since: datetime) -> dict[Month, int]:
    """Records per calendar month (stored UTC) inside the scope, from `since` on."""
    key = _month_key(column, session.get_bind().dialect.name)
    rows = session.execute(select(key, func.count()).where(scope.clause(model), column >= since).group_by(key))
    out: dict[Month, int] = {}
    for ym, n in rows:
        if ym:
            y, m = str(ym).split("-")
            out[(int(y), int(m))] = int(n)
    return out


KINDS = {  # what the hall counts: label, model, time column
    "disputes": ("矛盾纠纷", Dispute, Dispute.registered_at),
    "events": ("事件", Event, Event.received_at),
    "alerts": ("预警", Alert, Alert.raised_at),
}


def comparisons(session: Session, scope: AreaScope, now: datetime, kinds: Iterable[str]) -> dict[str, Comparison]:
    month = last_complete_month(now)
    since = datetime(month[0] - 1, month[1], 1)
    out = {}
    for kind in kinds:
        _label, model, column = KINDS[kind]
        out[kind] = compare(monthly_counts(session, scope, model, column, since), month)
    return out


def county_ranking(session: Session, scope: AreaScope, now: datetime) -> list[Ranked]:
    """Counties inside the scope ranked by disputes registered in the last complete month; the detail holds
    that month's events and open disputes too. A county the viewer does not see is not listed."""
    y, m = last_complete_month(now)
    start = datetime(y, m, 1)
    end = datetime(y + (m == 12), m % 12 + 1, 1)
    counties = session.execute(select(Area.code, Area.name).where(Area.level == "county",
                                                                   Area.parent_code == CITY_CODE)).all()

    def per_county(model, *where):
        q = select(model.county_code, func.count()).where(scope.clause(model), *where).group_by(model.county_code)
        return {c: int(n) for c, n in session.execute(q)}

    from console.store.codes import OPEN_DISPUTE_STATES

    month_disputes = per_county(Dispute, Dispute.registered_at >= start, Dispute.registered_at < end)
    open_disputes = per_county(Dispute, Dispute.state.in_(OPEN_DISPUTE_STATES))
    month_events = per_county(Event, Event.received_at >= start, Event.received_at < end)
    rows = [(code, name, month_disputes.get(code, 0),
             {"open": open_disputes.get(code, 0), "events": month_events.get(code, 0)})
            for code, name in counties if scope.overlaps(code) or scope.allows(code)]
    return rank(rows)
