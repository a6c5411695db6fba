"""Counts per grid for the whole city, in one GROUP BY pass per table; any area's KPIs for any scope are then
sums over the grids inside both (codes are prefix-hierarchical). At full scale (2.5 M persons) one pass costs a
few seconds once; every drill-down after that costs microseconds."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from console.store import (
    AreaScope, Camera, Dispute, Household, KeyYouth, Organisation, Person, SpecialPerson,
)
from console.duty.rules import mental_risk_alert_level
from console.store.codes import OPEN_DISPUTE_STATES
from console.store.dialect import year_month

Key = tuple  # (county_code, town_code, village_code, grid_code); any may be None
LEVEL_POS = {"county": 0, "town": 1, "village": 2, "grid": 3}


def _codes(model):
    return (model.county_code, model.town_code, model.village_code, model.grid_code)


@dataclass
class Cube:
    built_at: datetime
    month_start: datetime
    since: datetime  # first month of the dispute trend
    tables: dict[str, dict[Key, dict[tuple, int]]] = field(default_factory=dict)

    def select(self, table: str, node_level: str, node_code: str, scope: AreaScope):
        """(key, {group: n}) for the grids of `table` inside the area and the scope."""
        pos = LEVEL_POS.get(node_level)
        for key, groups in self.tables.get(table, {}).items():
            if pos is not None and key[pos] != node_code:
                continue
            deepest = next((c for c in reversed(key) if c), None)
            if not scope.is_city and not scope.allows(deepest):
                continue
            yield key, groups


def _pass(session: Session, model, *group_cols, where=None) -> dict[Key, dict[tuple, int]]:
    cols = _codes(model)
    stmt = select(*cols, *group_cols, func.count()).group_by(*cols, *group_cols)
    if where is not None:
        stmt = stmt.where(where)
    out: dict[Key, dict[tuple, int]] = defaultdict(dict)
    for row in session.execute(stmt):
        out[tuple(row[:4])][tuple(row[4:-1])] = row[-1]
    return dict(out)


def build_cube(session: Session, now: datetime, since: datetime, month_start: datetime) -> Cube:
    cube = Cube(built_at=now, month_start=month_start, since=since)
    t = cube.tables
    t["person"] = _pass(session, Person, Person.residence_type)
    t["household"] = _pass(session, Household)
    t["special"] = _pass(session, SpecialPerson, SpecialPerson.category, SpecialPerson.risk_grade,
                         case(((SpecialPerson.category == "mental")
                               & (SpecialPerson.risk_level >= mental_risk_alert_level()), 1), else_=0))
    t["youth"] = _pass(session, KeyYouth)
    is_open = Dispute.state.in_(OPEN_DISPUTE_STATES)
    closed = Dispute.closed_at.is_not(None)
    t["dispute"] = _pass(
        session, Dispute,
        case((is_open, 1), else_=0),
        case((closed, 1), else_=0),
        case((closed & (Dispute.closed_at >= month_start), 1), else_=0),
        case((closed & Dispute.success.is_(True), 1), else_=0),
        case((is_open & (Dispute.deadline < now), 1), else_=0),
    )
    month = year_month(Dispute.registered_at)
    t["trend"] = _pass(session, Dispute, month, Dispute.category, where=Dispute.registered_at >= since)
    t["camera"] = _pass(session, Camera, Camera.status)
    t["org"] = _pass(session, Organisation, Organisation.kind)
    return cube
