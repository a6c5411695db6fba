"""The KPIs of one area queried straight from the tables: the oracle the product's cube (console.services.kpis,
console.services.cube) is tested against. GROUP BY on the indexed area-code columns, scope always applied."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from console.duty.rules import mental_risk_alert_level
from console.services.areas import CHILD_COLUMN, AreaNode, within
from console.services.kpis import TREND_MONTHS, grids_and_workers, month_start, months_back, survey
from console.store import (
    AreaScope, Camera, Dispute, Household, KeyYouth, Organisation, Person, SpecialPerson,
)
from console.store.codes import CITY_CODE, OPEN_DISPUTE_STATES, RESIDENCE_TYPES, RISK_GRADES, SPECIAL_CATEGORIES
from console.store.dialect import year_month


def residents(session: Session, node: AreaNode, scope: AreaScope) -> dict:
    """Residents by type, total, and per child area (for the choropleth)."""
    child_col = CHILD_COLUMN.get(node.level)
    cols = [Person.residence_type] + ([getattr(Person, child_col)] if child_col else [])
    stmt = select(*cols, func.count()).where(within(Person, node, scope)).group_by(*cols)
    by_type = dict.fromkeys(RESIDENCE_TYPES, 0)
    by_child: dict[str, int] = {}
    for row in session.execute(stmt):
        by_type[row[0]] = by_type.get(row[0], 0) + row[-1]
        if child_col and row[1]:
            by_child[row[1]] = by_child.get(row[1], 0) + row[-1]
    return {"by_type": by_type, "total": sum(by_type.values()), "by_child": by_child}


def households(session: Session, node: AreaNode, scope: AreaScope) -> int:
    return session.scalar(select(func.count()).select_from(Household).where(within(Household, node, scope))) or 0


def special(session: Session, node: AreaNode, scope: AreaScope) -> dict:
    stmt = (select(SpecialPerson.category, SpecialPerson.risk_grade, func.count())
            .where(within(SpecialPerson, node, scope)).group_by(SpecialPerson.category, SpecialPerson.risk_grade))
    by_cat = dict.fromkeys(SPECIAL_CATEGORIES, 0)
    by_risk = dict.fromkeys(RISK_GRADES, 0)
    for cat, grade, n in session.execute(stmt):
        by_cat[cat] = by_cat.get(cat, 0) + n
        by_risk[grade] = by_risk.get(grade, 0) + n
    mental_alert = session.scalar(select(func.count()).select_from(SpecialPerson).where(
        within(SpecialPerson, node, scope), SpecialPerson.category == "mental",
        SpecialPerson.risk_level >= mental_risk_alert_level())) or 0
    youth = session.scalar(select(func.count()).select_from(KeyYouth).where(within(KeyYouth, node, scope))) or 0
    return {"by_category": by_cat, "by_risk": by_risk, "total": sum(by_cat.values()),
            "mental_alert": mental_alert, "key_youth": youth}


def disputes(session: Session, node: AreaNode, scope: AreaScope, now: datetime) -> dict:
    base = within(Dispute, node, scope)
    by_state = dict(session.execute(select(Dispute.state, func.count()).where(base).group_by(Dispute.state)).all())
    total = sum(by_state.values())
    open_n = sum(by_state.get(s, 0) for s in OPEN_DISPUTE_STATES)
    closed_month = session.scalar(select(func.count()).select_from(Dispute).where(
        base, Dispute.closed_at >= month_start(now))) or 0
    closed = session.scalar(select(func.count()).select_from(Dispute).where(base, Dispute.closed_at.is_not(None))) or 0
    success = session.scalar(select(func.count()).select_from(Dispute).where(
        base, Dispute.closed_at.is_not(None), Dispute.success.is_(True))) or 0
    overdue = session.scalar(select(func.count()).select_from(Dispute).where(
        base, Dispute.state.in_(OPEN_DISPUTE_STATES), Dispute.deadline < now)) or 0
    return {"total": total, "open": open_n, "closed_this_month": closed_month, "closed": closed,
            "resolved": success, "resolution_rate": (success / closed) if closed else None,
            "overdue": overdue, "by_state": by_state}


def dispute_trend(session: Session, node: AreaNode, scope: AreaScope, now: datetime) -> list[tuple[str, str, int]]:
    """(YYYY-MM, category, count) for the last TREND_MONTHS months, by registration date."""
    start = months_back(now, TREND_MONTHS - 1)
    month = year_month(Dispute.registered_at)
    stmt = (select(month, Dispute.category, func.count())
            .where(within(Dispute, node, scope), Dispute.registered_at >= start)
            .group_by(month, Dispute.category).order_by(month))
    return [(m, c, n) for m, c, n in session.execute(stmt)]


def cameras(session: Session, node: AreaNode, scope: AreaScope) -> dict:
    rows = dict(session.execute(select(Camera.status, func.count()).where(within(Camera, node, scope))
                                .group_by(Camera.status)).all())
    total = sum(rows.values())
    online = rows.get("online", 0)
    return {"total": total, "online": online, "online_rate": (online / total) if total else None}


def organisations(session: Session, node: AreaNode, scope: AreaScope) -> dict:
    rows = dict(session.execute(select(Organisation.kind, func.count()).where(within(Organisation, node, scope))
                                .group_by(Organisation.kind)).all())
    return {"by_kind": rows, "total": sum(rows.values())}


def oracle_kpis(session: Session, node: AreaNode, scope: AreaScope, now: datetime | None = None) -> dict:
    now = now or datetime.now()
    return {
        "code": node.code, "name": node.name, "level": node.level, "as_of": now.isoformat(timespec="minutes"),
        "residents": residents(session, node, scope),
        "households": households(session, node, scope),
        "grids": grids_and_workers(session, node),
        "special": special(session, node, scope),
        "disputes": disputes(session, node, scope, now),
        "dispute_trend": dispute_trend(session, node, scope, now),
        "cameras": cameras(session, node, scope),
        "organisations": organisations(session, node, scope),
        "survey": survey(session, node),
        "is_city": node.code == CITY_CODE,
    }
