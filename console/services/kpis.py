"""KPIs of one area for one viewer, summed from the per-grid cube; scope always applied."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

from sqlalchemy import case, func, select, true
from sqlalchemy.orm import Session

from console.store import AreaScope, Grid, GridWorker, Survey
from console.store.codes import (
    CHILD_LEVEL, CITY_CODE, RESIDENCE_TYPES, RISK_GRADES, SPECIAL_CATEGORIES,
    SURVEY_INDICATORS,
)


from .areas import AreaNode, current_grid_clause

TREND_MONTHS = 12


def _grid_prefix_clause(column, node: AreaNode):
    return true() if node.level == "city" else column.like(f"{node.code}%")


def grids_and_workers(session: Session, node: AreaNode, scope: AreaScope | None = None) -> dict:
    """Current grids and their workers in the area — and in the viewer's scope (never the wider area's)."""
    scope = scope or AreaScope.city()
    grids = session.scalar(select(func.count()).select_from(Grid)
                           .where(current_grid_clause(), _grid_prefix_clause(Grid.code, node),
                                  scope.clause(SimpleNamespace(grid_code=Grid.code)))) or 0
    rows = session.execute(select(GridWorker.role, func.count()).where(
        _grid_prefix_clause(GridWorker.grid_code, node), scope.clause(GridWorker)).group_by(GridWorker.role)).all()
    return {"grids": grids, "workers": sum(n for _, n in rows), "workers_by_role": dict(rows)}


def month_start(now: datetime) -> datetime:
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def months_back(now: datetime, n: int) -> datetime:
    y, m = now.year, now.month - n
    while m <= 0:
        y, m = y - 1, m + 12
    return datetime(y, m, 1)


def survey(session: Session, node: AreaNode) -> dict | None:
    """两率两度 of the latest year: the county's figures, or the mean over counties for the city (over the counties
    of the scope for a scope of several counties)."""
    counties = None if node.level != "city" else sorted({c[:6] for c in node.within}) or None
    county = None if node.level == "city" else node.code[:6]
    stmt = select(func.max(Survey.year))
    if county:
        stmt = stmt.where(Survey.county_code == county)
    if counties:
        stmt = stmt.where(Survey.county_code.in_(counties))
    year = session.scalar(stmt)
    if year is None:
        return None
    flagged = func.max(case((Survey.synthetic.is_(True), 1), else_=0))  # PostgreSQL has no max(boolean)
    q = select(Survey.indicator, func.avg(Survey.rate), flagged).where(Survey.year == year)
    if county:
        q = q.where(Survey.county_code == county)
    if counties:
        q = q.where(Survey.county_code.in_(counties))
    rates = {}
    synthetic = False
    for ind, rate, syn in session.execute(q.group_by(Survey.indicator)):
        rates[ind] = float(rate) / 100 if rate > 1 else float(rate)  # stored as a percentage or a fraction
        synthetic = synthetic or bool(syn)
    ordered = {k: rates[k] for k in SURVEY_INDICATORS if k in rates}
    return {"year": year, "rates": ordered, "synthetic": synthetic,
            "scope": "county" if county else ("counties" if counties else "city")}


def from_cube(session: Session, cube, node: AreaNode, scope: AreaScope) -> dict:
    """An area's KPIs for one viewer, summed from the per-grid cube (see `cube.py`). The tests hold a direct-SQL
    oracle of the same figures (tests/kpi_oracle.py)."""
    from .cube import LEVEL_POS

    child_pos = LEVEL_POS.get(CHILD_LEVEL.get(node.level, ""), None)

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
        "grids": grids_and_workers(session, node, scope),
        "special": {"by_category": by_cat, "by_risk": by_risk, "total": sum(by_cat.values()),
                    "mental_alert": mental_alert, "key_youth": youth},
        "disputes": {**d, "resolution_rate": (d["resolved"] / d["closed"]) if d["closed"] else None},
        "dispute_trend": sorted((m, c, n) for (m, c), n in trend.items()),
        "cameras": {"total": cam_total, "online": cams.get("online", 0),
                    "online_rate": (cams.get("online", 0) / cam_total) if cam_total else None},
        "organisations": {"by_kind": orgs, "total": sum(orgs.values())},
        "survey": survey(session, node),
        "is_city": node.code == CITY_CODE and not node.partial,
    }


