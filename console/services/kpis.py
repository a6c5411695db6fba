"""KPIs of one area for one viewer: GROUP BY on the indexed area-code columns, scope always applied."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, case, func, select, true
from sqlalchemy.orm import Session

from console.store import (
    AreaScope, Camera, Dispute, Grid, GridWorker, Household, KeyYouth, Organisation, Person, SpecialPerson, Survey,
)
from console.store.codes import (
    CITY_CODE, MENTAL_RISK_ALERT_LEVEL, OPEN_DISPUTE_STATES, RESIDENCE_TYPES, RISK_GRADES, SPECIAL_CATEGORIES,
    SURVEY_INDICATORS,
)

from console.store.dialect import year_month

from .areas import CHILD_COLUMN, AreaNode, current_grid_clause

TREND_MONTHS = 12


def area_clause(model, node: AreaNode):
    """Records inside the area (the city is everything in the database)."""
    if node.level == "city":
        return true()
    return AreaScope.of([node.code]).clause(model)  # a range on the indexed grid code


def where(model, node: AreaNode, scope: AreaScope):
    return and_(area_clause(model, node), scope.clause(model))


def _grid_prefix_clause(column, node: AreaNode):
    return true() if node.level == "city" else column.like(f"{node.code}%")


def residents(session: Session, node: AreaNode, scope: AreaScope) -> dict:
    """Residents by type, total, and per child area (for the choropleth)."""
    child_col = CHILD_COLUMN.get(node.level)
    cols = [Person.residence_type] + ([getattr(Person, child_col)] if child_col else [])
    stmt = select(*cols, func.count()).where(where(Person, node, scope)).group_by(*cols)
    by_type = dict.fromkeys(RESIDENCE_TYPES, 0)
    by_child: dict[str, int] = {}
    for row in session.execute(stmt):
        by_type[row[0]] = by_type.get(row[0], 0) + row[-1]
        if child_col and row[1]:
            by_child[row[1]] = by_child.get(row[1], 0) + row[-1]
    return {"by_type": by_type, "total": sum(by_type.values()), "by_child": by_child}


def households(session: Session, node: AreaNode, scope: AreaScope) -> int:
    return session.scalar(select(func.count()).select_from(Household).where(where(Household, node, scope))) or 0


def grids_and_workers(session: Session, node: AreaNode) -> dict:
    grids = session.scalar(select(func.count()).select_from(Grid)
                           .where(current_grid_clause(), _grid_prefix_clause(Grid.code, node))) or 0
    rows = session.execute(select(GridWorker.role, func.count()).where(
        _grid_prefix_clause(GridWorker.grid_code, node)).group_by(GridWorker.role)).all()
    return {"grids": grids, "workers": sum(n for _, n in rows), "workers_by_role": dict(rows)}


def special(session: Session, node: AreaNode, scope: AreaScope) -> dict:
    stmt = (select(SpecialPerson.category, SpecialPerson.risk_grade, func.count())
            .where(where(SpecialPerson, node, scope)).group_by(SpecialPerson.category, SpecialPerson.risk_grade))
    by_cat = dict.fromkeys(SPECIAL_CATEGORIES, 0)
    by_risk = dict.fromkeys(RISK_GRADES, 0)
    for cat, grade, n in session.execute(stmt):
        by_cat[cat] = by_cat.get(cat, 0) + n
        by_risk[grade] = by_risk.get(grade, 0) + n
    mental_alert = session.scalar(select(func.count()).select_from(SpecialPerson).where(
        where(SpecialPerson, node, scope), SpecialPerson.category == "mental",
        SpecialPerson.risk_level >= MENTAL_RISK_ALERT_LEVEL)) or 0
    youth = session.scalar(select(func.count()).select_from(KeyYouth).where(where(KeyYouth, node, scope))) or 0
    return {"by_category": by_cat, "by_risk": by_risk, "total": sum(by_cat.values()),
            "mental_alert": mental_alert, "key_youth": youth}


def month_start(now: datetime) -> datetime:
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def months_back(now: datetime, n: int) -> datetime:
    y, m = now.year, now.month - n
    while m <= 0:
        y, m = y - 1, m + 12
    return datetime(y, m, 1)


def disputes(session: Session, node: AreaNode, scope: AreaScope, now: datetime) -> dict:
    base = where(Dispute, node, scope)
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
            .where(where(Dispute, node, scope), Dispute.registered_at >= start)
            .group_by(month, Dispute.category).order_by(month))
    return [(m, c, n) for m, c, n in session.execute(stmt)]


def cameras(session: Session, node: AreaNode, scope: AreaScope) -> dict:
    rows = dict(session.execute(select(Camera.status, func.count()).where(where(Camera, node, scope))
                                .group_by(Camera.status)).all())
    total = sum(rows.values())
    online = rows.get("online", 0)
    return {"total": total, "online": online, "online_rate": (online / total) if total else None}


def organisations(session: Session, node: AreaNode, scope: AreaScope) -> dict:
    rows = dict(session.execute(select(Organisation.kind, func.count()).where(where(Organisation, node, scope))
                                .group_by(Organisation.kind)).all())
    return {"by_kind": rows, "total": sum(rows.values())}


def survey(session: Session, node: AreaNode) -> dict | None:
    """两率两度 of the latest year: the county's figures, or the mean over counties for the city."""
    county = None if node.level == "city" else node.code[:6]
    stmt = select(func.max(Survey.year))
    if county:
        stmt = stmt.where(Survey.county_code == county)
    year = session.scalar(stmt)
    if year is None:
        return None
    flagged = func.max(case((Survey.synthetic.is_(True), 1), else_=0))  # PostgreSQL has no max(boolean)
    q = select(Survey.indicator, func.avg(Survey.rate), flagged).where(Survey.year == year)
    if county:
        q = q.where(Survey.county_code == county)
    rates = {}
    synthetic = False
    for ind, rate, syn in session.execute(q.group_by(Survey.indicator)):
        rates[ind] = float(rate) / 100 if rate > 1 else float(rate)  # stored as a percentage or a fraction
        synthetic = synthetic or bool(syn)
    ordered = {k: rates[k] for k in SURVEY_INDICATORS if k in rates}
    return {"year": year, "rates": ordered, "synthetic": synthetic, "scope": "county" if county else "city"}


def area_kpis(session: Session, node: AreaNode, scope: AreaScope, now: datetime | None = None) -> dict:
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


def kpis_from_cube(session: Session, cube, node: AreaNode, scope: AreaScope) -> dict:
    """The same dict as `area_kpis`, summed from the per-grid cube (see `cube.py`) instead of queried."""
    from .cube import LEVEL_POS

    child_pos = LEVEL_POS.get(CHILD_LEVEL_OF.get(node.level, ""), None)

    def rows(table):
        return cube.select(table, node.level, node.code, scope)

    by_type = dict.fromkeys(RESIDENCE_TYPES, 0)
    by_child: dict[str, int] = {}
    for key, groups in rows("person"):
        for (rtype,), n in groups.items():
            by_type[rtype] = by_type.get(rtype, 0) + n
            if child_pos is not None and key[child_pos]:
                by_child[key[child_pos]] = by_child.get(key[child_pos], 0) + n
    households_n = sum(n for _, g in rows("household") for n in g.values())
    by_cat = dict.fromkeys(SPECIAL_CATEGORIES, 0)
    by_risk = dict.fromkeys(RISK_GRADES, 0)
    mental_alert = 0
    for _, groups in rows("special"):
        for (cat, grade, alert), n in groups.items():
            by_cat[cat] = by_cat.get(cat, 0) + n
            by_risk[grade] = by_risk.get(grade, 0) + n
            mental_alert += n if alert else 0
    youth = sum(n for _, g in rows("youth") for n in g.values())
    d = dict(total=0, open=0, closed=0, closed_this_month=0, resolved=0, overdue=0)
    for _, groups in rows("dispute"):
        for (is_open, closed, closed_month, success, overdue), n in groups.items():
            d["total"] += n
            d["open"] += n * is_open
            d["closed"] += n * closed
            d["closed_this_month"] += n * closed_month
            d["resolved"] += n * success
            d["overdue"] += n * overdue
    trend: dict[tuple, int] = {}
    for _, groups in rows("trend"):
        for (month, cat), n in groups.items():
            trend[(month, cat)] = trend.get((month, cat), 0) + n
    cams: dict[str, int] = {}
    for _, groups in rows("camera"):
        for (status,), n in groups.items():
            cams[status] = cams.get(status, 0) + n
    orgs: dict[str, int] = {}
    for _, groups in rows("org"):
        for (kind,), n in groups.items():
            orgs[kind] = orgs.get(kind, 0) + n
    cam_total = sum(cams.values())
    return {
        "code": node.code, "name": node.name, "level": node.level,
        "as_of": cube.built_at.isoformat(timespec="minutes"),
        "residents": {"by_type": by_type, "total": sum(by_type.values()), "by_child": by_child},
        "households": households_n,
        "grids": grids_and_workers(session, node),
        "special": {"by_category": by_cat, "by_risk": by_risk, "total": sum(by_cat.values()),
                    "mental_alert": mental_alert, "key_youth": youth},
        "disputes": {**d, "resolution_rate": (d["resolved"] / d["closed"]) if d["closed"] else None},
        "dispute_trend": sorted((m, c, n) for (m, c), n in trend.items()),
        "cameras": {"total": cam_total, "online": cams.get("online", 0),
                    "online_rate": (cams.get("online", 0) / cam_total) if cam_total else None},
        "organisations": {"by_kind": orgs, "total": sum(orgs.values())},
        "survey": survey(session, node),
        "is_city": node.code == CITY_CODE,
    }


CHILD_LEVEL_OF = {"city": "county", "county": "town", "town": "village", "village": "grid"}
