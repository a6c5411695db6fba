"""Ledger (台账) reads. Every read takes the viewer's AreaScope; identity numbers come back masked."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, func, or_, select

from console.store import AreaScope, Dispute, DisputeEvent, DisputeParty
from console.store.codes import (
    DISPUTE_CATEGORIES, DISPUTE_COMPLEXITY, DISPUTE_STATES, HANDLING_LEVELS, OPEN_DISPUTE_STATES, PARTY_ROLES,
    RISK_GRADES, SATISFACTION, SEXES, AREA_COLUMN, level_of,
)
from console.store.masking import mask_id, mask_phone

from . import deadlines

COLUMNS = ("id", "code", "title", "category", "registered_at", "village_code", "place", "scale", "risk_grade",
           "complexity", "state", "handling_level", "department", "handler", "deadline", "closed_at")
SORTABLE = {"registered_at", "code", "deadline", "category", "state", "scale", "village_code"}


@dataclass(frozen=True)
class Filters:
    area: str | None = None  # any area code inside the scope
    category: str | None = None
    state: str | None = None
    since: date | None = None
    until: date | None = None
    overdue: bool = False
    text: str | None = None


def _area_clause(code: str):
    level = level_of(code)
    if level in (None, "city"):
        raise ValueError(f"不是有效的区划代码：{code}")
    return getattr(Dispute, AREA_COLUMN[level]) == code


def where(scope: AreaScope, f: Filters, now: datetime) -> list:
    conds = [scope.clause(Dispute)]
    if f.area and f.area != "610900":
        conds.append(_area_clause(f.area))
    if f.category:
        conds.append(Dispute.category == f.category)
    if f.state:
        conds.append(Dispute.state == f.state)
    if f.since:
        conds.append(Dispute.registered_at >= datetime.combine(f.since, datetime.min.time()))
    if f.until:
        conds.append(Dispute.registered_at < datetime.combine(f.until + timedelta(days=1), datetime.min.time()))
    if f.overdue:
        conds.append(and_(Dispute.state.in_(OPEN_DISPUTE_STATES), Dispute.deadline < now))
    if f.text:
        like = f"%{f.text.strip()[:40]}%"
        conds.append(or_(Dispute.code.like(like), Dispute.title.like(like), Dispute.place.like(like)))
    return conds


def query(session, scope: AreaScope, f: Filters, now: datetime, *, offset: int = 0, limit: int = 100,
          sort: str = "registered_at", descending: bool = True, with_total: bool = True) -> tuple[list[dict], int]:
    """One page of the ledger (display rows) and the total count."""
    if sort not in SORTABLE:
        sort = "registered_at"
    conds = where(scope, f, now)
    col = getattr(Dispute, sort)
    stmt = (select(*(getattr(Dispute, c) for c in COLUMNS)).where(*conds)
            .order_by(col.desc() if descending else col.asc(), Dispute.id.desc()).offset(offset).limit(limit))
    rows = [display_row(r._mapping, now) for r in session.execute(stmt)]
    total = session.scalar(select(func.count()).select_from(Dispute).where(*conds)) if with_total else len(rows)
    return rows, total


def display_row(r: Mapping, now: datetime) -> dict:
    status = deadlines.status(r["state"], r["deadline"], now)
    return {
        "id": r["id"], "code": r["code"], "title": r["title"],
        "category": DISPUTE_CATEGORIES.get(r["category"], r["category"]),
        "registered_at": f"{r['registered_at']:%Y-%m-%d %H:%M}", "village_code": r["village_code"],
        "place": r["place"], "scale": r["scale"], "risk_grade": RISK_GRADES.get(r["risk_grade"], r["risk_grade"]),
        "complexity": DISPUTE_COMPLEXITY.get(r["complexity"], r["complexity"]),
        "state": DISPUTE_STATES.get(r["state"], r["state"]),
        "handling_level": HANDLING_LEVELS.get(r["handling_level"] or "", ""),
        "department": r["department"] or "", "handler": r["handler"] or "",
        "deadline": f"{r['deadline']:%Y-%m-%d %H:%M}" if r["deadline"] else "",
        "status": deadlines.STATUS_LABELS[status], "overdue": status == "overdue",
    }


def case_detail(session, scope: AreaScope, dispute_id: int, now: datetime) -> dict | None:
    """The case with masked parties and its history, or None when missing or outside the scope."""
    case = session.get(Dispute, dispute_id)
    if case is None or not scope.allows(case.village_code):
        return None
    row = display_row({c: getattr(case, c) for c in COLUMNS}, now)
    row.update(state_key=case.state, description=case.description, outcome=case.outcome or "",
               satisfaction=SATISFACTION.get(case.satisfaction or "", ""), occurred_on=str(case.occurred_on),
               grid_code=case.grid_code, category_key=case.category, complexity_key=case.complexity,
               late_days=deadlines.overdue_days(case.deadline, now) if case.state in OPEN_DISPUTE_STATES else 0)
    parties = session.scalars(select(DisputeParty).where(DisputeParty.dispute_id == dispute_id)
                              .order_by(DisputeParty.id)).all()
    row["parties"] = [{"id": p.id, "role": PARTY_ROLES.get(p.role, p.role), "name": p.name,
                       "id_number": mask_id(p.id_number), "sex": SEXES.get(p.sex, p.sex), "phone": mask_phone(p.phone)}
                      for p in parties]
    events = session.scalars(select(DisputeEvent).where(DisputeEvent.dispute_id == dispute_id)
                             .order_by(DisputeEvent.seq)).all()
    row["history"] = [{"at": f"{e.at:%Y-%m-%d %H:%M}", "from": DISPUTE_STATES.get(e.from_state or "", ""),
                       "to": DISPUTE_STATES.get(e.to_state, e.to_state), "actor": e.actor, "note": e.note or ""}
                      for e in events]
    return row


def supervision(session, scope: AreaScope, now: datetime, limit: int = 200) -> list[dict]:
    """督办: overdue open cases in scope with who is late."""
    rows = session.execute(select(Dispute.code, Dispute.title, Dispute.state, Dispute.deadline, Dispute.department,
                                  Dispute.handler)
                           .where(scope.clause(Dispute), Dispute.state.in_(OPEN_DISPUTE_STATES),
                                  Dispute.deadline < now).order_by(Dispute.deadline).limit(limit)).all()
    return deadlines.supervision_list([dict(r._mapping) for r in rows], now)
