"""特殊人群随访 for the console: what is due and overdue per grid worker and area, within scope, and recording a
visit (audited). The cycles and the overdue rule are the duty rules' (console/duty/rules.toml)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.duty import rules
from console.duty.followup_sweep import last_visits
from console.security import audit, guard
from console.security.permissions import LAYER_SPECIAL
from console.store import AreaScope, GridWorker, Person, SpecialPerson
from console.store.codes import SPECIAL_CATEGORIES
from console.store.followup_models import FOLLOWUP_METHODS, FollowupVisit
from console.store.masking import mask_id, mask_name, mask_phone

from .areas import AreaNode, city_node, within

SOON_DAYS = 7


def schedule(session: Session, node: AreaNode, scope: AreaScope, today: date, config: dict | None = None
             ) -> list[dict]:
    """One row per special-population record in the area: category, last visit, due date, days left (negative:
    overdue), the grid and its workers (phones masked). Sorted most overdue first."""
    config = config or rules.load_config()
    last = last_visits()
    rows = session.execute(select(SpecialPerson, Person.name, Person.id_number, last.c.last)
                           .join(Person, Person.id == SpecialPerson.person_id)
                           .outerjoin(last, last.c.sp == SpecialPerson.id)
                           .where(within(SpecialPerson, node, scope))).all()
    grids = {sp.grid_code for sp, *_ in rows if sp.grid_code}
    workers: dict[str, list[str]] = defaultdict(list)
    if grids:
        for g, name, phone in session.execute(select(GridWorker.grid_code, GridWorker.name, GridWorker.phone)
                                              .where(GridWorker.grid_code.in_(sorted(grids)))):
            workers[g].append(f"{name}（{mask_phone(phone)}）")
    out = []
    for sp, name, number, visited in rows:
        days = rules.followup_cycle_days(config, sp.category, sp.risk_level)
        if not days:
            continue
        anchor = visited or sp.since
        due = anchor + timedelta(days=days)
        out.append({"_rid": sp.id, "姓名": name, "公民身份号码": mask_id(number),
                    "类别": SPECIAL_CATEGORIES.get(sp.category, sp.category),
                    "危险性等级": "" if sp.risk_level is None else f"{sp.risk_level}级",
                    "上次随访": visited.isoformat() if visited else "未随访", "周期（天）": days,
                    "应随访日期": due.isoformat(), "剩余天数": (due - today).days,
                    "grid_code": sp.grid_code, "网格员": "、".join(workers.get(sp.grid_code, [])) or "未配备"})
    out.sort(key=lambda r: r["剩余天数"])
    return out


def summary(rows: list[dict]) -> dict[str, int]:
    return {"total": len(rows), "overdue": sum(1 for r in rows if r["剩余天数"] < 0),
            "soon": sum(1 for r in rows if 0 <= r["剩余天数"] <= SOON_DAYS)}


def record_visit(session_factory, viewer, special_person_id: int, visited_on: date, method: str, note: str,
                 today: date) -> str | None:
    """Record one visit; None when saved, else why not (a Chinese sentence). The special-population permission
    and the record's scope are checked (refusals audited)."""
    try:
        guard.require(viewer, LAYER_SPECIAL, f"special_person:{special_person_id}", log_grant=False)
    except guard.AccessDenied:
        return "您没有登记特殊人群随访的权限"
    if method not in FOLLOWUP_METHODS:
        return f"随访方式应为：{'、'.join(FOLLOWUP_METHODS.values())}"
    if visited_on > today:
        return "随访日期不能晚于今天"
    if visited_on < today - timedelta(days=366):
        return "随访日期不能早于一年前"
    note = (note or "").strip()[:500]
    with session_factory() as s, s.begin():
        sp = s.get(SpecialPerson, special_person_id)
        if sp is None or not viewer.scope.allows(sp.grid_code):
            return "没有这条特殊人群记录，或不在您的数据范围内"
        s.add(FollowupVisit(special_person_id=sp.id, visited_on=visited_on, method=method, worker=viewer.username,
                            note=note, recorded_at=datetime.utcnow()))
        audit.append(s, viewer.username, "followup_visit", object=f"special_person:{sp.id}",
                     detail={"visited_on": visited_on.isoformat(), "method": method})
    return None


def counts_by_worker(session: Session, rows: list[dict]) -> list[dict]:
    """Per grid: how many are due soon and overdue, with its workers — for the leaders' and supervisors' view."""
    by_grid: dict[str, dict] = {}
    for r in rows:
        g = by_grid.setdefault(r["grid_code"] or "", {"grid_code": r["grid_code"], "网格员": r["网格员"], "应随访": 0,
                                                     "7天内到期": 0, "已超期": 0})
        g["应随访"] += 1
        g["已超期"] += r["剩余天数"] < 0
        g["7天内到期"] += 0 <= r["剩余天数"] <= SOON_DAYS
    return sorted(by_grid.values(), key=lambda g: (-g["已超期"], -g["7天内到期"]))





def due_on_phone(session: Session, viewer, today: date, config: dict | None = None) -> list[dict]:
    """The worker's special-population records with their follow-up due dates, for the phone (docs/field.md §8):
    the viewer's own grids only, names and identity numbers masked, most overdue first."""
    rows = schedule(session, city_node(session), viewer.scope, today, config)
    return [{"id": r["_rid"], "name": mask_name(r["姓名"]), "id_number": r["公民身份号码"], "category": r["类别"],
             "risk": r["危险性等级"], "last": r["上次随访"], "cycle_days": r["周期（天）"], "due": r["应随访日期"],
             "days_left": r["剩余天数"], "grid_code": r["grid_code"],
             "status": "overdue" if r["剩余天数"] < 0 else "soon" if r["剩余天数"] <= SOON_DAYS else "ok"}
            for r in rows]
