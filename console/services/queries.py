"""Scoped store reads the console needs that the store does not offer. Always take an AreaScope; always masked
(full values: one audited request per field, console/services/unmask.py)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.store import AreaScope, Dispute, Household, Person, SpecialPerson
from console.store.codes import (
    DISPUTE_CATEGORIES, DISPUTE_STATES, HOUSEHOLD_KINDS, RELATIONS, RESIDENCE_TYPES, SEXES, SPECIAL_CATEGORIES,
)
from console.store.masking import mask_address, mask_id, mask_phone

TABLE_LIMIT = 2000


def _in_grid(model, scope: AreaScope, grid_code: str):
    return (model.grid_code == grid_code, scope.clause(model))


def grid_households(session: Session, scope: AreaScope, grid_code: str) -> list[dict]:
    if not scope.allows(grid_code):
        return []
    rows = session.scalars(select(Household).where(*_in_grid(Household, scope, grid_code))
                           .order_by(Household.code).limit(TABLE_LIMIT))
    return [{"_rid": h.id,  # not shown; names the record for 「显示完整地址」
             "户号": h.code, "类型": HOUSEHOLD_KINDS.get(h.kind, h.kind), "人数": h.size,
             "出租房": "是" if h.is_rental else "否", "地址": mask_address(h.address)}
            for h in rows]


def grid_persons(session: Session, scope: AreaScope, grid_code: str) -> list[dict]:
    if not scope.allows(grid_code):
        return []
    special = dict(session.execute(select(SpecialPerson.person_id, SpecialPerson.category)
                                   .where(*_in_grid(SpecialPerson, scope, grid_code))).all())
    stmt = (select(Person, Household.code).join(Household, Household.id == Person.household_id)
            .where(*_in_grid(Person, scope, grid_code)).order_by(Household.code, Person.id).limit(TABLE_LIMIT))
    out = []
    for p, hcode in session.execute(stmt):
        out.append({
            "_rid": p.id,  # not shown; the 「显示完整号码」 request names the record by it
            "姓名": p.name, "性别": SEXES.get(p.sex, p.sex),
            "公民身份号码": mask_id(p.id_number),
            "人口类型": RESIDENCE_TYPES.get(p.residence_type, p.residence_type),
            "与户主关系": RELATIONS.get(p.relation_to_head, p.relation_to_head), "户号": hcode,
            "联系电话": mask_phone(p.phone),
            "特殊人群": SPECIAL_CATEGORIES.get(special.get(p.id), ""),
        })
    return out


def grid_cases(session: Session, scope: AreaScope, grid_code: str) -> list[dict]:
    if not scope.allows(grid_code):
        return []
    rows = session.scalars(select(Dispute).where(*_in_grid(Dispute, scope, grid_code))
                           .order_by(Dispute.registered_at.desc()).limit(TABLE_LIMIT))
    return [{"编号": d.code, "事项": d.title, "类别": DISPUTE_CATEGORIES.get(d.category, d.category),
             "状态": DISPUTE_STATES.get(d.state, d.state),
             "登记时间": d.registered_at.strftime("%Y-%m-%d") if d.registered_at else "",
             "期限": d.deadline.strftime("%Y-%m-%d") if d.deadline else ""} for d in rows]
